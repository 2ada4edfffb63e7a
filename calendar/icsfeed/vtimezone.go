package icsfeed

import (
	"fmt"
	"slices"
	"time"

	"github.com/emersion/go-ical"
)

// transition is one change of a zone's offset (or of its abbreviation).
type transition struct {
	at       time.Time // the instant, UTC
	from, to int       // UTC offsets in seconds before and after
	name     string    // abbreviation after
	dst      bool      // daylight saving time after
}

// local is the onset as the wall clock before it, which is how a
// STANDARD/DAYLIGHT DTSTART is written (RFC 5545 §3.6.5).
func (tr transition) local() time.Time {
	return tr.at.Add(time.Duration(tr.from) * time.Second).UTC()
}

// zoneTransitions lists the transitions of loc from the one in effect at
// from up to (excluding) to, probing Go's tzdata with ZoneBounds.
func zoneTransitions(loc *time.Location, from, to time.Time) []transition {
	var out []transition
	t := from.In(loc)
	start, end := t.ZoneBounds()
	if !start.IsZero() {
		if tr, ok := transitionAt(loc, start); ok {
			out = append(out, tr)
		}
	}
	for !end.IsZero() && end.Before(to) {
		if tr, ok := transitionAt(loc, end); ok {
			out = append(out, tr)
		}
		next := end
		_, end = next.In(loc).ZoneBounds()
		// Past the end of the zone's table, Go computes zones from the
		// POSIX TZ rule and ZoneBounds can hand back a zone that ends where
		// it began (seen at the end of leap years after 2037); step past it
		// rather than loop on it forever.
		for !end.IsZero() && !end.After(next) {
			next = next.Add(time.Hour)
			_, end = next.In(loc).ZoneBounds()
		}
	}
	return out
}

func transitionAt(loc *time.Location, at time.Time) (transition, bool) {
	before, after := at.Add(-time.Second).In(loc), at.In(loc)
	name, to := after.Zone()
	prevName, from := before.Zone()
	if from == to && name == prevName && before.IsDST() == after.IsDST() {
		return transition{}, false
	}
	return transition{at: at.UTC(), from: from, to: to, name: name, dst: after.IsDST()}, true
}

// byDay is a yearly onset pattern: the nth (1–4) or last (-1) weekday of a month.
type byDay struct {
	nth int
	wd  time.Weekday
}

var icsWeekdays = [7]string{"SU", "MO", "TU", "WE", "TH", "FR", "SA"}

func (b byDay) String() string { return fmt.Sprintf("%d%s", b.nth, icsWeekdays[b.wd]) }

// patterns lists the BYDAY patterns a local onset date matches.
func patterns(d time.Time) []byDay {
	var out []byDay
	if d.AddDate(0, 0, 7).Month() != d.Month() {
		out = append(out, byDay{-1, d.Weekday()}) // tzdata's "lastSun" is the common case
	}
	if n := (d.Day()-1)/7 + 1; n <= 4 {
		out = append(out, byDay{n, d.Weekday()})
	}
	return out
}

