package google

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"

	gcal "google.golang.org/api/calendar/v3"

	"github.com/oneonone/oneonone/calendar"
)

// EventID is the Google event id PutEvent gives the event with uid: the
// first 32 hex digits of SHA-256(uid). Hex digits are base32hex
// characters, so Google accepts it as a client-chosen id, and it is the
// same on every attempt, so a retried create finds the first one (409).
func EventID(uid string) string {
	sum := sha256.Sum256([]byte(uid))
	return hex.EncodeToString(sum[:16])
}

// instanceID is Google's id of the instance of master originally at t.
func instanceID(master string, t time.Time) string {
	return master + "_" + t.UTC().Format("20060102T150405Z")
}

// zoneName is the IANA name Google gets for loc.
func zoneName(loc *time.Location) string {
	if loc == nil || loc.String() == "" || loc.String() == "Local" {
		return "UTC"
	}
	return loc.String()
}

func eventDateTime(t time.Time) *gcal.EventDateTime {
	return &gcal.EventDateTime{DateTime: t.Format(time.RFC3339), TimeZone: zoneName(t.Location())}
}

// toGoogle renders the master of e as a Google event (no id, no etag).
// Exceptions are separate resources in Google and are written apart.
func toGoogle(e calendar.Event) (*gcal.Event, error) {
	if e.UID == "" {
		return nil, errors.New("event without UID")
	}
	if e.Start.IsZero() {
		return nil, fmt.Errorf("event %s without start", e.UID)
	}
	loc := e.Start.Location()
	dur := e.Duration
	if dur <= 0 {
		dur = calendar.DefaultDuration
	}
	g := &gcal.Event{
		ICalUID:     e.UID,
		Summary:     e.Summary,
		Description: e.Description,
		Location:    e.Location,
		Start:       eventDateTime(e.Start),
		End:         eventDateTime(e.Start.Add(dur).In(loc)),
		Status:      googleStatus(e.Status),
		Sequence:    int64(max(e.Sequence, 0)),
	}
	if e.URL != "" {
		g.Source = &gcal.EventSource{Url: e.URL, Title: e.Summary}
	}
	if e.RRule != "" {
		if strings.ContainsFunc(e.RRule, unicode.IsControl) {
			return nil, fmt.Errorf("event %s: RRULE holds a control character", e.UID)
		}
		g.Recurrence = append(g.Recurrence, "RRULE:"+strings.TrimPrefix(e.RRule, "RRULE:"))
		if line := exdateLine(e.ExDates, loc); line != "" {
			g.Recurrence = append(g.Recurrence, line)
		}
	}
	g.Attendees = googleAttendees(e.Attendees)
	return g, nil
}

func googleAttendees(list []calendar.Attendee) []*gcal.EventAttendee {
	out := make([]*gcal.EventAttendee, 0, len(list))
	for _, a := range list {
		out = append(out, &gcal.EventAttendee{Email: a.Email, DisplayName: a.Name, ResponseStatus: responseStatus(a.PartStat)})
	}
	return out
}

// exdateLine is one EXDATE line for dates, in the event's zone.
func exdateLine(dates []time.Time, loc *time.Location) string {
	if len(dates) == 0 {
		return ""
	}
	ds := slices.Clone(dates)
	slices.SortFunc(ds, time.Time.Compare)
	vals := make([]string, 0, len(ds))
	if zoneName(loc) == "UTC" {
		for _, d := range ds {
			vals = append(vals, d.UTC().Format("20060102T150405Z"))
		}
		return "EXDATE:" + strings.Join(vals, ",")
	}
	for _, d := range ds {
		vals = append(vals, d.In(loc).Format("20060102T150405"))
	}
	return "EXDATE;TZID=" + zoneName(loc) + ":" + strings.Join(vals, ",")
}

func googleStatus(s calendar.EventStatus) string {
	switch s {
	case calendar.EventTentative:
		return "tentative"
	case calendar.EventCancelled:
		return "cancelled"
	}
	return "confirmed"
}

func eventStatus(s string) calendar.EventStatus {
	switch s {
	case "tentative":
		return calendar.EventTentative
	case "cancelled":
		return calendar.EventCancelled
	}
	return calendar.EventConfirmed
}

func responseStatus(p calendar.PartStat) string {
	switch p {
	case calendar.PartStatAccepted:
		return "accepted"
	case calendar.PartStatDeclined:
		return "declined"
	case calendar.PartStatTentative:
		return "tentative"
	}
	return "needsAction"
}

func partStat(s string) calendar.PartStat {
	switch s {
	case "accepted":
		return calendar.PartStatAccepted
	case "declined":
		return calendar.PartStatDeclined
	case "tentative":
		return calendar.PartStatTentative
	}
	return calendar.PartStatNeedsAction
}

