package main

import (
	"errors"
	"strings"
	"testing"
)

// FuzzCommandParse checks that any command line either parses or is a
// usage error (exit 2) — never a panic — and that parsing keeps every
// positional argument in order.
func FuzzCommandParse(f *testing.F) {
	for _, seed := range []string{
		"s_1 --json", "--json s_1", "-- --json", "--server http://x s_1", "--server", "-h", "--help",
		"--json=false s_1 s_2", "---json", "-", "--=x", "s_1 -- -x --json",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, line string) {
		args := strings.Fields(line)
		c := newCommand("series show", seriesShowUsage)
		c.fs.Bool("json", false, "")
		c.fs.String("server", "", "")
		var out strings.Builder
		pos, err := c.parse(env{stdout: &out}, args)
		var ue *usageError
		switch {
		case err == nil:
			// Every positional argument came from args, in order.
			i := 0
			for _, p := range pos {
				for i < len(args) && args[i] != p {
					i++
				}
				if i == len(args) {
					t.Fatalf("positional %q of %q not in args", p, args)
				}
				i++
			}
		case errors.Is(err, errHelp):
			if !strings.Contains(out.String(), "Usage") {
				t.Fatalf("help without usage for %q", args)
			}
		case errors.As(err, &ue):
		default:
			t.Fatalf("parse(%q) = %v, neither nil, help nor usage error", args, err)
		}
	})
}
