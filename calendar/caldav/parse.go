package caldav

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/emersion/go-ical"

	"github.com/oneonone/oneonone/calendar"
)

// maxObjectBytes bounds one calendar object; a 1on1 series is a few KB.
const maxObjectBytes = 4 << 20

// ParseEvent reads one stored calendar object (a VCALENDAR with the
// VEVENTs of one UID) into an Event: the master (no RECURRENCE-ID) with
// its RRULE and EXDATEs, and one Exception per RECURRENCE-ID VEVENT. It
// never expands recurrence and never panics; anything it cannot read is
// an error, which callers report as a BadObject.
func ParseEvent(data []byte) (ev calendar.Event, err error) {
	defer func() {
		// go-ical is not ours; a malformed object must cost one
		// BadObject, never the sync loop.
		if r := recover(); r != nil {
			ev, err = calendar.Event{}, fmt.Errorf("caldav: parse: %v", r)
		}
	}()
	if len(data) > maxObjectBytes {
		return calendar.Event{}, fmt.Errorf("caldav: object of %d bytes is too large", len(data))
	}
	cal, err := ical.NewDecoder(bytes.NewReader(data)).Decode()
	if err != nil {
		return calendar.Event{}, fmt.Errorf("caldav: decode: %w", err)
	}
	zones := timezones(cal.Component)

	var master *ical.Component
	var exceptions []*ical.Component
	uid := ""
	for _, c := range cal.Children {
		if c.Name != ical.CompEvent {
			continue
		}
		u, _ := c.Props.Text(ical.PropUID)
		if u == "" {
			return calendar.Event{}, errors.New("caldav: VEVENT without UID")
		}
		if uid != "" && u != uid {
			return calendar.Event{}, fmt.Errorf("caldav: object holds two UIDs (%q, %q)", uid, u)
		}
		uid = u
		if c.Props.Get(ical.PropRecurrenceID) != nil {
			exceptions = append(exceptions, c)
			continue
		}
		if master != nil {
			return calendar.Event{}, fmt.Errorf("caldav: UID %q has two master VEVENTs", uid)
		}
		master = c
	}
	if master == nil {
		return calendar.Event{}, errors.New("caldav: no master VEVENT")
	}

	ev.UID = uid
	if ev.Start, err = dateTime(master.Props.Get(ical.PropDateTimeStart), zones, nil); err != nil {
		return calendar.Event{}, fmt.Errorf("caldav: DTSTART: %w", err)
	}
	if ev.Duration, err = duration(master, ev.Start, zones); err != nil {
		return calendar.Event{}, err
	}
	ev.Sequence = sequence(master)
	if p := master.Props.Get(ical.PropRecurrenceRule); p != nil {
		ev.RRule = strings.TrimPrefix(strings.ToUpper(strings.TrimSpace(p.Value)), "RRULE:")
		if strings.ContainsFunc(ev.RRule, unicode.IsControl) {
			return calendar.Event{}, errors.New("caldav: RRULE holds a control character")
		}
	}
	ev.Summary = text(master, ical.PropSummary)
	ev.Description = text(master, ical.PropDescription)
	ev.Location = text(master, ical.PropLocation)
	ev.URL = strings.TrimSpace(text(master, ical.PropURL))
	ev.Status = calendar.EventStatus(strings.ToUpper(text(master, ical.PropStatus)))
	if p := master.Props.Get(ical.PropOrganizer); p != nil {
		ev.Organizer = attendee(p)
		ev.Organizer.PartStat = calendar.PartStat(strings.ToUpper(p.Params.Get("PARTSTAT")))
	}
	ev.Attendees = attendees(master)
	if p := master.Props.Get(ical.PropLastModified); p != nil {
		ev.Modified, _ = p.DateTime(time.UTC)
	}
	loc := ev.Start.Location()
	for _, p := range master.Props.Values(ical.PropExceptionDates) {
		for _, v := range strings.Split(p.Value, ",") {
			q := p
			q.Value = strings.TrimSpace(v)
			t, err := dateTime(&q, zones, loc)
			if err != nil {
				return calendar.Event{}, fmt.Errorf("caldav: EXDATE: %w", err)
			}
			ev.ExDates = append(ev.ExDates, t.In(loc))
		}
	}
	slices.SortFunc(ev.ExDates, time.Time.Compare)

	for _, c := range exceptions {
		var x calendar.Exception
		if x.RecurrenceID, err = dateTime(c.Props.Get(ical.PropRecurrenceID), zones, loc); err != nil {
			return calendar.Event{}, fmt.Errorf("caldav: RECURRENCE-ID: %w", err)
		}
		x.RecurrenceID = x.RecurrenceID.In(loc)
		if p := c.Props.Get(ical.PropDateTimeStart); p != nil {
			if x.Start, err = dateTime(p, zones, loc); err != nil {
				return calendar.Event{}, fmt.Errorf("caldav: exception DTSTART: %w", err)
			}
		} else {
			x.Start = x.RecurrenceID
		}
		d, err := duration(c, x.Start, zones)
		if err != nil {
			return calendar.Event{}, err
		}
		if d == 0 {
			d = ev.Duration
		}
		x.Start = x.Start.In(loc)
		x.End = x.Start.Add(d)
		x.Cancelled = strings.EqualFold(text(c, ical.PropStatus), string(calendar.EventCancelled))
		if len(c.Props.Values(ical.PropAttendee)) > 0 {
			x.Attendees = attendees(c)
		}
		x.Sequence = sequence(c)
		if s := text(c, ical.PropSummary); s != ev.Summary {
			x.Summary = s
		}
		ev.Exceptions = append(ev.Exceptions, x)
	}
	slices.SortFunc(ev.Exceptions, func(a, b calendar.Exception) int { return a.RecurrenceID.Compare(b.RecurrenceID) })
	for i := 1; i < len(ev.Exceptions); i++ {
		if ev.Exceptions[i].RecurrenceID.Equal(ev.Exceptions[i-1].RecurrenceID) {
			return calendar.Event{}, fmt.Errorf("caldav: two exceptions for RECURRENCE-ID %s", ev.Exceptions[i].RecurrenceID.UTC().Format(calendar.KeyFormat))
		}
	}
	return ev, nil
}