func attendeesOf(list []*gcal.EventAttendee) []calendar.Attendee {
	out := make([]calendar.Attendee, 0, len(list))
	for _, a := range list {
		if a == nil || a.Email == "" {
			continue
		}
		out = append(out, calendar.Attendee{Email: a.Email, Name: a.DisplayName, PartStat: partStat(a.ResponseStatus)})
	}
	return out
}

// parseTime reads an EventDateTime: a dateTime (RFC 3339, put in its
// timeZone when that is a zone we know) or an all-day date (midnight in
// loc, or in its timeZone).
func parseTime(d *gcal.EventDateTime, loc *time.Location) (time.Time, error) {
	if d == nil {
		return time.Time{}, errors.New("missing")
	}
	if d.TimeZone != "" {
		if l, err := calendar.LoadLocation(d.TimeZone); err == nil {
			loc = l
		}
	}
	if loc == nil {
		loc = time.UTC
	}
	switch {
	case d.DateTime != "":
		t, err := time.Parse(time.RFC3339Nano, d.DateTime)
		if err != nil {
			return time.Time{}, fmt.Errorf("dateTime %q: %w", d.DateTime, err)
		}
		return t.In(loc), nil
	case d.Date != "":
		t, err := time.ParseInLocation("2006-01-02", d.Date, loc)
		if err != nil {
			return time.Time{}, fmt.Errorf("date %q: %w", d.Date, err)
		}
		return t, nil
	}
	return time.Time{}, errors.New("neither date nor dateTime")
}

// fromGoogle reads a master (or single) event, without its exceptions.
func fromGoogle(g *gcal.Event) (calendar.Event, error) {
	if g == nil || g.Id == "" {
		return calendar.Event{}, errors.New("event without id")
	}
	ev := calendar.Event{UID: g.ICalUID, Href: g.Id, ETag: g.Etag, Sequence: int(max(g.Sequence, 0)),
		Summary: g.Summary, Description: g.Description, Location: g.Location, Status: eventStatus(g.Status)}
	if ev.UID == "" {
		// Google always sets iCalUID; a listing without it is odd but the
		// id still names the event.
		ev.UID = g.Id
	}
	var err error
	if ev.Start, err = parseTime(g.Start, nil); err != nil {
		return calendar.Event{}, fmt.Errorf("event %s: start: %w", g.Id, err)
	}
	loc := ev.Start.Location()
	if g.EndTimeUnspecified || g.End == nil {
		ev.Duration = 0
	} else {
		end, err := parseTime(g.End, loc)
		if err != nil {
			return calendar.Event{}, fmt.Errorf("event %s: end: %w", g.Id, err)
		}
		if end.Before(ev.Start) {
			return calendar.Event{}, fmt.Errorf("event %s: end before start", g.Id)
		}
		ev.Duration = end.Sub(ev.Start)
	}
	if g.Source != nil {
		ev.URL = g.Source.Url
	}
	if g.Organizer != nil {
		ev.Organizer = calendar.Attendee{Email: g.Organizer.Email, Name: g.Organizer.DisplayName}
	}
	for _, a := range g.Attendees {
		if a != nil && a.Organizer && ev.Organizer.Email != "" && strings.EqualFold(a.Email, ev.Organizer.Email) {
			ev.Organizer.PartStat = partStat(a.ResponseStatus)
		}
	}
	ev.Attendees = attendeesOf(g.Attendees)
	if g.Updated != "" {
		ev.Modified, _ = time.Parse(time.RFC3339Nano, g.Updated)
	}
	if ev.RRule, ev.ExDates, err = parseRecurrence(g.Recurrence, loc); err != nil {
		return calendar.Event{}, fmt.Errorf("event %s: %w", g.Id, err)
	}
	return ev, nil
}

