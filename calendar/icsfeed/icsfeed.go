// Package icsfeed is the built-in calendar provider: it renders one
// person's 1on1 series as an iCalendar subscription feed (RFC 5545) that
// any calendar application can subscribe to, so the daemon works without
// Google or CalDAV. It owns the feed's content only: it does no I/O beyond
// the writer it is given, serves no HTTP, reads no store and sends no mail.
// Encoding (escaping, parameter quoting) is go-ical's; this package folds
// lines at 75 octets, which go-ical's encoder does not.
package icsfeed

import (
	"bytes"
	"cmp"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/emersion/go-ical"

	"github.com/oneonone/oneonone/calendar"
)

const (
	localFormat = "20060102T150405"
	utcFormat   = "20060102T150405Z"
	// ProductID names the daemon in every feed.
	ProductID = "-//oneonone//EN"
	// CalendarName is the feed's display name (X-WR-CALNAME).
	CalendarName = "1on1s"
	// UIDSuffix makes series ids globally unique event UIDs.
	UIDSuffix = "@oneonone"
)

// tzYearsAhead is how far past now (and the latest event) VTIMEZONE
// probing reaches before trusting a yearly rule to go on.
const tzYearsAhead = 10

// Entry is one series in a person's feed, with the overrides of its
// occurrences and the join link of its room.
type Entry struct {
	Series    calendar.Series
	Overrides []calendar.Override
	RoomURL   string
	// JoinURL, when set, is the feed owner's personal join link; it
	// replaces RoomURL in the event (URL, LOCATION, DESCRIPTION). Only a
	// per-person feed may carry it: SeriesEvent, which builds the event
	// shared with calendars, ignores it.
	JoinURL string
}

// link is what the event points at: the personal link when there is one.
func (e Entry) link() string {
	if e.JoinURL != "" {
		return e.JoinURL
	}
	return e.RoomURL
}

// UID returns the event UID of a series; it never changes, so calendar
// applications update the event in place when the series changes.
func UID(seriesID string) string { return seriesID + UIDSuffix }

// Write renders owner's feed: one VCALENDAR with a VTIMEZONE per zone
// used, one recurring VEVENT per active series (cancelled occurrences as
// EXDATEs, each moved occurrence as a VEVENT with the same UID and a
// RECURRENCE-ID), in series id order. now stamps the feed (DTSTAMP).
//
// Paused series are left out on purpose: a subscribed calendar deletes
// events that disappear from the feed, and a paused series has no meetings
// to show. Resuming it brings the event back with the same UID.
//
// Nothing is written when an error is returned.
func Write(w io.Writer, owner calendar.Person, entries []Entry, now time.Time) error {
	cal := ical.NewCalendar()
	setRaw(cal.Props, ical.PropProductID, ProductID)
	setRaw(cal.Props, ical.PropVersion, "2.0")
	setRaw(cal.Props, ical.PropCalendarScale, "GREGORIAN")
	setRaw(cal.Props, ical.PropMethod, "PUBLISH")
	setRaw(cal.Props, "X-WR-CALNAME", escapeText(CalendarName))
	// How often subscribers should poll: RFC 7986 and the older Apple/Outlook name.
	cal.Props.Set(&ical.Prop{Name: ical.PropRefreshInterval, Params: ical.Params{ical.ParamValue: {"DURATION"}}, Value: "PT1H"})
	setRaw(cal.Props, "X-PUBLISHED-TTL", "PT1H")
	if owner.Timezone != "" {
		if _, err := calendar.LoadLocation(owner.Timezone); err == nil {
			setRaw(cal.Props, "X-WR-TIMEZONE", escapeText(owner.Timezone))
		}
	}

	sorted := slices.Clone(entries)
	slices.SortFunc(sorted, func(a, b Entry) int { return cmp.Compare(a.Series.ID, b.Series.ID) })

	zones := map[string]*zoneUse{}
	var events []*ical.Component
	for _, e := range sorted {
		if e.Series.State == calendar.StatePaused {
			continue
		}
		evs, err := seriesEvents(e, now, zones)
		if err != nil {
			return fmt.Errorf("icsfeed: series %s: %w", e.Series.ID, err)
		}
		events = append(events, evs...)
	}

	if len(zones) == 0 && len(events) == 0 {
		// RFC 5545 wants at least one component; an empty feed still is
		// one, so give it the owner's zone (or UTC).
		name := "Etc/UTC"
		if loc, err := calendar.LoadLocation(owner.Timezone); err == nil && loc != time.UTC {
			name = loc.String()
		}
		loc, _ := time.LoadLocation(name)
		zones[name] = &zoneUse{loc: loc, first: now.Year(), last: now.Year()}
	}
	names := make([]string, 0, len(zones))
	for name := range zones {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		z := zones[name]
		cal.Children = append(cal.Children, vtimezone(z.loc, z.first-1, max(z.last, now.Year())+tzYearsAhead))
	}
	cal.Children = append(cal.Children, events...)

	var buf bytes.Buffer
	if err := ical.NewEncoder(&folder{out: &buf}).Encode(cal); err != nil {
		return fmt.Errorf("icsfeed: encode: %w", err)
	}
	_, err := w.Write(buf.Bytes())
	return err
}

