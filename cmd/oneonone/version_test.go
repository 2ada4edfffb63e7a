package main

import (
	"runtime"
	"strings"
	"testing"
)

func TestVersionPrintsVersionCommitAndGo(t *testing.T) {
	r := runCLI(t, nil, "version")
	if r.code != exitOK {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	for _, want := range []string{"oneonone ", "commit: ", "go: " + runtime.Version()} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("version output %q lacks %q", r.stdout, want)
		}
	}
}

func TestReadBuildInfoPrefersLinkerVersion(t *testing.T) {
	// With no -ldflags the test binary has no main.version; the fallback
	// must still name something.
	if bi := readBuildInfo(); bi.Version == "" || bi.GoVersion == "" || bi.Commit == "" {
		t.Errorf("incomplete build info: %+v", bi)
	}
}
