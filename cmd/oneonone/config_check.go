package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/oneonone/oneonone/config"
)

const configOverview = `Usage: oneonone config check FILE

Commands:
  check    load and validate a config file, reporting every problem
`

const configCheckUsage = `Usage: oneonone config check FILE

Load FILE (with ONEONONE_* environment overrides, as serve would) and
validate it. Prints "FILE: ok", or every problem as FILE:LINE: key: message
and exits 1.

Example:
  oneonone config check /etc/oneonone/config.yaml
`

func runConfig(ctx context.Context, e env, args []string) error {
	if len(args) == 0 {
		fmt.Fprint(e.stderr, configOverview)
		return &usageError{msg: "config: missing command", cmd: "config"}
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(e.stdout, configOverview)
		return errHelp
	case "check":
		return runConfigCheck(ctx, e, args[1:])
	default:
		return &usageError{msg: fmt.Sprintf("config: unknown command %q", args[0]), cmd: "config"}
	}
}

func runConfigCheck(_ context.Context, e env, args []string) error {
	c := newCommand("config check", configCheckUsage)
	pos, err := c.parse(e, args)
	if err != nil {
		return err
	}
	if err := c.wantArgs(pos, "FILE"); err != nil {
		return err
	}
	path := pos[0]
	cfg, err := config.Load(path, e.environ)
	if err == nil {
		err = cfg.Validate()
	}
	if err != nil {
		var cerr *config.Error
		if !errors.As(err, &cerr) {
			return err // the file could not be read at all
		}
		for _, p := range cerr.Problems {
			fmt.Fprintln(e.stderr, p.String())
		}
		return errSilent
	}
	fmt.Fprintf(e.stdout, "%s: ok\n", path)
	return nil
}

// configError formats every configuration problem on its own line, so
// serve reports them all at once as config check does.
func configError(err error) error {
	var cerr *config.Error
	if !errors.As(err, &cerr) || len(cerr.Problems) < 2 {
		return fmt.Errorf("config: %w", err)
	}
	lines := make([]string, len(cerr.Problems))
	for i, p := range cerr.Problems {
		lines[i] = "  " + p.String()
	}
	return fmt.Errorf("config has %d problems:\n%s", len(lines), strings.Join(lines, "\n"))
}
