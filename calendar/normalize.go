package calendar

import (
	"crypto/rand"
	"fmt"
	"net/mail"
	"strings"
	"time"
	// Embedded IANA data, so that LoadLocation works in a minimal container
	// without /usr/share/zoneinfo; the system's copy still wins when present.
	_ "time/tzdata"
	"unicode"
	"unicode/utf8"

	"github.com/oneonone/oneonone/internal/errs"
)

// Limits enforced by Normalize.
const (
	MaxDuration  = 12 * time.Hour
	MaxTeamLen   = 64 // runes
	MaxNameLen   = 200
	MaxEmailLen  = 254 // RFC 5321 path limit
	maxCalIDLen  = 64
	minStartYear = 1900
	maxStartYear = 2999
)

// Normalize validates s in place and fills in defaults, so that everything
// downstream (store, providers, expansion) sees one canonical form:
// e-mails trimmed and lower-cased, Duration defaulted to DefaultDuration,
// Cadence to weekly (a raw RRULE is rewritten in its normalised form),
// State to active, and Start re-expressed in Timezone.
//
// Start's wall clock is taken as is, whatever its location, and becomes
// that wall clock in Timezone: "2026-12-01 10:00" stays 10:00 in Asia/Tokyo.
// So a caller must hand in Start with the intended wall clock (stores return
// it in the series' location, which makes Normalize idempotent).
//
// The error is an *errs.Invalid whose Field is the JSON name of the first
// offending field ("manager.email", "timezone", …).
func (s *Series) Normalize() error {
	var err error
	if s.Manager, err = normalizePerson("manager", s.Manager); err != nil {
		return err
	}
	if s.Report, err = normalizePerson("report", s.Report); err != nil {
		return err
	}
	if s.Manager.Email == s.Report.Email {
		return errs.Invalidf("report.email", "%s is also the manager; a 1on1 needs two people", s.Report.Email)
	}

	s.Timezone = strings.TrimSpace(s.Timezone)
	loc, err := s.location()
	if err != nil {
		return err
	}
	if s.Start.IsZero() {
		return errs.Invalidf("start", "is required (the first 1on1's local date and time, e.g. 2026-12-01T10:00)")
	}
	start, err := inZone(s.Start, loc)
	if err != nil {
		return err
	}
	s.Start = start

	switch {
	case s.Duration == 0:
		s.Duration = DefaultDuration
	case s.Duration < 0:
		return errs.Invalidf("duration", "must be positive, got %s", s.Duration)
	case s.Duration > MaxDuration:
		return errs.Invalidf("duration", "%s is longer than %s", FormatDuration(s.Duration), FormatDuration(MaxDuration))
	case s.Duration%time.Minute != 0:
		return errs.Invalidf("duration", "must be whole minutes, got %s", s.Duration)
	}

	if err := s.normalizeCadence(); err != nil {
		return err
	}

	s.Team = strings.TrimSpace(s.Team)
	if err := checkLabel("team", s.Team, MaxTeamLen); err != nil {
		return err
	}
	s.Calendar = strings.TrimSpace(s.Calendar)
	if err := checkLabel("calendar", s.Calendar, maxCalIDLen); err != nil {
		return err
	}
	if strings.ContainsFunc(s.Calendar, unicode.IsSpace) {
		return errs.Invalidf("calendar", "%q is not a calendar id (no spaces)", s.Calendar)
	}

	switch st := State(strings.ToLower(strings.TrimSpace(string(s.State)))); st {
	case "":
		s.State = StateActive
	case StateActive, StatePaused, StateDetached:
		// Detached is set by the reconciler, never asked for (the API
		// refuses it as input), but a detached series must stay valid:
		// it is renamed, moved to another team, or set active again.
		s.State = st
	default:
		return errs.Invalidf("state", "%q is not a state; use %s or %s", s.State, StateActive, StatePaused)
	}
	return nil
}

// normalizeCadence defaults, lower-cases the built-in names, and turns a raw
// RRULE into its normalised form after checking that it yields occurrences
// and that Start is the first of them.
func (s *Series) normalizeCadence() error {
	c := strings.TrimSpace(s.Cadence)
	switch lc := strings.ToLower(c); lc {
	case "":
		s.Cadence = CadenceWeekly
		return nil
	case CadenceWeekly, CadenceBiweekly, CadenceMonthly:
		s.Cadence = lc
		return nil
	}
	opt, err := parseRawRule(c, s.Start.Location())
	if err != nil {
		return err
	}
	norm := opt.RRuleString()
	e, err := Series{Start: s.Start, Timezone: s.Timezone, Cadence: norm}.expander()
	if err != nil {
		return err
	}
	r, err := e.rule(time.Time{})
	if err != nil {
		return err
	}
	// RFC 5545 leaves a DTSTART that is not itself an occurrence undefined,
	// and providers disagree on it: insist on a start the rule produces.
	first := r.After(e.fstart, true)
	if first.IsZero() {
		return errs.Invalidf("cadence", "%s produces no occurrence on or after the start", norm)
	}
	if !first.Equal(e.fstart) {
		return errs.Invalidf("start", "%s is not an occurrence of %s; its first one is %s",
			s.Start.Format(startLayoutMinutes), norm, first.Format(startLayoutMinutes))
	}
	s.Cadence = norm
	return nil
}