// vtimezone builds the VTIMEZONE of loc for events between the years
// first and last. Yearly-repeating onsets become one STANDARD or DAYLIGHT
// with an RRULE (with UNTIL when the rule changed before last); onsets
// that follow no such pattern are gathered as RDATEs. A zone without
// transitions in the range gets a single STANDARD.
func vtimezone(loc *time.Location, first, last int) *ical.Component {
	tz := ical.NewComponent(ical.CompTimezone)
	tz.Props.Set(&ical.Prop{Name: ical.PropTimezoneID, Params: ical.Params{}, Value: loc.String()})

	from := time.Date(first, 1, 1, 0, 0, 0, 0, time.UTC)
	to := time.Date(last+1, 1, 1, 0, 0, 0, 0, time.UTC)
	trs := zoneTransitions(loc, from, to)
	if len(trs) == 0 {
		name, off := from.In(loc).Zone()
		tz.Children = append(tz.Children, observance(transition{at: time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC).Add(-time.Duration(off) * time.Second),
			from: off, to: off, name: name, dst: from.In(loc).IsDST()}, ""))
		return tz
	}

	// A run is onsets of one kind in consecutive years on one pattern.
	type kind struct {
		from, to int
		name     string
		dst      bool
		month    time.Month
		clock    string
	}
	type run struct {
		kind kind
		trs  []transition
		pats []byDay
	}
	var runs []*run
	open := map[kind]*run{}
	for _, tr := range trs {
		l := tr.local()
		k := kind{tr.from, tr.to, tr.name, tr.dst, l.Month(), l.Format("150405")}
		pats := patterns(l)
		if r := open[k]; r != nil && r.trs[len(r.trs)-1].local().Year() == l.Year()-1 {
			if common := intersect(r.pats, pats); len(common) > 0 {
				r.trs, r.pats = append(r.trs, tr), common
				continue
			}
		}
		r := &run{kind: k, trs: []transition{tr}, pats: pats}
		open[k] = r
		runs = append(runs, r)
	}

	lastYear := trs[len(trs)-1].local().Year()
	type single struct {
		from, to int
		name     string
		dst      bool
	}
	singles := map[single]*ical.Component{}
	for _, r := range runs {
		if len(r.trs) < 2 || len(r.pats) == 0 {
			k := single{r.kind.from, r.kind.to, r.kind.name, r.kind.dst}
			if c := singles[k]; c != nil {
				for _, tr := range r.trs {
					c.Props.Add(&ical.Prop{Name: ical.PropRecurrenceDates, Params: ical.Params{}, Value: tr.local().Format(localFormat)})
				}
				continue
			}
			c := observance(r.trs[0], "")
			for _, tr := range r.trs[1:] {
				c.Props.Add(&ical.Prop{Name: ical.PropRecurrenceDates, Params: ical.Params{}, Value: tr.local().Format(localFormat)})
			}
			singles[k] = c
			tz.Children = append(tz.Children, c)
			continue
		}
		rule := fmt.Sprintf("FREQ=YEARLY;BYMONTH=%d;BYDAY=%s", int(r.kind.month), r.pats[0])
		if end := r.trs[len(r.trs)-1]; end.local().Year() < lastYear || !continues(loc, end, r.pats[0], to) {
			rule += ";UNTIL=" + end.at.Format(utcFormat)
		}
		tz.Children = append(tz.Children, observance(r.trs[0], rule))
	}
	return tz
}

// continues reports whether tzdata still follows the pattern the year
// after the probed range, so an open-ended RRULE does not overclaim.
func continues(loc *time.Location, last transition, p byDay, horizon time.Time) bool {
	next := zoneTransitions(loc, horizon, horizon.AddDate(1, 0, 0))
	for _, tr := range next {
		if tr.from == last.from && tr.to == last.to && tr.dst == last.dst && tr.local().Month() == last.local().Month() {
			return slices.Contains(patterns(tr.local()), p)
		}
	}
	return false
}

func intersect(a, b []byDay) []byDay {
	var out []byDay
	for _, x := range a {
		if slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}

func observance(tr transition, rrule string) *ical.Component {
	name := ical.CompTimezoneStandard
	if tr.dst {
		name = ical.CompTimezoneDaylight
	}
	c := ical.NewComponent(name)
	c.Props.Set(&ical.Prop{Name: ical.PropDateTimeStart, Params: ical.Params{}, Value: tr.local().Format(localFormat)})
	// Offsets are UTC-OFFSET values; written raw so no VALUE=TEXT appears.
	c.Props.Set(&ical.Prop{Name: ical.PropTimezoneOffsetFrom, Params: ical.Params{}, Value: utcOffset(tr.from)})
	c.Props.Set(&ical.Prop{Name: ical.PropTimezoneOffsetTo, Params: ical.Params{}, Value: utcOffset(tr.to)})
	if tr.name != "" {
		c.Props.SetText(ical.PropTimezoneName, tr.name)
	}
	if rrule != "" {
		c.Props.Set(&ical.Prop{Name: ical.PropRecurrenceRule, Params: ical.Params{}, Value: rrule})
	}
	return c
}

// utcOffset formats seconds east of UTC as ±HHMM, or ±HHMMSS when the
// offset has seconds (local mean time before standard time).
func utcOffset(sec int) string {
	sign := '+'
	if sec < 0 {
		sign, sec = '-', -sec
	}
	h, m, s := sec/3600, sec/60%60, sec%60
	if s != 0 {
		return fmt.Sprintf("%c%02d%02d%02d", sign, h, m, s)
	}
	return fmt.Sprintf("%c%02d%02d", sign, h, m)
}
