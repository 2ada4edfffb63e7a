package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"strings"
)

// command is one subcommand's flag set and its help text.
type command struct {
	name  string // "series add"
	usage string // synopsis, description and an example
	fs    *flag.FlagSet
}

func newCommand(name, usage string) *command {
	fs := flag.NewFlagSet("oneonone "+name, flag.ContinueOnError)
	// The flag package would print errors and usage itself; we print them
	// once, to the right stream, in report and parse.
	fs.SetOutput(discard{})
	fs.Usage = func() {}
	return &command{name: name, usage: usage, fs: fs}
}

// discard is io.Discard without importing io for one value.
type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// help is the full --help text: usage, example and the flag list.
func (c *command) help() string {
	var b bytes.Buffer
	b.WriteString(strings.TrimRight(c.usage, "\n"))
	b.WriteString("\n")
	hasFlags := false
	c.fs.VisitAll(func(*flag.Flag) { hasFlags = true })
	if hasFlags {
		b.WriteString("\nFlags:\n")
		c.fs.SetOutput(&b)
		c.fs.PrintDefaults()
		c.fs.SetOutput(discard{})
	}
	return b.String()
}

// parse parses args, allowing flags after positional arguments
// ("series show ID --json"), and returns the positional arguments.
// --help prints the help to stdout and returns errHelp.
func (c *command) parse(e env, args []string) ([]string, error) {
	var positional []string
	for {
		err := c.fs.Parse(args)
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(e.stdout, c.help())
			return nil, errHelp
		}
		if err != nil {
			return nil, &usageError{msg: fmt.Sprintf("%s: %v", c.name, err), cmd: c.name}
		}
		rest := c.fs.Args()
		if len(rest) == 0 {
			return positional, nil
		}
		// After "--" everything is positional.
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			return append(positional, rest...), nil
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}

// wantArgs checks the number of positional arguments.
func (c *command) wantArgs(got []string, names ...string) error {
	if len(got) < len(names) {
		return &usageError{msg: fmt.Sprintf("%s: missing %s", c.name, strings.Join(names[len(got):], " ")), cmd: c.name}
	}
	if len(got) > len(names) {
		return &usageError{msg: fmt.Sprintf("%s: unexpected argument %q", c.name, got[len(names)]), cmd: c.name}
	}
	return nil
}

// usagef builds a usage error that points at this command's --help.
func (c *command) usagef(format string, args ...any) error {
	return &usageError{msg: c.name + ": " + fmt.Sprintf(format, args...), cmd: c.name}
}