func normalizePerson(role string, p Person) (Person, error) {
	p.Email = strings.ToLower(strings.TrimSpace(p.Email))
	field := role + ".email"
	if p.Email == "" {
		return p, errs.Invalidf(field, "is required")
	}
	if len(p.Email) > MaxEmailLen {
		return p, errs.Invalidf(field, "is longer than %d characters", MaxEmailLen)
	}
	// Quoted local parts and the like are legal but break mailto: URIs and
	// CSV cells, and no one's work address needs them.
	addr, err := mail.ParseAddress(p.Email)
	if err != nil || addr.Name != "" || addr.Address != p.Email || !strings.Contains(p.Email, "@") ||
		strings.ContainsAny(p.Email, " \"(),:;<>[\\]") {
		return p, errs.Invalidf(field, "%q is not a bare e-mail address (like aiko@example.com)", p.Email)
	}
	p.Name = strings.TrimSpace(p.Name)
	if err := checkLabel(role+".name", p.Name, MaxNameLen); err != nil {
		return p, err
	}
	p.Timezone = strings.TrimSpace(p.Timezone)
	if p.Timezone != "" {
		if _, err := LoadLocation(p.Timezone); err != nil {
			return p, errs.Invalidf(role+".timezone", "timezone %q is not an IANA zone", p.Timezone)
		}
	}
	return p, nil
}

// checkLabel rejects text that would break a metrics label, a calendar
// field or a CSV cell: too long, not UTF-8, or with control characters.
func checkLabel(field, v string, max int) error {
	if !utf8.ValidString(v) {
		return errs.Invalidf(field, "is not valid UTF-8")
	}
	if n := utf8.RuneCountInString(v); n > max {
		return errs.Invalidf(field, "is %d characters long; at most %d", n, max)
	}
	if strings.ContainsFunc(v, unicode.IsControl) {
		return errs.Invalidf(field, "contains a control character")
	}
	return nil
}

// LoadLocation loads an IANA time zone by name. Unlike time.LoadLocation it
// refuses "" and "Local", which would silently mean the daemon's own zone.
// The error is an *errs.Invalid on "timezone".
func LoadLocation(name string) (*time.Location, error) {
	if name == "" {
		return nil, errs.Invalidf("timezone", "is required (an IANA zone such as Asia/Tokyo)")
	}
	if name == "Local" || strings.ContainsFunc(name, unicode.IsControl) {
		return nil, errs.Invalidf("timezone", "timezone %q is not an IANA zone", name)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, errs.Invalidf("timezone", "timezone %q is not an IANA zone", name)
	}
	return loc, nil
}

const (
	startLayoutMinutes = "2006-01-02T15:04"
	startLayoutSeconds = "2006-01-02T15:04:05"
)

// ParseStart parses a local date and time ("2026-12-01T10:00" or
// "2026-12-01T10:00:00"; a space may replace the T) as a wall clock in loc.
// A wall clock that does not exist in loc, because the clocks jump forward
// over it, is an error naming it. The error is an *errs.Invalid on "start".
func ParseStart(value string, loc *time.Location) (time.Time, error) {
	v := strings.TrimSpace(value)
	if len(v) > 10 && v[10] == ' ' {
		v = v[:10] + "T" + v[11:]
	}
	var t time.Time
	var err error
	for _, layout := range []string{startLayoutMinutes, startLayoutSeconds} {
		if t, err = time.Parse(layout, v); err == nil {
			break
		}
	}
	if err != nil {
		return time.Time{}, errs.Invalidf("start", "%q is not a local date and time like 2026-12-01T10:00", value)
	}
	return inZone(t, loc)
}

// inZone re-expresses t's wall clock (to the second) in loc, refusing wall
// clocks that loc skips and years outside what recurrence can handle.
func inZone(t time.Time, loc *time.Location) (time.Time, error) {
	y, mo, d := t.Date()
	h, mi, sec := t.Clock()
	if y < minStartYear || y > maxStartYear {
		return time.Time{}, errs.Invalidf("start", "year %d is outside %d–%d", y, minStartYear, maxStartYear)
	}
	f := time.Date(y, mo, d, h, mi, sec, 0, time.UTC)
	lt := resolveWall(f, loc)
	if !floating(lt).Equal(f) {
		return time.Time{}, errs.Invalidf("start", "%s does not exist in %s (the clocks skip it for daylight saving time)",
			f.Format(startLayoutMinutes), loc)
	}
	return lt, nil
}

// ParseDuration parses a meeting length such as "30m", "45m", "1h" or
// "1h30m". The error is an *errs.Invalid on "duration".
func ParseDuration(value string) (time.Duration, error) {
	v := strings.TrimSpace(value)
	d, err := time.ParseDuration(v)
	if err != nil || v == "" {
		return 0, errs.Invalidf("duration", "%q is not a length like 30m or 1h", value)
	}
	if d <= 0 {
		return 0, errs.Invalidf("duration", "must be positive, got %s", v)
	}
	return d, nil
}

// FormatDuration writes d the way ParseDuration reads it: "30m", "1h",
// "1h30m". Lengths that are not whole minutes fall back to d.String().
func FormatDuration(d time.Duration) string {
	if d <= 0 || d%time.Minute != 0 {
		return d.String()
	}
	h, m := d/time.Hour, (d%time.Hour)/time.Minute
	switch {
	case h == 0:
		return fmt.Sprintf("%dm", m)
	case m == 0:
		return fmt.Sprintf("%dh", h)
	default:
		return fmt.Sprintf("%dh%dm", h, m)
	}
}

// NewSeriesID returns a new random series id: "s_" and 20 lowercase base32
// characters (100 bits from crypto/rand).
func NewSeriesID() string {
	return "s_" + strings.ToLower(rand.Text()[:20])
}
