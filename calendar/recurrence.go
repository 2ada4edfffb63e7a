package calendar

import (
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/teambition/rrule-go"

	"github.com/oneonone/oneonone/internal/errs"
)

// MaxOccurrences caps one expansion, so that an absurd range (a century of
// a daily rule) is refused instead of eating memory.
const MaxOccurrences = 10000

// maxRange is refused before any expansion is attempted.
const maxRange = 200 * 366 * 24 * time.Hour

const day = 24 * time.Hour

// rruleWeekdays maps time.Weekday (Sunday = 0) to rrule-go's weekdays.
var rruleWeekdays = [7]rrule.Weekday{rrule.SU, rrule.MO, rrule.TU, rrule.WE, rrule.TH, rrule.FR, rrule.SA}

// RRule returns the series' recurrence rule as an RRULE value without
// DTSTART and without the "RRULE:" prefix:
//
//	weekly   FREQ=WEEKLY
//	biweekly FREQ=WEEKLY;INTERVAL=2
//	monthly  FREQ=MONTHLY;BYDAY=+2TU   the same weekday of the month as Start,
//	                                   -1TU (the last) when Start is in the 5th week
//
// Any other cadence is a raw RRULE, validated and returned normalised. The
// error is an *errs.Invalid on "cadence" (or "start" for monthly without one).
func (s Series) RRule() (string, error) {
	loc, err := s.location()
	if err != nil {
		loc = time.UTC // only matters for a local UNTIL in a raw rule
	}
	opt, err := ruleOptions(s.Cadence, s.Start.In(loc), loc)
	if err != nil {
		return "", err
	}
	return opt.RRuleString(), nil
}

// ruleOptions turns a cadence into rrule options without DTSTART.
func ruleOptions(cadence string, start time.Time, loc *time.Location) (*rrule.ROption, error) {
	switch strings.ToLower(strings.TrimSpace(cadence)) {
	case "", CadenceWeekly:
		return &rrule.ROption{Freq: rrule.WEEKLY}, nil
	case CadenceBiweekly:
		return &rrule.ROption{Freq: rrule.WEEKLY, Interval: 2}, nil
	case CadenceMonthly:
		if start.IsZero() {
			return nil, errs.Invalidf("start", "is required for a monthly cadence (it picks the weekday of the month)")
		}
		n := (start.Day()-1)/7 + 1
		if n == 5 {
			n = -1 // a 5th week exists only in some months: take the last
		}
		return &rrule.ROption{Freq: rrule.MONTHLY, Byweekday: []rrule.Weekday{rruleWeekdays[start.Weekday()].Nth(n)}}, nil
	}
	return parseRawRule(cadence, loc)
}