func text(c *ical.Component, name string) string {
	p := c.Props.Get(name)
	if p == nil {
		return ""
	}
	v, err := p.Text()
	if err != nil {
		return p.Value
	}
	return v
}

func sequence(c *ical.Component) int {
	p := c.Props.Get(ical.PropSequence)
	if p == nil {
		return 0
	}
	n, err := strconv.Atoi(strings.TrimSpace(p.Value))
	if err != nil || n < 0 {
		return 0
	}
	return n
}

func attendees(c *ical.Component) []calendar.Attendee {
	props := c.Props.Values(ical.PropAttendee)
	out := make([]calendar.Attendee, 0, len(props))
	for i := range props {
		out = append(out, attendee(&props[i]))
	}
	return out
}

func attendee(p *ical.Prop) calendar.Attendee {
	email := strings.TrimSpace(p.Value)
	if len(email) >= 7 && strings.EqualFold(email[:7], "mailto:") {
		email = email[7:]
	}
	ps := calendar.PartStat(strings.ToUpper(p.Params.Get("PARTSTAT")))
	if ps == "" {
		ps = calendar.PartStatNeedsAction
	}
	return calendar.Attendee{Email: email, Name: p.Params.Get("CN"), PartStat: ps}
}

// duration is DURATION, or DTEND − DTSTART, or 0 when neither is given.
func duration(c *ical.Component, start time.Time, zones map[string]*time.Location) (time.Duration, error) {
	if p := c.Props.Get(ical.PropDuration); p != nil {
		d, err := p.Duration()
		if err != nil {
			return 0, fmt.Errorf("caldav: DURATION: %w", err)
		}
		if d < 0 {
			return 0, errors.New("caldav: negative DURATION")
		}
		return d, nil
	}
	if p := c.Props.Get(ical.PropDateTimeEnd); p != nil {
		end, err := dateTime(p, zones, start.Location())
		if err != nil {
			return 0, fmt.Errorf("caldav: DTEND: %w", err)
		}
		if end.Before(start) {
			return 0, errors.New("caldav: DTEND before DTSTART")
		}
		return end.Sub(start), nil
	}
	return 0, nil
}

