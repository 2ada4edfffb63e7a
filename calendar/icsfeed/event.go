package icsfeed

// What the feed and the CalDAV provider share: one series rendered as a
// calendar.Event (SeriesEvent) and a calendar.Event rendered as a stored
// iCalendar object with its VTIMEZONE (EventCalendar, Encode), so the
// event text and the zone rules are written in one place.

import (
	"bytes"
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

// SeriesEvent returns the calendar event of one series, with the same
// UID, summary, description, room link, organizer and attendee as the
// feed: moved occurrences become exceptions, cancelled ones EXDATEs. The
// report is invited (NEEDS-ACTION), unlike in the feed, since a calendar
// server lets them answer. Sequence is the series version.
func SeriesEvent(e Entry, now time.Time) (calendar.Event, error) {
	// The shared event is seen by both people (and whoever they forward
	// it to): never a personal link in it.
	e.JoinURL = ""
	s := e.Series
	loc, err := calendar.LoadLocation(s.Timezone)
	if err != nil {
		return calendar.Event{}, err
	}
	rule, err := s.RRule()
	if err != nil {
		return calendar.Event{}, err
	}
	dur := s.Duration
	if dur <= 0 {
		dur = calendar.DefaultDuration
	}
	base := baseEvent(e, now)
	text := func(name string) string { v, _ := base.Props.Text(name); return v }
	ev := calendar.Event{
		UID:         UID(s.ID),
		Sequence:    max(s.Version, 0),
		Start:       s.Start.In(loc),
		Duration:    dur,
		RRule:       rule,
		Summary:     text(ical.PropSummary),
		Description: text(ical.PropDescription),
		Location:    text(ical.PropLocation),
		URL:         e.RoomURL,
		Organizer:   calendar.Attendee{Email: s.Manager.Email, Name: displayName(s.Manager)},
		Attendees: []calendar.Attendee{{Email: s.Report.Email, Name: displayName(s.Report),
			PartStat: calendar.PartStatNeedsAction}},
		Status: calendar.EventConfirmed,
	}
	overrides := slices.Clone(e.Overrides)
	slices.SortFunc(overrides, func(a, b calendar.Override) int { return a.OriginalStart.Compare(b.OriginalStart) })
	for _, o := range overrides {
		if !o.Cancelled && !o.Moved() {
			continue
		}
		occ, err := s.Occurrences(o.OriginalStart, o.OriginalStart.Add(time.Second), []calendar.Override{o}, now)
		if err != nil || len(occ) != 1 {
			continue
		}
		oc := occ[0]
		if o.Cancelled {
			ev.ExDates = append(ev.ExDates, oc.OriginalStart.In(loc))
			continue
		}
		ev.Exceptions = append(ev.Exceptions, calendar.Exception{
			RecurrenceID: oc.OriginalStart.In(loc), Start: oc.Start.In(loc), End: oc.End.In(loc),
			Sequence: ev.Sequence,
		})
	}
	return ev, nil
}

// EventCalendar renders e as the iCalendar object a CalDAV server stores:
// a VTIMEZONE for its zone, the master VEVENT (RRULE, EXDATEs) and one
// VEVENT per exception (RECURRENCE-ID). No METHOD: RFC 4791 forbids it in
// stored objects. now is the DTSTAMP.
func EventCalendar(e calendar.Event, now time.Time) (*ical.Calendar, error) {
	if e.UID == "" {
		return nil, fmt.Errorf("icsfeed: event without UID")
	}
	if e.Start.IsZero() {
		return nil, fmt.Errorf("icsfeed: event %s without start", e.UID)
	}
	loc := e.Start.Location()
	if loc.String() == "" || loc.String() == "Local" {
		loc = time.UTC
	}
	cal := ical.NewCalendar()
	setRaw(cal.Props, ical.PropProductID, ProductID)
	setRaw(cal.Props, ical.PropVersion, "2.0")
	setRaw(cal.Props, ical.PropCalendarScale, "GREGORIAN")

	first, last := e.Start.Year(), max(e.Start.Year(), now.Year())
	see := func(t time.Time) {
		if !t.IsZero() {
			first, last = min(first, t.Year()), max(last, t.Year())
		}
	}

	master := eventComponent(e, now)
	setTime(master.Props, ical.PropDateTimeStart, e.Start, loc)
	dur := e.Duration
	if dur <= 0 {
		dur = calendar.DefaultDuration
	}
	setRaw(master.Props, ical.PropDuration, icsDuration(dur))
	if e.RRule != "" {
		setRaw(master.Props, ical.PropRecurrenceRule, e.RRule)
	}
	exdates := slices.Clone(e.ExDates)
	slices.SortFunc(exdates, time.Time.Compare)
	for _, d := range exdates {
		see(d)
		addTime(master.Props, ical.PropExceptionDates, d, loc)
	}
	events := []*ical.Component{master}

	exceptions := slices.Clone(e.Exceptions)
	slices.SortFunc(exceptions, func(a, b calendar.Exception) int { return a.RecurrenceID.Compare(b.RecurrenceID) })
	for _, x := range exceptions {
		see(x.RecurrenceID)
		see(x.Start)
		xe := e
		xe.Sequence = max(x.Sequence, e.Sequence)
		if x.Attendees != nil {
			xe.Attendees = x.Attendees
		}
		if x.Summary != "" {
			xe.Summary = x.Summary
		}
		xe.Status = calendar.EventConfirmed
		if x.Cancelled {
			xe.Status = calendar.EventCancelled
		}
		c := eventComponent(xe, now)
		setTime(c.Props, ical.PropRecurrenceID, x.RecurrenceID, loc)
		start, end := x.Start, x.End
		if start.IsZero() {
			start = x.RecurrenceID
		}
		if end.IsZero() || !end.After(start) {
			end = start.Add(dur)
		}
		setTime(c.Props, ical.PropDateTimeStart, start, loc)
		setTime(c.Props, ical.PropDateTimeEnd, end, loc)
		events = append(events, c)
	}
	if loc != time.UTC {
		// zoneTransitions loops forever on ranges reaching 2040: past
		// tzdata's table, time.ZoneBounds answers a zone that ends where
		// it started at the end of leap years. Probe at most to
		// lastProbedYear; the yearly rules found there are open-ended
		// and carry on for later events.
		first, last = min(first-1, lastProbedYear-1), min(last+tzYearsAhead, lastProbedYear)
		cal.Children = append(cal.Children, vtimezone(loc, first, last))
	}
	cal.Children = append(cal.Children, events...)
	return cal, nil
}

// lastProbedYear bounds VTIMEZONE probing (see EventCalendar).
const lastProbedYear = 2037

// eventComponent writes the properties a master and its exceptions share.
func eventComponent(e calendar.Event, now time.Time) *ical.Component {
	c := ical.NewComponent(ical.CompEvent)
	c.Props.SetText(ical.PropUID, e.UID)
	setRaw(c.Props, ical.PropDateTimeStamp, now.UTC().Format(utcFormat))
	setRaw(c.Props, ical.PropSequence, strconv.Itoa(max(e.Sequence, 0)))
	if e.Summary != "" {
		c.Props.SetText(ical.PropSummary, clean(e.Summary))
	}
	if e.Description != "" {
		// Keep line breaks, drop other control characters (a lone CR
		// would break the content line).
		c.Props.SetText(ical.PropDescription, strings.Map(func(r rune) rune {
			if r != '\n' && unicode.IsControl(r) {
				return ' '
			}
			return r
		}, strings.ReplaceAll(e.Description, "\r\n", "\n")))
	}
	if e.Location != "" {
		c.Props.SetText(ical.PropLocation, clean(e.Location))
	}
	if e.URL != "" {
		setRaw(c.Props, ical.PropURL, clean(e.URL))
	}
	if e.Organizer.Email != "" {
		p := &ical.Prop{Name: ical.PropOrganizer, Params: ical.Params{}, Value: "mailto:" + e.Organizer.Email}
		if e.Organizer.Name != "" {
			p.Params["CN"] = []string{paramText(e.Organizer.Name)}
		}
		c.Props.Set(p)
	}
	for _, a := range e.Attendees {
		if a.Email == "" {
			continue
		}
		ps := a.PartStat
		if ps == "" {
			ps = calendar.PartStatNeedsAction
		}
		p := &ical.Prop{Name: ical.PropAttendee, Params: ical.Params{
			"CUTYPE":   {"INDIVIDUAL"},
			"ROLE":     {"REQ-PARTICIPANT"},
			"PARTSTAT": {string(ps)},
			"RSVP":     {"TRUE"},
		}, Value: "mailto:" + a.Email}
		if a.Name != "" {
			p.Params["CN"] = []string{paramText(a.Name)}
		}
		c.Props.Add(p)
	}
	status := e.Status
	if status == "" {
		status = calendar.EventConfirmed
	}
	setRaw(c.Props, ical.PropStatus, string(status))
	// 1on1s are private conversations; a shared calendar shows them as busy only.
	setRaw(c.Props, ical.PropClass, "PRIVATE")
	return c
}

// Encode writes cal with content lines folded at 75 octets (go-ical's
// encoder does not fold).
func Encode(w io.Writer, cal *ical.Calendar) error {
	var buf bytes.Buffer
	if err := ical.NewEncoder(&folder{out: &buf}).Encode(cal); err != nil {
		return fmt.Errorf("icsfeed: encode: %w", err)
	}
	_, err := w.Write(buf.Bytes())
	return err
}
