// Command oneonone is the 1on1 daemon and its command-line client.
//
// This package parses subcommands and wires packages together; it holds no
// domain logic. The daemon's lifecycle lives in package daemon, the HTTP API
// in package api; client subcommands speak only the public HTTP API, so they
// work against any daemon, local or remote. Errors are printed once, here.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// Exit codes, as INTERFACE.md promises them.
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Environ())
	stop()
	os.Exit(code)
}

// env is everything a subcommand may read from its surroundings; passing it
// explicitly keeps subcommands testable side by side in one process.
type env struct {
	stdin   io.Reader
	stdout  io.Writer
	stderr  io.Writer
	environ []string
}

// getenv looks key up in the passed environment, not the process's.
func (e env) getenv(key string) string {
	prefix := key + "="
	val := ""
	for _, kv := range e.environ {
		if len(kv) >= len(prefix) && kv[:len(prefix)] == prefix {
			val = kv[len(prefix):] // the last one wins, as in os.Getenv's source
		}
	}
	return val
}

const overview = `oneonone keeps recurring 1on1 meetings alive.

Usage:
  oneonone serve [--config FILE] [--data DIR] [--listen ADDR]
  oneonone config check FILE
  oneonone series add --manager EMAIL --report EMAIL --start 2026-12-01T10:00 --tz Asia/Tokyo [flags]
  oneonone series list [--team NAME] [--json]
  oneonone series show|pause|resume|rm ID
  oneonone series import FILE.csv
  oneonone version
  oneonone healthcheck [--server URL]    exit 0 when the daemon answers /healthz (for container health checks)
  oneonone bench rooms --server URL --rooms N [--duration 60s]    load-test the rooms (see --help)

The series subcommands talk to --server (default http://localhost:8080, env
ONEONONE_SERVER) with the admin token from --token-file, ONEONONE_TOKEN, or
./data/admin.token (--data DIR/admin.token), in that order; healthcheck
needs no token.

Exit codes: 0 ok, 1 error, 2 usage.
Run "oneonone COMMAND --help" for a command's flags and an example.
`

// run is main without the process: it returns the exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, environ []string) int {
	e := env{stdin: stdin, stdout: stdout, stderr: stderr, environ: environ}
	if len(args) == 0 {
		fmt.Fprint(stderr, overview)
		return exitUsage
	}
	var err error
	switch cmd, rest := args[0], args[1:]; cmd {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, overview)
		return exitOK
	case "serve":
		err = runServe(ctx, e, rest)
	case "config":
		err = runConfig(ctx, e, rest)
	case "series":
		err = runSeries(ctx, e, rest)
	case "version", "-version", "--version":
		err = runVersion(ctx, e, rest)
	case "healthcheck":
		err = runHealthcheck(ctx, e, rest)
	case "bench":
		err = runBench(ctx, e, rest)
	default:
		err = usageErrorf("unknown command %q", cmd)
	}
	return report(e, err)
}

// usageError is a wrong command line: exit 2, with a hint at --help.
type usageError struct {
	msg string
	cmd string // the subcommand whose --help to point at; "" = the overview
}

func (u *usageError) Error() string { return u.msg }

func usageErrorf(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// errSilent is returned when the subcommand has already said everything
// (for example an import report with failed rows): exit 1, print nothing more.
var errSilent = errors.New("silent failure")

// errHelp is returned after --help printed the usage: exit 0.
var errHelp = errors.New("help shown")

// report prints err once and maps it to an exit code.
func report(e env, err error) int {
	var ue *usageError
	switch {
	case err == nil, errors.Is(err, errHelp):
		return exitOK
	case errors.Is(err, errSilent):
		return exitError
	case errors.As(err, &ue):
		hint := "oneonone --help"
		if ue.cmd != "" {
			hint = "oneonone " + ue.cmd + " --help"
		}
		fmt.Fprintf(e.stderr, "oneonone: %s\nRun %q for usage.\n", ue.msg, hint)
		return exitUsage
	default:
		fmt.Fprintf(e.stderr, "oneonone: %s\n", err)
		return exitError
	}
}