// dateTime reads a DATE-TIME or DATE property. A TZID names an IANA zone,
// or else a VTIMEZONE of the object (approximated by its offset); a
// floating time is taken in floating (the event's zone, else UTC).
func dateTime(p *ical.Prop, zones map[string]*time.Location, floating *time.Location) (time.Time, error) {
	if p == nil {
		return time.Time{}, errors.New("missing")
	}
	if floating == nil {
		floating = time.UTC
	}
	v := strings.TrimSpace(p.Value)
	loc := floating
	if tzid := strings.Trim(p.Params.Get(ical.PropTimezoneID), `"`); tzid != "" && !strings.HasSuffix(v, "Z") {
		l, err := calendar.LoadLocation(strings.TrimPrefix(tzid, "/"))
		if err != nil {
			if l = zones[tzid]; l == nil {
				return time.Time{}, fmt.Errorf("unknown TZID %q", tzid)
			}
		}
		loc = l
	}
	switch {
	case len(v) == len("20060102"):
		return time.ParseInLocation("20060102", v, loc)
	case len(v) == len("20060102T150405Z") && strings.HasSuffix(v, "Z"):
		return time.Parse("20060102T150405Z", v)
	case len(v) == len("20060102T150405"):
		return time.ParseInLocation("20060102T150405", v, loc)
	}
	return time.Time{}, fmt.Errorf("%q is not a DATE or DATE-TIME", v)
}

// timezones maps each VTIMEZONE whose TZID is not an IANA name (Outlook's
// "Tokyo Standard Time") to a fixed zone at its latest standard offset:
// exact for zones without DST, an hour off in part of the year otherwise,
// which is better than refusing the event.
func timezones(cal *ical.Component) map[string]*time.Location {
	zones := map[string]*time.Location{}
	for _, c := range cal.Children {
		if c.Name != ical.CompTimezone {
			continue
		}
		tzid, _ := c.Props.Text(ical.PropTimezoneID)
		if tzid == "" {
			continue
		}
		var best string
		var bestStart string
		for _, o := range c.Children {
			to := o.Props.Get(ical.PropTimezoneOffsetTo)
			if to == nil {
				continue
			}
			start := ""
			if p := o.Props.Get(ical.PropDateTimeStart); p != nil {
				start = p.Value
			}
			if best == "" || (o.Name == ical.CompTimezoneStandard && start >= bestStart) {
				best, bestStart = to.Value, start
			}
		}
		if off, ok := parseOffset(best); ok {
			zones[tzid] = time.FixedZone(tzid, off)
		}
	}
	return zones
}

func parseOffset(s string) (int, bool) {
	s = strings.TrimSpace(s)
	if len(s) != 5 && len(s) != 7 {
		return 0, false
	}
	sign := 1
	switch s[0] {
	case '-':
		sign = -1
	case '+':
	default:
		return 0, false
	}
	n, err := strconv.Atoi(s[1:])
	if err != nil || n < 0 {
		return 0, false
	}
	h, m, sec := n/100, n%100, 0
	if len(s) == 7 {
		h, m, sec = n/10000, n/100%100, n%100
	}
	if h > 23 || m > 59 || sec > 59 {
		return 0, false
	}
	return sign * (h*3600 + m*60 + sec), true
}
