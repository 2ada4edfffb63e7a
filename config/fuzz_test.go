package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzLoad feeds arbitrary bytes to Load as a config file: it must return a
// Config or an *Error listing problems, never panic or hang.
func FuzzLoad(f *testing.F) {
	seeds := []string{
		"",
		"listen: \":8080\"\n",
		"sync:\n  intervall: 5m\n",
		"store:\n  dsn: [a, b]\n",
		"calendars:\n  - id: a\n    caldav:\n      url: http://x/\n      password_file: /nonexistent\n",
		"calendars:\n  - &c {id: a, google: {credentials: x}}\n  - *c\n",
		"sync: &s\n  <<: *s\n",
		"a: &a [*a, *a]\nb: [*a, *a, *a]\n",
		"media: {udp_port: 99999999999999999999, tcp_port: 0x10, stun_servers: stun:x}\n",
		"metrics:\n  window: 1.5d\n  per_series: true\n",
		"? [complex]\n: key\n",
		"listen: \":1\"\n---\nlisten: \":2\"\n",
		"- just\n- a list\n",
		"\t\x00",
	}
	if example, err := os.ReadFile(examplePath); err == nil {
		seeds = append(seeds, string(example))
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, "fuzz.yaml")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		c, err := Load(path, nil)
		if err == nil {
			// A Config that loads is valid and usable.
			if verr := c.Validate(); verr != nil {
				t.Fatalf("Load succeeded but Validate fails: %v", verr)
			}
			_ = c.StoreDSN()
			_ = c.BaseURL()
			return
		}
		var cerr *Error
		if !errors.As(err, &cerr) || len(cerr.Problems) == 0 {
			t.Fatalf("Load error is not an *Error with problems: %#v", err)
		}
		for _, p := range cerr.Problems {
			if p.Message == "" {
				t.Fatalf("empty problem message in %#v", cerr)
			}
		}
		if n := strings.Count(err.Error(), "\n") + 1; n != len(cerr.Problems) || n > maxProblems+2 {
			t.Fatalf("%d lines for %d problems:\n%v", n, len(cerr.Problems), err)
		}
	})
}
