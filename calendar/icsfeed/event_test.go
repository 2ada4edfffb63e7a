package icsfeed

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/oneonone/oneonone/calendar"
)

func TestSeriesEvent(t *testing.T) {
	loc, _ := time.LoadLocation("Asia/Tokyo")
	start := time.Date(2026, 12, 1, 10, 0, 0, 0, loc)
	s := calendar.Series{ID: "s_1", Manager: calendar.Person{Email: "aiko@example.com", Name: "Aiko"},
		Report: calendar.Person{Email: "ren@example.com"}, Start: start, Timezone: "Asia/Tokyo",
		Cadence: calendar.CadenceBiweekly, Duration: 45 * time.Minute, Version: 4}
	moved := calendar.Override{SeriesID: "s_1", OriginalStart: start.AddDate(0, 0, 14).UTC(),
		Start: start.AddDate(0, 0, 15), End: start.AddDate(0, 0, 15).Add(45 * time.Minute)}
	cancelled := calendar.Override{SeriesID: "s_1", OriginalStart: start.AddDate(0, 0, 28).UTC(), Cancelled: true}
	stray := calendar.Override{SeriesID: "s_1", OriginalStart: start.AddDate(0, 0, 1).UTC(), Cancelled: true} // no such occurrence
	e, err := SeriesEvent(Entry{Series: s, Overrides: []calendar.Override{cancelled, stray, moved}, RoomURL: "http://x/r/1"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if e.UID != UID("s_1") || !e.Start.Equal(start) || e.Duration != 45*time.Minute || e.RRule != "FREQ=WEEKLY;INTERVAL=2" ||
		e.Sequence != 4 || e.Organizer.Email != "aiko@example.com" || len(e.Attendees) != 1 ||
		e.Attendees[0].PartStat != calendar.PartStatNeedsAction || e.URL != "http://x/r/1" || !strings.Contains(e.Description, "http://x/r/1") {
		t.Errorf("event = %+v", e)
	}
	if len(e.ExDates) != 1 || !e.ExDates[0].Equal(cancelled.OriginalStart) {
		t.Errorf("exdates = %v, want %v", e.ExDates, cancelled.OriginalStart)
	}
	if len(e.Exceptions) != 1 || !e.Exceptions[0].RecurrenceID.Equal(moved.OriginalStart) || !e.Exceptions[0].Start.Equal(moved.Start) {
		t.Errorf("exceptions = %+v", e.Exceptions)
	}
}

func TestEventCalendarStrict(t *testing.T) {
	ny, _ := time.LoadLocation("America/New_York")
	for _, start := range []time.Time{
		time.Date(2026, 12, 1, 10, 0, 0, 0, ny),
		time.Date(2045, 3, 1, 10, 0, 0, 0, ny), // past tzdata's table and the 2040 ZoneBounds trap
		time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC),
	} {
		e := calendar.Event{UID: "u@x", Start: start, Duration: 30 * time.Minute, RRule: "FREQ=WEEKLY",
			Description: "a\r\nb\x00c", Exceptions: []calendar.Exception{{RecurrenceID: start.AddDate(0, 0, 7), Cancelled: true}}}
		done := make(chan struct{})
		var out bytes.Buffer
		var err error
		go func() {
			defer close(done)
			cal, cerr := EventCalendar(e, time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC))
			if err = cerr; err == nil {
				err = Encode(&out, cal)
			}
		}()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("EventCalendar for %v did not finish", start)
		}
		if err != nil {
			t.Fatal(err)
		}
		text := out.String()
		for _, bad := range []string{"METHOD:", "TZOFFSETFROM;VALUE=TEXT", "TZOFFSETTO;VALUE=TEXT", "\x00"} {
			if strings.Contains(text, bad) {
				t.Errorf("%v: output contains %q", start, bad)
			}
		}
		wantTZ := start.Location() != time.UTC
		if strings.Contains(text, "BEGIN:VTIMEZONE") != wantTZ || !strings.Contains(text, "RECURRENCE-ID") || !strings.Contains(text, "STATUS:CANCELLED") {
			t.Errorf("%v: unexpected object:\n%s", start, text)
		}
		for _, line := range strings.Split(text, "\r\n") {
			if len(line) > 75 {
				t.Errorf("line longer than 75 octets: %q", line)
			}
		}
	}
}
