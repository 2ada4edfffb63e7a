package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestBenchRoomsUsage(t *testing.T) {
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no benchmark", []string{"bench"}, exitUsage, `only benchmark is "rooms"`},
		{"unknown benchmark", []string{"bench", "disks"}, exitUsage, `only benchmark is "rooms"`},
		{"zero rooms", []string{"bench", "rooms", "--direct", "--rooms", "0"}, exitUsage, "--rooms must be at least 1"},
		{"bad duration", []string{"bench", "rooms", "--direct", "--duration", "-1s"}, exitUsage, "--duration must be positive"},
		{"stray argument", []string{"bench", "rooms", "--direct", "extra"}, exitUsage, `unexpected argument "extra"`},
		{"help", []string{"bench", "rooms", "--help"}, exitOK, "--rooms"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := run(context.Background(), tt.args, strings.NewReader(""), &out, &errOut, nil)
			if code != tt.code || !strings.Contains(out.String()+errOut.String(), tt.want) {
				t.Errorf("code %d, output %q%q; want %d and %q", code, out.String(), errOut.String(), tt.code, tt.want)
			}
		})
	}
}

// TestBenchRoomsDirect runs the whole subcommand against an in-process
// media server for a second and checks the table row it prints.
func TestBenchRoomsDirect(t *testing.T) {
	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"bench", "rooms", "--direct", "--rooms", "1", "--duration", "1s", "--warmup", "200ms", "--table", "--header"},
		strings.NewReader(""), &out, &errOut, nil)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "rooms") || !strings.HasPrefix(strings.TrimSpace(lines[1]), "1 ") {
		t.Errorf("table:\n%s", out.String())
	}
}