// zoneUse records the years a zone must cover.
type zoneUse struct {
	loc         *time.Location
	first, last int
}

func (z *zoneUse) see(t time.Time) {
	z.first, z.last = min(z.first, t.Year()), max(z.last, t.Year())
}

// seriesEvents returns the recurring VEVENT of one series and one VEVENT
// per moved occurrence.
func seriesEvents(e Entry, now time.Time, zones map[string]*zoneUse) ([]*ical.Component, error) {
	s := e.Series
	loc, err := calendar.LoadLocation(s.Timezone)
	if err != nil {
		return nil, err
	}
	start := s.Start.In(loc)
	rule, err := s.RRule()
	if err != nil {
		return nil, err
	}
	dur := s.Duration
	if dur <= 0 {
		dur = calendar.DefaultDuration
	}
	var zone *zoneUse
	if loc != time.UTC {
		zone = zones[loc.String()]
		if zone == nil {
			zone = &zoneUse{loc: loc, first: start.Year(), last: start.Year()}
			zones[loc.String()] = zone
		}
		zone.see(start)
	}

	master := baseEvent(e, now)
	setTime(master.Props, ical.PropDateTimeStart, start, loc)
	setRaw(master.Props, ical.PropDuration, icsDuration(dur))
	setRaw(master.Props, ical.PropRecurrenceRule, rule)
	events := []*ical.Component{master}

	overrides := slices.Clone(e.Overrides)
	slices.SortFunc(overrides, func(a, b calendar.Override) int { return a.OriginalStart.Compare(b.OriginalStart) })
	for _, o := range overrides {
		if !o.Cancelled && !o.Moved() {
			continue // held or plain: nothing to say in a calendar
		}
		// Only overrides of real occurrences: an EXDATE or RECURRENCE-ID
		// that matches no instance confuses clients.
		occ, err := s.Occurrences(o.OriginalStart, o.OriginalStart.Add(time.Second), []calendar.Override{o}, now)
		if err != nil || len(occ) != 1 {
			continue
		}
		oc := occ[0]
		if zone != nil {
			zone.see(oc.OriginalStart)
			zone.see(oc.Start.In(loc))
		}
		if o.Cancelled {
			addTime(master.Props, ical.PropExceptionDates, oc.OriginalStart, loc)
			continue
		}
		ev := baseEvent(e, now)
		setTime(ev.Props, ical.PropRecurrenceID, oc.OriginalStart, loc)
		setTime(ev.Props, ical.PropDateTimeStart, oc.Start.In(loc), loc)
		setTime(ev.Props, ical.PropDateTimeEnd, oc.End.In(loc), loc)
		events = append(events, ev)
	}
	return events, nil
}

