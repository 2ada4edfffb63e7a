package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestConfigCheck(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good.yaml", "listen: \":8080\"\ndata_dir: ./data\nstore:\n  dsn: sqlite:./data/oneonone.db\n")
	bad := write("bad.yaml", "listen: \":8080\"\nsync:\n  intervall: 1m\nlog:\n  level: loud\n")

	r := runCLI(t, nil, "config", "check", good)
	if r.code != exitOK || r.stdout != good+": ok\n" {
		t.Errorf("good file: exit %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}

	r = runCLI(t, nil, "config", "check", bad)
	if r.code != exitError {
		t.Fatalf("bad file: exit %d, want 1", r.code)
	}
	for _, want := range []string{bad + ":3", "intervall", bad + ":5", "log.level"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("problems %q lack %q", r.stderr, want)
		}
	}
	if strings.Contains(r.stdout, "ok") {
		t.Errorf("bad file reported ok: %q", r.stdout)
	}

	r = runCLI(t, nil, "config", "check", filepath.Join(dir, "missing.yaml"))
	if r.code != exitError || !strings.Contains(r.stderr, "missing.yaml") || !strings.Contains(r.stderr, "cannot read") {
		t.Errorf("missing file: exit %d stderr %q", r.code, r.stderr)
	}
}
