package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

// cliResult is what one run of the command line produced.
type cliResult struct {
	code           int
	stdout, stderr string
}

// runCLI runs the command line in-process with the given environment.
func runCLI(t *testing.T, environ []string, args ...string) cliResult {
	t.Helper()
	return runCLIStdin(t, environ, "", args...)
}

func runCLIStdin(t *testing.T, environ []string, stdin string, args ...string) cliResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out, errb bytes.Buffer
	code := run(ctx, args, strings.NewReader(stdin), &out, &errb, environ)
	return cliResult{code: code, stdout: out.String(), stderr: errb.String()}
}

func TestNoArgumentsPrintsOverviewAndExits2(t *testing.T) {
	r := runCLI(t, nil)
	if r.code != exitUsage {
		t.Fatalf("exit %d, want %d", r.code, exitUsage)
	}
	if r.stdout != "" || !strings.Contains(r.stderr, "oneonone serve") || !strings.Contains(r.stderr, "oneonone series add") {
		t.Fatalf("want the overview on stderr only; stdout=%q stderr=%q", r.stdout, r.stderr)
	}
}

func TestUsageErrorsExit2(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown command", []string{"frobnicate"}, `unknown command "frobnicate"`},
		{"unknown series command", []string{"series", "frob"}, `unknown command "frob"`},
		{"series alone", []string{"series"}, "missing command"},
		{"config alone", []string{"config"}, "missing command"},
		{"unknown flag", []string{"series", "list", "--colour"}, "flag provided but not defined: -colour"},
		{"unknown serve flag", []string{"serve", "--port", "1"}, "flag provided but not defined: -port"},
		{"missing manager", []string{"series", "add", "--report", "r@example.com", "--start", "2026-12-01T10:00", "--tz", "Asia/Tokyo"}, "missing required flag --manager"},
		{"missing tz", []string{"series", "add", "--manager", "m@example.com", "--report", "r@example.com", "--start", "2026-12-01T10:00"}, "missing required flag --tz"},
		{"show without id", []string{"series", "show"}, "missing ID"},
		{"pause without id", []string{"series", "pause"}, "missing ID"},
		{"resume two ids", []string{"series", "resume", "a", "b"}, `unexpected argument "b"`},
		{"rm without id", []string{"series", "rm"}, "missing ID"},
		{"import without file", []string{"series", "import"}, "missing FILE.csv"},
		{"config check without file", []string{"config", "check"}, "missing FILE"},
		{"version with argument", []string{"version", "x"}, `unexpected argument "x"`},
		{"bad flag value", []string{"healthcheck", "--timeout", "soon"}, "invalid value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, nil, tt.args...)
			if r.code != exitUsage {
				t.Fatalf("exit %d, want %d; stderr=%q", r.code, exitUsage, r.stderr)
			}
			if !strings.Contains(r.stderr, tt.want) {
				t.Errorf("stderr %q does not say %q", r.stderr, tt.want)
			}
			if !strings.Contains(r.stderr, "--help") {
				t.Errorf("stderr %q does not point at --help", r.stderr)
			}
		})
	}
}

func TestHelpExits0OnEverySubcommand(t *testing.T) {
	commands := [][]string{
		{}, {"serve"}, {"config"}, {"config", "check"}, {"series"},
		{"series", "add"}, {"series", "list"}, {"series", "show"}, {"series", "pause"},
		{"series", "resume"}, {"series", "rm"}, {"series", "import"},
		{"version"}, {"healthcheck"},
	}
	for _, cmd := range commands {
		for _, flag := range []string{"--help", "-h"} {
			args := append(append([]string{}, cmd...), flag)
			t.Run(strings.Join(args, " "), func(t *testing.T) {
				r := runCLI(t, nil, args...)
				if r.code != exitOK {
					t.Fatalf("exit %d, want 0; stderr=%q", r.code, r.stderr)
				}
				if !strings.Contains(r.stdout, "Usage") {
					t.Errorf("stdout has no usage: %q", r.stdout)
				}
				// Leaf commands show an example; group overviews list commands.
				if !strings.Contains(r.stdout, "Example") && !strings.Contains(r.stdout, "Commands:") && len(cmd) > 0 {
					t.Errorf("stdout has no example: %q", r.stdout)
				}
				if r.stderr != "" {
					t.Errorf("stderr not empty: %q", r.stderr)
				}
			})
		}
	}
}

func TestHelpListsFlags(t *testing.T) {
	r := runCLI(t, nil, "series", "add", "--help")
	for _, want := range []string{"-manager", "-report", "-start", "-tz", "-cadence", "-duration", "-team", "-calendar", "-manager-name", "-report-name", "-server", "-token-file", "-data"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("series add --help does not list %s", want)
		}
	}
}

func TestFlagsAfterPositionalArguments(t *testing.T) {
	c := newCommand("series show", seriesShowUsage)
	asJSON := c.fs.Bool("json", false, "")
	server := c.fs.String("server", "", "")
	pos, err := c.parse(env{}, []string{"s_1", "--json", "--server", "http://x", "--", "--literal"})
	if err != nil {
		t.Fatal(err)
	}
	if !*asJSON || *server != "http://x" {
		t.Errorf("flags not parsed after the ID: json=%v server=%q", *asJSON, *server)
	}
	if strings.Join(pos, ",") != "s_1,--literal" {
		t.Errorf("positional = %q, want s_1 and --literal", pos)
	}
}

func TestEnvLookupUsesPassedEnvironment(t *testing.T) {
	e := env{environ: []string{"A=1", "ONEONONE_SERVER=http://a", "ONEONONE_SERVER=http://b", "ONEONONE_SERVERX=no"}}
	if got := e.getenv("ONEONONE_SERVER"); got != "http://b" {
		t.Errorf("getenv = %q, want the last value", got)
	}
	if got := e.getenv("MISSING"); got != "" {
		t.Errorf("getenv(MISSING) = %q", got)
	}
}

func TestNormalizeStart(t *testing.T) {
	tests := map[string]string{
		"2026-12-01T10:00":    "2026-12-01T10:00:00",
		"2026-12-01T10:00:30": "2026-12-01T10:00:30",
		"tomorrow":            "tomorrow",
	}
	for in, want := range tests {
		if got := normalizeStart(in); got != want {
			t.Errorf("normalizeStart(%q) = %q, want %q", in, got, want)
		}
	}
}