// parseRawRule validates a raw RRULE value. Beyond RFC 5545 syntax it
// refuses what cannot describe a 1on1 series: a DTSTART inside (the series'
// Start is the start), a FREQ finer than DAILY, and BYHOUR/BYMINUTE/
// BYSECOND (every occurrence starts at Start's wall-clock time).
func parseRawRule(raw string, loc *time.Location) (*rrule.ROption, error) {
	invalid := func(format string, args ...any) error {
		return errs.Invalidf("cadence", "%q is not weekly, biweekly, monthly or a usable RRULE: %s", raw, fmt.Sprintf(format, args...))
	}
	if strings.ContainsAny(raw, "\r\n") {
		return nil, invalid("it must be a single line")
	}
	v := strings.ToUpper(strings.Join(strings.Fields(raw), ""))
	v = strings.TrimPrefix(v, "RRULE:")
	if strings.Contains(v, "DTSTART") {
		return nil, invalid("DTSTART is not allowed; the series' start is the start")
	}
	if strings.ContainsFunc(v, func(r rune) bool { return r > unicode.MaxASCII || unicode.IsControl(r) }) {
		return nil, invalid("unexpected character")
	}
	seen := map[string]bool{}
	var dateUntil bool
	for _, part := range strings.Split(v, ";") {
		key, val, ok := strings.Cut(part, "=")
		if !ok || key == "" {
			return nil, invalid("%q is not NAME=VALUE", part)
		}
		if seen[key] {
			return nil, invalid("%s appears twice", key)
		}
		seen[key] = true
		switch key {
		case "BYHOUR", "BYMINUTE", "BYSECOND":
			return nil, invalid("%s is not allowed; every 1on1 starts at the series' start time", key)
		case "BYEASTER":
			return nil, invalid("BYEASTER is not part of RFC 5545")
		case "UNTIL":
			dateUntil = len(val) == len(rrule.DateFormat)
		}
	}
	if seen["COUNT"] && seen["UNTIL"] {
		return nil, invalid("COUNT and UNTIL cannot both be set")
	}
	opt, err := rrule.StrToROptionInLocation(v, loc)
	if err != nil {
		return nil, invalid("%v", err)
	}
	if opt.Freq > rrule.DAILY {
		return nil, invalid("FREQ=%s is more often than daily", opt.Freq)
	}
	if seen["INTERVAL"] && opt.Interval < 1 {
		return nil, invalid("INTERVAL must be at least 1")
	}
	if opt.Interval == 1 {
		opt.Interval = 0 // the default; drop it from the normal form
	}
	if seen["COUNT"] && opt.Count < 1 {
		return nil, invalid("COUNT must be at least 1")
	}
	if dateUntil {
		// A date-only UNTIL includes that whole day in the series' zone.
		y, m, d := opt.Until.Date()
		opt.Until = time.Date(y, m, d, 23, 59, 59, 0, loc)
	}
	if _, err := rrule.NewRRule(*opt); err != nil {
		return nil, invalid("%v", err)
	}
	return opt, nil
}

// location returns the series' zone, reusing Start's location when it is
// already the named zone (loading a zone reads a file).
func (s Series) location() (*time.Location, error) {
	if l := s.Start.Location(); s.Timezone != "" && s.Timezone != "Local" && l.String() == s.Timezone {
		return l, nil
	}
	return LoadLocation(s.Timezone)
}

// expander turns one series into original start times. The rule is
// parsed once per expander and evaluated in "floating" time — Start's wall
// clock written as UTC — so that rrule-go never sees DST; each result is
// then placed in the zone by resolve, the way RFC 5545 prescribes.
type expander struct {
	loc    *time.Location
	start  time.Time // in loc
	fstart time.Time // floating start
	dur    time.Duration
	opt    rrule.ROption // Dtstart unset; Until floating
	// forward reports whether the rule may be restarted at a later anchor
	// (no COUNT: counting needs every occurrence since Start).
	forward bool
}

func (s Series) expander() (*expander, error) {
	loc, err := s.location()
	if err != nil {
		return nil, err
	}
	if s.Start.IsZero() {
		return nil, errs.Invalidf("start", "is required")
	}
	e := &expander{loc: loc, start: s.Start.In(loc).Truncate(time.Second), dur: s.Duration}
	if e.dur <= 0 {
		e.dur = DefaultDuration
	}
	e.fstart = floating(e.start)
	opt, err := ruleOptions(s.Cadence, e.start, loc)
	if err != nil {
		return nil, err
	}
	if !opt.Until.IsZero() {
		opt.Until = floating(opt.Until.In(loc))
	}
	e.forward = opt.Count == 0
	if e.forward {
		pinDefaults(opt, e.fstart)
	}
	e.opt = *opt
	return e, nil
}

// pinDefaults writes out the parts that rrule-go would derive from DTSTART,
// so that restarting the rule at an anchor keeps them.
func pinDefaults(opt *rrule.ROption, start time.Time) {
	if len(opt.Byweekno) > 0 || len(opt.Byyearday) > 0 || len(opt.Bymonthday) > 0 || len(opt.Byweekday) > 0 {
		return
	}
	switch opt.Freq {
	case rrule.YEARLY:
		if len(opt.Bymonth) == 0 {
			opt.Bymonth = []int{int(start.Month())}
		}
		opt.Bymonthday = []int{start.Day()}
	case rrule.MONTHLY:
		opt.Bymonthday = []int{start.Day()}
	case rrule.WEEKLY:
		opt.Byweekday = []rrule.Weekday{rruleWeekdays[start.Weekday()]}
	}
}

