package config

import (
	"errors"
	"math"
	"strconv"
	"strings"
	"time"
)

// ParseDuration parses Go's duration syntax ("90s", "1h30m") extended with
// days: "90d", "1.5d", "1d12h". A day is 24 hours: these durations configure
// windows and intervals, not calendar arithmetic across DST changes.
func ParseDuration(s string) (time.Duration, error) {
	errNot := errors.New(strconv.Quote(s) + " is not a duration")
	i := strings.IndexByte(s, 'd')
	if i < 0 {
		d, err := time.ParseDuration(s)
		if err != nil {
			return 0, errNot
		}
		return d, nil
	}
	days, rest := s[:i], s[i+1:]
	neg := false
	if days != "" && (days[0] == '-' || days[0] == '+') {
		neg = days[0] == '-'
		days = days[1:]
	}
	if !isDecimal(days) || strings.ContainsAny(rest, "d+-") {
		return 0, errNot
	}
	n, err := strconv.ParseFloat(days, 64)
	if err != nil {
		return 0, errNot
	}
	total := n * float64(24*time.Hour)
	if rest != "" {
		r, err := time.ParseDuration(rest)
		if err != nil {
			return 0, errNot
		}
		total += float64(r)
	}
	if total >= math.MaxInt64 {
		return 0, errors.New(strconv.Quote(s) + " is too long a duration")
	}
	if neg {
		total = -total
	}
	return time.Duration(total), nil
}

// isDecimal reports whether s is digits with at most one '.', and at least
// one digit: what ParseFloat would accept without exponents, hex, inf or NaN.
func isDecimal(s string) bool {
	digits, dots := 0, 0
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case r == '.':
			dots++
		default:
			return false
		}
	}
	return digits > 0 && dots <= 1
}

// FormatDuration is the inverse of ParseDuration for display: whole days
// print as "90d", anything else in Go syntax.
func FormatDuration(d time.Duration) string {
	const day = 24 * time.Hour
	if d != 0 && d%day == 0 {
		return strconv.FormatInt(int64(d/day), 10) + "d"
	}
	return d.String()
}
