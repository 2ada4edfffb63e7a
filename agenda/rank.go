package agenda

import (
	"fmt"
	"strings"
)

// Items are ordered by a rank: a string of base-62 digits read as a
// fraction (after "0."), compared byte by byte. A new rank can always be
// found between two others, so a move rewrites only the moved item and two
// concurrent moves of different items never touch each other's rows.
// Ranks never end in the zero digit, which keeps room below every rank.
// The server alone computes ranks, inside the per-series serialised
// transaction, so two items never share one.
const rankDigits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

const rankBase = len(rankDigits)

// firstRank is the rank of the first item of an empty list: mid-alphabet,
// so there is room on both sides.
const firstRank = "V"

func rankDigit(c byte) int { return strings.IndexByte(rankDigits, c) }

// validRank reports whether r is a well-formed rank.
func validRank(r string) bool {
	if r == "" || r[len(r)-1] == rankDigits[0] {
		return false
	}
	for i := 0; i < len(r); i++ {
		if rankDigit(r[i]) < 0 {
			return false
		}
	}
	return true
}

// rankBetween returns a rank strictly between a and b. a == "" means the
// start of the list, b == "" its end.
func rankBetween(a, b string) (string, error) {
	if (a != "" && !validRank(a)) || (b != "" && !validRank(b)) || (a != "" && b != "" && a >= b) {
		return "", fmt.Errorf("agenda: no rank between %q and %q", a, b)
	}
	if b == "" {
		return rankAfter(a), nil
	}
	return midpoint(a, b), nil
}

// rankAfter returns a short rank after a: its first digit that is not the
// largest, incremented, and nothing after it. Appending n items thus costs
// about n/30 characters, instead of the n/5 that bisecting towards the end
// would.
func rankAfter(a string) string {
	if a == "" {
		return firstRank
	}
	for i := 0; i < len(a); i++ {
		if d := rankDigit(a[i]); d < rankBase-1 {
			return a[:i] + string(rankDigits[d+1])
		}
	}
	return a + firstRank
}

// midpoint returns a rank strictly between a and b, where a < b, b != ""
// and neither ends in the zero digit (after the fractional-indexing
// algorithm by David Greenspan).
func midpoint(a, b string) string {
	if b != "" {
		// Skip the common prefix, reading a missing digit of a as zero.
		n := 0
		for n < len(b) && digitAt(a, n) == b[n] {
			n++
		}
		if n > 0 {
			rest := ""
			if n < len(a) {
				rest = a[n:]
			}
			return b[:n] + midpoint(rest, b[n:])
		}
	}
	da, db := 0, rankBase
	if a != "" {
		da = rankDigit(a[0])
	}
	if b != "" {
		db = rankDigit(b[0])
	}
	if db-da > 1 {
		return string(rankDigits[(da+db+1)/2])
	}
	// Consecutive digits: a prefix of b is between, if b is longer than one
	// digit; otherwise keep a's digit and go one level deeper.
	if len(b) > 1 {
		return b[:1]
	}
	rest := ""
	if len(a) > 1 {
		rest = a[1:]
	}
	return string(rankDigits[da]) + midpoint(rest, "")
}

func digitAt(s string, i int) byte {
	if i < len(s) {
		return s[i]
	}
	return rankDigits[0]
}
