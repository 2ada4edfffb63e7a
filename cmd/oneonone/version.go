package main

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"
)

// version and commit are set at build time:
// go build -ldflags "-X main.version=v1.2.3 -X main.commit=abc123".
// They are the only package-level variables, because the linker can only
// set those; the commit falls back to Go's VCS stamp when not given.
var (
	version string
	commit  string
)

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
	bi := buildInfo{Version: version, Commit: commit, GoVersion: runtime.Version()}
	info, ok := debug.ReadBuildInfo()
	if ok && bi.Commit == "" {
		dirty := false
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				bi.Commit = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
		if dirty && bi.Commit != "" {
			bi.Commit += "-dirty"
		}
	}
	if ok && bi.Version == "" && info.Main.Version != "" && info.Main.Version != "(devel)" {
		bi.Version = info.Main.Version
	}
	if bi.Commit == "" {
		bi.Commit = "unknown"
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