// floating writes t's wall clock as a UTC time.
func floating(t time.Time) time.Time {
	y, mo, d := t.Date()
	h, mi, s := t.Clock()
	return time.Date(y, mo, d, h, mi, s, 0, time.UTC)
}

// resolve places a floating wall clock in the zone. RFC 5545 §3.3.5: a
// wall clock the zone skips is read with the offset from before the gap
// (02:30 on a spring-forward night becomes 03:30), and one that happens
// twice is the first of the two.
func (e *expander) resolve(f time.Time) time.Time { return resolveWall(f, e.loc) }

func resolveWall(f time.Time, loc *time.Location) time.Time {
	y, mo, d := f.Date()
	h, mi, s := f.Clock()
	t := time.Date(y, mo, d, h, mi, s, 0, loc)
	if ft := floating(t); !ft.Equal(f) {
		if ft.Before(f) {
			// time.Date used the offset after the gap; t carries the one before.
			_, off := t.Zone()
			t = time.Unix(f.Unix()-int64(off), 0).In(loc)
		}
		return t
	}
	// In an overlap time.Date may pick the later instant: prefer an earlier
	// one with the same wall clock under the previous offset.
	zs, _ := t.ZoneBounds()
	if !zs.IsZero() && t.Sub(zs) < day {
		_, prevOff := zs.Add(-time.Second).Zone()
		if c := time.Unix(f.Unix()-int64(prevOff), 0).In(loc); c.Before(t) && floating(c).Equal(f) {
			return c
		}
	}
	return t
}

// rule builds the rrule-go rule, restarted at an anchor a whole number of
// periods after Start and safely before near, so that iteration does not
// walk every occurrence since Start.
func (e *expander) rule(near time.Time) (*rrule.RRule, error) {
	opt := e.opt
	opt.Dtstart = e.fstart
	if e.forward && !near.IsZero() {
		opt.Dtstart = e.anchor(floating(near.In(e.loc)).Add(-2 * day))
	}
	r, err := rrule.NewRRule(opt)
	if err != nil {
		return nil, errs.Invalidf("cadence", "%v", err)
	}
	return r, nil
}

func (e *expander) anchor(f time.Time) time.Time {
	if !f.After(e.fstart) {
		return e.fstart
	}
	interval := max(e.opt.Interval, 1)
	y, m, _ := e.fstart.Date()
	h, mi, s := e.fstart.Clock()
	switch e.opt.Freq {
	case rrule.DAILY, rrule.WEEKLY:
		period := interval
		if e.opt.Freq == rrule.WEEKLY {
			period *= 7
		}
		k := int(f.Sub(e.fstart)/day) / period
		return e.fstart.AddDate(0, 0, k*period)
	case rrule.MONTHLY:
		fy, fm, _ := f.Date()
		months := (fy-y)*12 + int(fm-m)
		if k := (months - 1) / interval; k >= 1 {
			return time.Date(y, m+time.Month(k*interval), 1, h, mi, s, 0, time.UTC)
		}
	case rrule.YEARLY:
		if k := (f.Year() - y - 1) / interval; k >= 1 {
			return time.Date(y+k*interval, 1, 1, h, mi, s, 0, time.UTC)
		}
	}
	return e.fstart
}

