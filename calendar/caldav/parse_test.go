package caldav

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/oneonone/oneonone/calendar"
	"github.com/oneonone/oneonone/calendar/icsfeed"
)

func encodeEvent(t testing.TB, e calendar.Event) []byte {
	t.Helper()
	cal, err := icsfeed.EventCalendar(e, time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := icsfeed.Encode(&b, cal); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func sampleEvent(zone string) calendar.Event {
	loc, _ := time.LoadLocation(zone)
	start := time.Date(2026, 12, 1, 10, 0, 0, 0, loc)
	return calendar.Event{
		UID: "s_sample@oneonone", Sequence: 3, Start: start, Duration: 45 * time.Minute, RRule: "FREQ=WEEKLY;INTERVAL=2",
		Summary: "1on1: Aiko / Ren", Description: "line one\nline two; with, punctuation", Location: "http://r/1", URL: "http://r/1",
		Organizer: calendar.Attendee{Email: "aiko@example.com", Name: "Aiko"},
		Attendees: []calendar.Attendee{{Email: "ren@example.com", Name: "Ren, Jr.", PartStat: calendar.PartStatAccepted}},
		Status:    calendar.EventConfirmed,
		ExDates:   []time.Time{start.AddDate(0, 0, 14)},
		Exceptions: []calendar.Exception{
			{RecurrenceID: start.AddDate(0, 0, 28), Start: start.AddDate(0, 0, 29), End: start.AddDate(0, 0, 29).Add(time.Hour)},
			{RecurrenceID: start.AddDate(0, 0, 42), Cancelled: true},
			{RecurrenceID: start.AddDate(0, 0, 56), Attendees: []calendar.Attendee{{Email: "ren@example.com", PartStat: calendar.PartStatDeclined}}},
		},
	}
}

func TestParseEventRoundTrip(t *testing.T) {
	for _, zone := range []string{"Asia/Tokyo", "America/New_York", "UTC", "Europe/London"} {
		t.Run(zone, func(t *testing.T) {
			want := sampleEvent(zone)
			got, err := ParseEvent(encodeEvent(t, want))
			if err != nil {
				t.Fatal(err)
			}
			if got.UID != want.UID || !got.Start.Equal(want.Start) || got.Start.Location().String() != want.Start.Location().String() ||
				got.Duration != want.Duration || got.RRule != want.RRule || got.Sequence != want.Sequence ||
				got.Summary != want.Summary || got.Description != want.Description || got.Location != want.Location || got.URL != want.URL ||
				got.Organizer != want.Organizer || len(got.Attendees) != 1 || got.Attendees[0] != want.Attendees[0] || got.Status != want.Status {
				t.Errorf("master:\n got %+v\nwant %+v", got, want)
			}
			if len(got.ExDates) != 1 || !got.ExDates[0].Equal(want.ExDates[0]) {
				t.Errorf("exdates = %v, want %v", got.ExDates, want.ExDates)
			}
			if len(got.Exceptions) != 3 {
				t.Fatalf("exceptions = %+v", got.Exceptions)
			}
			moved, cancelled, declined := got.Exceptions[0], got.Exceptions[1], got.Exceptions[2]
			if !moved.Moved() || !moved.Start.Equal(want.Exceptions[0].Start) || moved.End.Sub(moved.Start) != time.Hour || moved.Cancelled {
				t.Errorf("moved = %+v", moved)
			}
			if !cancelled.Cancelled || cancelled.Moved() || cancelled.End.Sub(cancelled.Start) != want.Duration {
				t.Errorf("cancelled = %+v", cancelled)
			}
			if got.PartStat(declined, "ren@example.com") != calendar.PartStatDeclined || got.PartStat(moved, "ren@example.com") != calendar.PartStatAccepted {
				t.Errorf("partstats: declined %q, moved %q", got.PartStat(declined, "ren@example.com"), got.PartStat(moved, "ren@example.com"))
			}
		})
	}
}

func TestParseEventForeignObjects(t *testing.T) {
	const head = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//x//EN\r\n"
	const tail = "END:VCALENDAR\r\n"
	tokyo, _ := time.LoadLocation("Asia/Tokyo")
	tests := []struct {
		name  string
		body  string
		check func(calendar.Event) bool
	}{
		{"Outlook zone name resolved by its VTIMEZONE",
			"BEGIN:VTIMEZONE\r\nTZID:Tokyo Standard Time\r\nBEGIN:STANDARD\r\nDTSTART:16010101T000000\r\nTZOFFSETFROM:+0900\r\nTZOFFSETTO:+0900\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n" +
				"BEGIN:VEVENT\r\nUID:o@x\r\nDTSTAMP:20261201T000000Z\r\nDTSTART;TZID=Tokyo Standard Time:20261201T100000\r\nDTEND;TZID=Tokyo Standard Time:20261201T103000\r\nRRULE:FREQ=WEEKLY;BYDAY=TU\r\nEND:VEVENT\r\n",
			func(e calendar.Event) bool {
				return e.Start.Equal(time.Date(2026, 12, 1, 10, 0, 0, 0, tokyo)) && e.Duration == 30*time.Minute && e.RRule == "FREQ=WEEKLY;BYDAY=TU"
			}},
		{"UTC times, several EXDATEs in one line, lower-case mailto",
			"BEGIN:VEVENT\r\nUID:u@x\r\nDTSTAMP:20261201T000000Z\r\nDTSTART:20261201T010000Z\r\nDURATION:PT30M\r\nRRULE:FREQ=WEEKLY\r\nEXDATE:20261208T010000Z,20261215T010000Z\r\nATTENDEE;PARTSTAT=declined:MAILTO:ren@example.com\r\nEND:VEVENT\r\n",
			func(e calendar.Event) bool {
				return len(e.ExDates) == 2 && e.Attendees[0].Email == "ren@example.com" && e.Attendees[0].PartStat == calendar.PartStatDeclined
			}},
		{"exception before its master, no DTSTART in the exception",
			"BEGIN:VEVENT\r\nUID:e@x\r\nDTSTAMP:20261201T000000Z\r\nRECURRENCE-ID;TZID=Asia/Tokyo:20261208T100000\r\nSTATUS:CANCELLED\r\nDTSTART;TZID=Asia/Tokyo:20261208T100000\r\nEND:VEVENT\r\n" +
				"BEGIN:VEVENT\r\nUID:e@x\r\nDTSTAMP:20261201T000000Z\r\nDTSTART;TZID=Asia/Tokyo:20261201T100000\r\nDURATION:PT30M\r\nRRULE:FREQ=WEEKLY\r\nEND:VEVENT\r\n",
			func(e calendar.Event) bool {
				return len(e.Exceptions) == 1 && e.Exceptions[0].Cancelled && e.Exceptions[0].End.Sub(e.Exceptions[0].Start) == 30*time.Minute
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := ParseEvent([]byte(head + tt.body + tail))
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(e) {
				t.Errorf("parsed %+v", e)
			}
		})
	}
}

var badObjects = map[string]string{
	"empty":            "",
	"not iCalendar":    "hello",
	"no master":        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//x//EN\r\nBEGIN:VEVENT\r\nUID:a\r\nRECURRENCE-ID:20261208T010000Z\r\nDTSTART:20261208T010000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
	"two UIDs":         "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//x//EN\r\nBEGIN:VEVENT\r\nUID:a\r\nDTSTART:20261208T010000Z\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:b\r\nDTSTART:20261208T010000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
	"two masters":      "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//x//EN\r\nBEGIN:VEVENT\r\nUID:a\r\nDTSTART:20261208T010000Z\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:a\r\nDTSTART:20261208T010000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
	"no UID":           "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//x//EN\r\nBEGIN:VEVENT\r\nDTSTART:20261208T010000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
	"no DTSTART":       "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//x//EN\r\nBEGIN:VEVENT\r\nUID:a\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
	"unknown TZID":     "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//x//EN\r\nBEGIN:VEVENT\r\nUID:a\r\nDTSTART;TZID=Mars/Olympus:20261208T010000\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
	"bad date":         "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//x//EN\r\nBEGIN:VEVENT\r\nUID:a\r\nDTSTART:2026-12-08\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
	"end before start": "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//x//EN\r\nBEGIN:VEVENT\r\nUID:a\r\nDTSTART:20261208T010000Z\r\nDTEND:20261208T000000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
	"bad duration":     "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//x//EN\r\nBEGIN:VEVENT\r\nUID:a\r\nDTSTART:20261208T010000Z\r\nDURATION:soon\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
	"bad EXDATE":       "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//x//EN\r\nBEGIN:VEVENT\r\nUID:a\r\nDTSTART:20261208T010000Z\r\nEXDATE:yesterday\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
	"unterminated":     "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:a\r\n",
	"duplicate RECURRENCE-ID": "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//x//EN\r\nBEGIN:VEVENT\r\nUID:a\r\nDTSTART:20261201T010000Z\r\nRRULE:FREQ=WEEKLY\r\nEND:VEVENT\r\n" +
		"BEGIN:VEVENT\r\nUID:a\r\nRECURRENCE-ID:20261208T010000Z\r\nDTSTART:20261208T010000Z\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:a\r\nRECURRENCE-ID:20261208T010000Z\r\nDTSTART:20261209T010000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
}

func TestParseEventRejects(t *testing.T) {
	for name, body := range badObjects {
		if e, err := ParseEvent([]byte(body)); err == nil {
			t.Errorf("%s: parsed as %+v, want an error", name, e)
		}
	}
}

// FuzzParseEvent: whatever a server returns, ParseEvent returns an event
// or an error, never panics, and what it accepts can be written back.
func FuzzParseEvent(f *testing.F) {
	for _, zone := range []string{"Asia/Tokyo", "America/New_York", "UTC"} {
		f.Add(encodeEvent(f, sampleEvent(zone)))
	}
	for _, body := range badObjects {
		f.Add([]byte(body))
	}
	f.Add([]byte("BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:a\r\nDTSTART;VALUE=DATE:20261208\r\nRRULE:FREQ=DAILY\r\nEXDATE;VALUE=DATE:20261209,20261210\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := ParseEvent(data)
		if err != nil {
			return
		}
		if e.UID == "" || e.Start.IsZero() || e.Duration < 0 {
			t.Fatalf("accepted an event without UID or start, or with a negative duration: %+v", e)
		}
		for _, x := range e.Exceptions {
			if x.End.Before(x.Start) {
				t.Fatalf("exception ends before it starts: %+v", x)
			}
		}
		if strings.ContainsAny(e.RRule, "\r\n") {
			t.Fatalf("RRULE with a line break: %q", e.RRule)
		}
		if cal, err := icsfeed.EventCalendar(e, time.Now()); err == nil {
			_ = icsfeed.Encode(&bytes.Buffer{}, cal)
		}
	})
}
