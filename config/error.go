package config

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
)

// Problem is one thing wrong with the configuration, located as precisely as
// its source allows: File and Line when the value came from the file, Env
// when it came from an environment variable, neither for a default or a
// value set in code.
type Problem struct {
	File    string // the config file as given to Load; "" if not from a file
	Line    int    // 1-based; 0 when unknown
	Env     string // the environment variable, e.g. "ONEONONE_SYNC_INTERVAL"
	Key     string // the key path, e.g. "sync.interval", "calendars[0].caldav.url"
	Message string // never contains a secret
}

// String formats the problem as "file:line: key: message" (or
// "ONEONONE_X (key): message" for the environment). The key is left out
// when the message already quotes it, as in `unknown key "sync.intervall"`.
func (p Problem) String() string {
	var b strings.Builder
	switch {
	case p.File != "":
		b.WriteString(p.File)
		if p.Line > 0 {
			b.WriteString(":" + strconv.Itoa(p.Line))
		}
		b.WriteString(": ")
	case p.Env != "":
		b.WriteString(p.Env)
		if p.Key != "" {
			b.WriteString(" (" + p.Key + ")")
		}
		b.WriteString(": ")
		return oneLine.Replace(b.String() + p.Message)
	}
	if p.Key != "" && !strings.Contains(p.Message, strconv.Quote(p.Key)) {
		b.WriteString(p.Key + ": ")
	}
	return oneLine.Replace(b.String() + p.Message)
}

// Error implements error, so that one Problem can be wrapped on its own.
func (p Problem) Error() string { return p.String() }

// oneLine keeps each problem on its own line whatever a message quotes from
// the file.
var oneLine = strings.NewReplacer("\r", `\r`, "\n", `\n`)

// Error is every problem found while loading or validating, so that a user
// fixes them all in one round. Load and Validate return it as *Error.
type Error struct {
	Problems []Problem
}

// Error lists the problems, one per line.
func (e *Error) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// Unwrap exposes each Problem to errors.As.
func (e *Error) Unwrap() []error {
	errs := make([]error, len(e.Problems))
	for i, p := range e.Problems {
		errs[i] = p
	}
	return errs
}

// problems collects Problems; its err method returns nil or an *Error.
type problems []Problem

// err returns the collected problems as an error: file problems first in
// line order, then environment ones, then the rest, each group in the order
// found.
func (ps problems) err() error {
	if len(ps) == 0 {
		return nil
	}
	sorted := slices.Clone([]Problem(ps))
	group := func(p Problem) int {
		switch {
		case p.File != "":
			return 0
		case p.Env != "":
			return 1
		}
		return 2
	}
	slices.SortStableFunc(sorted, func(a, b Problem) int {
		return cmp.Or(cmp.Compare(group(a), group(b)), cmp.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line))
	})
	return &Error{Problems: sorted}
}