// parseRecurrence reads Google's recurrence lines: the RRULE (without
// its name) and the EXDATEs, in loc. RDATE is not part of our model and
// is ignored; so is anything else Google might add.
func parseRecurrence(lines []string, loc *time.Location) (rule string, exdates []time.Time, err error) {
	for _, line := range lines {
		line = strings.TrimSpace(line)
		if strings.ContainsFunc(line, unicode.IsControl) {
			return "", nil, errors.New("recurrence holds a control character")
		}
		head, value, ok := strings.Cut(line, ":")
		if !ok {
			return "", nil, fmt.Errorf("recurrence line %q has no value", line)
		}
		params := strings.Split(head, ";")
		switch strings.ToUpper(params[0]) {
		case "RRULE":
			if rule != "" {
				return "", nil, errors.New("more than one RRULE")
			}
			rule = strings.ToUpper(strings.TrimSpace(value))
			if rule == "" {
				return "", nil, errors.New("empty RRULE")
			}
		case "EXDATE":
			in := loc
			for _, p := range params[1:] {
				k, v, _ := strings.Cut(p, "=")
				if strings.EqualFold(k, "TZID") {
					l, err := calendar.LoadLocation(strings.Trim(v, `"`))
					if err != nil {
						return "", nil, fmt.Errorf("EXDATE: unknown TZID %q", v)
					}
					in = l
				}
			}
			for _, v := range strings.Split(value, ",") {
				t, err := icsTime(strings.TrimSpace(v), in)
				if err != nil {
					return "", nil, fmt.Errorf("EXDATE: %w", err)
				}
				exdates = append(exdates, t.In(loc))
			}
		}
	}
	slices.SortFunc(exdates, time.Time.Compare)
	return rule, exdates, nil
}

func icsTime(v string, loc *time.Location) (time.Time, error) {
	switch {
	case len(v) == len("20060102T150405Z") && strings.HasSuffix(v, "Z"):
		return time.Parse("20060102T150405Z", v)
	case len(v) == len("20060102T150405"):
		return time.ParseInLocation("20060102T150405", v, loc)
	case len(v) == len("20060102"):
		return time.ParseInLocation("20060102", v, loc)
	}
	return time.Time{}, fmt.Errorf("%q is not a DATE or DATE-TIME", v)
}

// exceptionOf reads an exception (a modified or cancelled instance) of
// master. A cancelled instance carries only its identity, so its times
// are the original slot.
func exceptionOf(g *gcal.Event, master calendar.Event) (calendar.Exception, error) {
	loc := master.Start.Location()
	orig, err := parseTime(g.OriginalStartTime, loc)
	if err != nil {
		return calendar.Exception{}, fmt.Errorf("instance %s: originalStartTime: %w", g.Id, err)
	}
	x := calendar.Exception{RecurrenceID: orig.In(loc), Cancelled: g.Status == "cancelled", Sequence: int(max(g.Sequence, 0))}
	if x.Cancelled || g.Start == nil {
		x.Start, x.End = x.RecurrenceID, x.RecurrenceID.Add(master.Duration)
		return x, nil
	}
	start, err := parseTime(g.Start, loc)
	if err != nil {
		return calendar.Exception{}, fmt.Errorf("instance %s: start: %w", g.Id, err)
	}
	x.Start, x.End = start.In(loc), start.In(loc).Add(master.Duration)
	if g.End != nil {
		end, err := parseTime(g.End, loc)
		if err != nil {
			return calendar.Exception{}, fmt.Errorf("instance %s: end: %w", g.Id, err)
		}
		if !end.Before(start) {
			x.End = end.In(loc)
		}
	}
	x.Attendees = attendeesOf(g.Attendees)
	if g.Summary != master.Summary {
		x.Summary = g.Summary
	}
	return x, nil
}

// exceptionBody is the instance resource that makes x: the master's
// fields with the exception's times, attendees and summary.
func exceptionBody(master *gcal.Event, e calendar.Event, x calendar.Exception) *gcal.Event {
	b := *master
	b.Recurrence = nil
	b.Sequence = 0
	start, end := x.Start, x.End
	if start.IsZero() {
		start = x.RecurrenceID
	}
	if !end.After(start) {
		dur := e.Duration
		if dur <= 0 {
			dur = calendar.DefaultDuration
		}
		end = start.Add(dur)
	}
	loc := e.Start.Location()
	b.Start, b.End = eventDateTime(start.In(loc)), eventDateTime(end.In(loc))
	if x.Attendees != nil {
		b.Attendees = googleAttendees(x.Attendees)
	}
	if x.Summary != "" {
		b.Summary = x.Summary
	}
	b.Status = "confirmed"
	return &b
}

// sameException reports whether Google's exception y already is what x
// asks for, so PutEvent does not rewrite (and re-announce) it.
func sameException(x, y calendar.Exception) bool {
	if x.Cancelled || y.Cancelled {
		return x.Cancelled == y.Cancelled
	}
	xs := x.Start
	if xs.IsZero() {
		xs = x.RecurrenceID
	}
	if !xs.Equal(y.Start) || (!x.End.IsZero() && !x.End.Equal(y.End)) {
		return false
	}
	if x.Summary != "" && x.Summary != y.Summary {
		return false
	}
	if x.Attendees != nil && !slices.EqualFunc(x.Attendees, y.Attendees, func(a, b calendar.Attendee) bool {
		return strings.EqualFold(a.Email, b.Email) && a.PartStat == b.PartStat
	}) {
		return false
	}
	return true
}
