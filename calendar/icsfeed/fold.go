package icsfeed

import (
	"bytes"
	"unicode/utf8"
)

// maxLineOctets is RFC 5545 §3.1's limit for a content line, CRLF excluded.
const maxLineOctets = 75

// folder folds the CRLF-terminated content lines written to it so that no
// line is longer than 75 octets, continuing with a space, and never splits
// a UTF-8 sequence.
type folder struct {
	out     *bytes.Buffer
	pending []byte
}

func (f *folder) Write(p []byte) (int, error) {
	f.pending = append(f.pending, p...)
	for {
		i := bytes.Index(f.pending, []byte("\r\n"))
		if i < 0 {
			return len(p), nil
		}
		f.fold(f.pending[:i])
		f.pending = f.pending[i+2:]
	}
}

func (f *folder) fold(line []byte) {
	limit := maxLineOctets
	for len(line) > limit {
		cut := limit
		for cut > 0 && !utf8.RuneStart(line[cut]) {
			cut--
		}
		f.out.Write(line[:cut])
		f.out.WriteString("\r\n ")
		line = line[cut:]
		limit = maxLineOctets - 1 // the leading space counts
	}
	f.out.Write(line)
	f.out.WriteString("\r\n")
}
