package main

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"
)

// version is set at build time: go build -ldflags "-X main.version=v1.2.3".
// It is the one package-level variable, because the linker can only set those.
var version string

// buildInfo is what "oneonone version" prints and the daemon reports.
type buildInfo struct {
	Version   string
	Commit    string
	GoVersion string
}

// readBuildInfo prefers the -ldflags version, then the module version Go
// recorded (go install …@v1.2.3), then "devel"; the commit comes from the
// VCS stamp Go records when building inside a checkout.
func readBuildInfo() buildInfo {
	bi := buildInfo{Version: version, Commit: "unknown", GoVersion: runtime.Version()}
	info, ok := debug.ReadBuildInfo()
	if ok {
		if bi.Version == "" && info.Main.Version != "" && info.Main.Version != "(devel)" {
			bi.Version = info.Main.Version
		}
		dirty := false
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				bi.Commit = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
		if dirty && bi.Commit != "unknown" {
			bi.Commit += "-dirty"
		}
	}
	if bi.Version == "" {
		bi.Version = "devel"
	}
	return bi
}

const versionUsage = `Usage: oneonone version

Print the version, the commit it was built from and the Go version.

Example:
  oneonone version
`

func runVersion(_ context.Context, e env, args []string) error {
	c := newCommand("version", versionUsage)
	pos, err := c.parse(e, args)
	if err != nil {
		return err
	}
	if err := c.wantArgs(pos); err != nil {
		return err
	}
	bi := readBuildInfo()
	fmt.Fprintf(e.stdout, "oneonone %s\ncommit: %s\ngo: %s %s/%s\n", bi.Version, bi.Commit, bi.GoVersion, runtime.GOOS, runtime.GOARCH)
	return nil
}