// starts returns the original starts in [from, to), in order.
func (e *expander) starts(from, to time.Time) ([]time.Time, error) {
	if !to.After(from) {
		return nil, nil
	}
	if to.Sub(from) > maxRange {
		return nil, errs.Invalidf("to", "the range from %s to %s is too long", from.Format(time.DateOnly), to.Format(time.DateOnly))
	}
	r, err := e.rule(from)
	if err != nil {
		return nil, err
	}
	next := r.Iterator()
	var out []time.Time
	for {
		f, ok := next()
		if !ok {
			return out, nil
		}
		t := e.resolve(f)
		if t.Before(from) {
			continue
		}
		if !t.Before(to) {
			return out, nil
		}
		if len(out) == MaxOccurrences {
			return nil, errs.Invalidf("to", "the range holds more than %d occurrences; ask for a shorter one", MaxOccurrences)
		}
		out = append(out, t)
	}
}

// overrideIndex finds overrides by original start instant (to the second).
type overrideIndex map[int64]Override

func indexOverrides(overrides []Override) overrideIndex {
	if len(overrides) == 0 {
		return nil
	}
	idx := make(overrideIndex, len(overrides))
	for _, o := range overrides {
		idx[o.OriginalStart.Unix()] = o
	}
	return idx
}

func (e *expander) occurrence(id string, orig time.Time, o Override, now time.Time) Occurrence {
	oc := Occurrence{
		SeriesID:      id,
		Key:           OccurrenceKey(orig),
		OriginalStart: orig,
		Start:         orig,
		End:           orig.Add(e.dur),
	}
	if o.Moved() {
		oc.Start = o.Start.In(e.loc)
		oc.End = o.End.In(e.loc)
		if !oc.End.After(oc.Start) {
			oc.End = oc.Start.Add(e.dur)
		}
	}
	oc.Status = DeriveStatus(o, oc.End, now)
	return oc
}

// Occurrences returns the occurrences whose original start lies in
// [from, to), in order of original start. Each keeps Start's wall-clock
// time in the series' zone across DST changes and lasts Duration. Overrides
// are matched by original start instant: a moved one takes the override's
// Start and End, and every status comes from DeriveStatus at now. A range
// with more than MaxOccurrences is an *errs.Invalid on "to".
func (s Series) Occurrences(from, to time.Time, overrides []Override, now time.Time) ([]Occurrence, error) {
	e, err := s.expander()
	if err != nil {
		return nil, err
	}
	starts, err := e.starts(from, to)
	if err != nil || len(starts) == 0 {
		return nil, err
	}
	idx := indexOverrides(overrides)
	out := make([]Occurrence, len(starts))
	for i, t := range starts {
		out[i] = e.occurrence(s.ID, t, idx[t.Unix()], now)
	}
	return out, nil
}

// Next returns the earliest-starting occurrence that is not cancelled and
// whose End is after now: the one in progress or the next one. Moved
// occurrences count at their new time. ok is false when the series has
// none (its rule ended, or its cadence is invalid).
func (s Series) Next(now time.Time, overrides []Override) (Occurrence, bool) {
	e, err := s.expander()
	if err != nil {
		return Occurrence{}, false
	}
	idx := indexOverrides(overrides)
	var best Occurrence
	found := false
	// Moved occurrences can land anywhere, so look at them directly, after
	// checking that each moves a real occurrence of the series.
	for _, o := range overrides {
		if !o.Moved() || o.Cancelled || !o.End.After(now) || (found && !o.Start.Before(best.Start)) {
			continue
		}
		orig := o.OriginalStart.In(e.loc)
		if st, err := e.starts(orig, orig.Add(time.Second)); err != nil || len(st) != 1 {
			continue
		}
		best, found = e.occurrence(s.ID, orig, o, now), true
	}
	r, err := e.rule(now.Add(-e.dur))
	if err != nil {
		return best, found
	}
	next := r.Iterator()
	for range MaxOccurrences {
		f, ok := next()
		if !ok {
			break
		}
		t := e.resolve(f)
		if !t.Add(e.dur).After(now) {
			continue
		}
		if found && !t.Before(best.Start) {
			break // unmoved occurrences only get later from here
		}
		o := idx[t.Unix()]
		if o.Cancelled || o.Moved() {
			continue // moved ones were considered above
		}
		return e.occurrence(s.ID, t, o, now), true
	}
	return best, found
}
