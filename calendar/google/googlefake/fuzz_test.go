package googlefake

import (
	"testing"
	"time"
)

// FuzzInstanceID checks that instance ids parse back to what made them and
// that no input makes the parser panic.
func FuzzInstanceID(f *testing.F) {
	for _, seed := range []string{
		"series01_20261201T010000Z", "alldate01_20261203", "_20261201T010000Z", "abc_",
		"abc_2026120", "a_b_20261201", "x_99999999T999999Z", "", "___",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, id string) {
		master, orig, allDay, ok := parseInstanceID(id)
		if !ok {
			return
		}
		if master == "" {
			t.Fatalf("%q parsed with an empty master id", id)
		}
		if again := instanceID(master, orig, allDay); again != id {
			t.Fatalf("%q → (%q, %v, %v) → %q", id, master, orig, allDay, again)
		}
	})
}

// FuzzTokens feeds arbitrary sync and page tokens to the decoders: they
// must refuse or accept without panicking, and accept only what the
// server could have handed out.
func FuzzTokens(f *testing.F) {
	s := New(Options{})
	s.change = 7
	f.Add(s.encodeSyncToken(3))
	f.Add(encodePageToken("page0001", 5))
	f.Add(encodePageToken("20261201T010000.000000000|x", 7))
	f.Add("garbage")
	f.Add("Z2ZzMTotMTo1")
	f.Fuzz(func(t *testing.T, tok string) {
		if change, ok := s.decodeSyncToken(tok); ok && (change < 0 || change > s.change) {
			t.Fatalf("sync token %q accepted with change %d", tok, change)
		}
		if after, snapshot, ok := s.decodePageToken(tok); ok && (after == "" || snapshot < 0 || snapshot > s.change) {
			t.Fatalf("page token %q accepted as (%q, %d)", tok, after, snapshot)
		}
	})
}

// FuzzRecurrence parses arbitrary recurrence lines the way an insert does
// and expands a year of them: refused or expanded, never a panic.
func FuzzRecurrence(f *testing.F) {
	for _, seed := range []string{
		"RRULE:FREQ=WEEKLY;COUNT=6", "RRULE:FREQ=MONTHLY;BYDAY=1TU", "EXDATE;TZID=Asia/Tokyo:20261215T100000",
		"RDATE:20261224T010000Z", "RRULE:FREQ=WEEKLY;UNTIL=20270101T000000Z;INTERVAL=2", "EXRULE:FREQ=DAILY",
		"RRULE:FREQ=HOURLY", "RRULE:", "EXDATE;VALUE=DATE:20261202", "RRULE:FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, line string) {
		ev := Event{
			Start:      &DateTime{DateTime: "2026-12-01T10:00:00", TimeZone: "Asia/Tokyo"},
			End:        &DateTime{DateTime: "2026-12-01T10:30:00", TimeZone: "Asia/Tokyo"},
			Recurrence: []string{line},
		}
		sr, aerr := parseSeries(&ev)
		if aerr != nil {
			return
		}
		from := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
		for _, at := range sr.between(from, from.AddDate(1, 0, 0)) {
			if at.Before(from) {
				t.Fatalf("%q: instance %v before the window", line, at)
			}
		}
	})
}