// baseEvent holds what the recurring event and its moved instances share.
func baseEvent(e Entry, now time.Time) *ical.Component {
	s := e.Series
	ev := ical.NewComponent(ical.CompEvent)
	ev.Props.SetText(ical.PropUID, UID(s.ID))
	setRaw(ev.Props, ical.PropDateTimeStamp, now.UTC().Format(utcFormat))
	if !s.Created.IsZero() {
		setRaw(ev.Props, ical.PropCreated, s.Created.UTC().Format(utcFormat))
	}
	if !s.Updated.IsZero() {
		setRaw(ev.Props, ical.PropLastModified, s.Updated.UTC().Format(utcFormat))
	}
	manager, report := displayName(s.Manager), displayName(s.Report)
	ev.Props.SetText(ical.PropSummary, "1on1: "+manager+" / "+report)
	desc := "1on1 of " + manager + " and " + report + "."
	if link := e.link(); link != "" {
		ev.Props.SetText(ical.PropLocation, link)
		setRaw(ev.Props, ical.PropURL, link)
		desc += "\n\nJoin the room (video and shared agenda):\n" + link
	}
	ev.Props.SetText(ical.PropDescription, desc)
	ev.Props.Set(&ical.Prop{Name: ical.PropOrganizer, Params: ical.Params{"CN": {paramText(manager)}}, Value: "mailto:" + s.Manager.Email})
	// A feed cannot be answered, so the report is shown as having accepted:
	// NEEDS-ACTION would nag in every client, forever.
	ev.Props.Set(&ical.Prop{Name: ical.PropAttendee, Params: ical.Params{
		"CN":       {paramText(report)},
		"ROLE":     {"REQ-PARTICIPANT"},
		"PARTSTAT": {"ACCEPTED"},
	}, Value: "mailto:" + s.Report.Email})
	setRaw(ev.Props, ical.PropSequence, strconv.Itoa(max(s.Version, 0)))
	setRaw(ev.Props, ical.PropStatus, "CONFIRMED")
	// 1on1s are private conversations; a shared calendar shows them as busy only.
	setRaw(ev.Props, ical.PropClass, "PRIVATE")
	return ev
}

func displayName(p calendar.Person) string {
	if n := clean(p.Name); n != "" {
		return n
	}
	return p.Email
}

// clean drops control characters (a CR would make the encoder fail, the
// rest have no business in a calendar) and trims.
func clean(s string) string {
	return strings.TrimSpace(strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s))
}

// escapeText escapes a TEXT value (RFC 5545 §3.3.11) for properties that
// go-ical's SetText would mark VALUE=TEXT.
func escapeText(s string) string {
	return strings.NewReplacer(`\\`, `\\\\`, ";", `\;`, ",", `\,`, "\n", `\n`).Replace(clean(s))
}

// paramText makes a parameter value go-ical accepts: no double quotes.
func paramText(s string) string { return strings.ReplaceAll(clean(s), `"`, "'") }

func setRaw(props ical.Props, name, value string) {
	props.Set(&ical.Prop{Name: name, Params: ical.Params{}, Value: value})
}

// setTime writes a DATE-TIME: with TZID in the series' zone, or in UTC.
func setTime(props ical.Props, name string, t time.Time, loc *time.Location) {
	props.Set(timeProp(name, t, loc))
}

func addTime(props ical.Props, name string, t time.Time, loc *time.Location) {
	props.Add(timeProp(name, t, loc))
}

func timeProp(name string, t time.Time, loc *time.Location) *ical.Prop {
	if loc == time.UTC {
		return &ical.Prop{Name: name, Params: ical.Params{}, Value: t.UTC().Format(utcFormat)}
	}
	return &ical.Prop{Name: name, Params: ical.Params{ical.PropTimezoneID: {loc.String()}}, Value: t.In(loc).Format(localFormat)}
}

// icsDuration writes a DURATION value: PT30M, PT1H, PT1H30M.
func icsDuration(d time.Duration) string {
	d = d.Round(time.Second)
	h, m, s := int(d/time.Hour), int(d%time.Hour/time.Minute), int(d%time.Minute/time.Second)
	var b strings.Builder
	b.WriteString("PT")
	if h > 0 {
		fmt.Fprintf(&b, "%dH", h)
	}
	if m > 0 {
		fmt.Fprintf(&b, "%dM", m)
	}
	if s > 0 || (h == 0 && m == 0) {
		fmt.Fprintf(&b, "%dS", s)
	}
	return b.String()
}
