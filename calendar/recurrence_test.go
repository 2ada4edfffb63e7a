package calendar

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/oneonone/oneonone/internal/errs"
)

func mustLoc(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// series builds a normalised series starting at the local wall clock start.
func series(t testing.TB, tz, start, cadence string) Series {
	t.Helper()
	loc := mustLoc(t, tz)
	st, err := ParseStart(start, loc)
	if err != nil {
		t.Fatal(err)
	}
	s := Series{
		ID:       "s_test",
		Manager:  Person{Email: "aiko@example.com", Name: "Aiko"},
		Report:   Person{Email: "ren@example.com", Name: "Ren"},
		Start:    st,
		Timezone: tz,
		Cadence:  cadence,
	}
	if err := s.Normalize(); err != nil {
		t.Fatalf("Normalize(%s %s %s): %v", tz, start, cadence, err)
	}
	return s
}

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestRRule(t *testing.T) {
	tests := []struct {
		name, start, cadence, want string
	}{
		{"weekly", "2026-12-01T10:00", "weekly", "FREQ=WEEKLY"},
		{"default is weekly", "2026-12-01T10:00", "", "FREQ=WEEKLY"},
		{"biweekly", "2026-12-01T10:00", "biweekly", "FREQ=WEEKLY;INTERVAL=2"},
		{"monthly 1st Tuesday", "2026-12-01T10:00", "monthly", "FREQ=MONTHLY;BYDAY=+1TU"},
		{"monthly 2nd Tuesday", "2026-12-08T10:00", "Monthly", "FREQ=MONTHLY;BYDAY=+2TU"},
		{"monthly 4th Thursday", "2026-12-24T10:00", "monthly", "FREQ=MONTHLY;BYDAY=+4TH"},
		{"monthly 5th Tuesday is the last", "2026-12-29T10:00", "monthly", "FREQ=MONTHLY;BYDAY=-1TU"},
		{"raw with prefix", "2026-12-01T10:00", "RRULE:FREQ=WEEKLY;INTERVAL=3;BYDAY=TU", "FREQ=WEEKLY;INTERVAL=3;BYDAY=TU"},
		{"raw lower case, spaces, INTERVAL=1", "2026-12-01T10:00", " freq=weekly; interval=1 ", "FREQ=WEEKLY"},
		{"raw count", "2026-12-01T10:00", "FREQ=DAILY;COUNT=5", "FREQ=DAILY;COUNT=5"},
		{"raw local until in zone", "2026-12-01T10:00", "FREQ=WEEKLY;UNTIL=20270101T000000", "FREQ=WEEKLY;UNTIL=20261231T150000Z"},
		{"raw date until is the whole day", "2026-12-01T10:00", "FREQ=WEEKLY;UNTIL=20261229", "FREQ=WEEKLY;UNTIL=20261229T145959Z"},
		{"raw yearly", "2026-12-01T10:00", "FREQ=YEARLY", "FREQ=YEARLY"},
		{"raw monthly last weekday via setpos", "2026-12-31T10:00", "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1", "FREQ=MONTHLY;BYSETPOS=-1;BYDAY=MO,TU,WE,TH,FR"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := series(t, "Asia/Tokyo", tt.start, tt.cadence)
			got, err := s.RRule()
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("RRule() = %q, want %q", got, tt.want)
			}
			// The normal form is stable: feeding it back changes nothing.
			s.Cadence = got
			if err := s.Normalize(); err != nil {
				t.Fatalf("normal form %q rejected: %v", got, err)
			}
			if again, _ := s.RRule(); again != got {
				t.Errorf("RRule() after round trip = %q, want %q", again, got)
			}
		})
	}
}

func TestRawRuleRejected(t *testing.T) {
	tests := []struct {
		cadence, field, mention string
	}{
		{"FREQ=HOURLY", "cadence", "more often than daily"},
		{"FREQ=MINUTELY;INTERVAL=30", "cadence", "more often than daily"},
		{"DTSTART:20261201T100000Z\nRRULE:FREQ=WEEKLY", "cadence", "single line"},
		{"FREQ=WEEKLY;DTSTART=20261201T100000Z", "cadence", "DTSTART"},
		{"FREQ=WEEKLY;BYHOUR=9", "cadence", "BYHOUR"},
		{"FREQ=WEEKLY;BYMINUTE=30", "cadence", "BYMINUTE"},
		{"FREQ=YEARLY;BYEASTER=0", "cadence", "BYEASTER"},
		{"FREQ=WEEKLY;COUNT=3;UNTIL=20270101", "cadence", "COUNT and UNTIL"},
		{"FREQ=WEEKLY;FREQ=DAILY", "cadence", "twice"},
		{"FREQ=FORTNIGHTLY", "cadence", "undefined frequency"},
		{"every other tuesday", "cadence", "not NAME=VALUE"},
		{"INTERVAL=2", "cadence", "FREQ is required"},
		{"FREQ=WEEKLY;INTERVAL=0", "cadence", "INTERVAL must be at least 1"},
		{"FREQ=WEEKLY;COUNT=0", "cadence", "COUNT must be at least 1"},
		{"FREQ=MONTHLY;BYMONTHDAY=32", "cadence", "bymonthday"},
		{"FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30", "cadence", "no occurrence"},
		{"FREQ=WEEKLY;BYDAY=MO", "start", "first one is 2026-12-07T10:00"}, // start is a Tuesday
		{"FREQ=WEEKLY;UNTIL=20261101", "cadence", "no occurrence"},
	}
	for _, tt := range tests {
		t.Run(tt.cadence, func(t *testing.T) {
			s := Series{
				Manager: Person{Email: "aiko@example.com"}, Report: Person{Email: "ren@example.com"},
				Start: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC), Timezone: "Asia/Tokyo", Cadence: tt.cadence,
			}
			err := s.Normalize()
			inv, ok := errs.AsInvalid(err)
			if !ok {
				t.Fatalf("Normalize() = %v, want *errs.Invalid", err)
			}
			if inv.Field != tt.field || !strings.Contains(inv.Message, tt.mention) {
				t.Errorf("Normalize() = %q (field %q), want field %q mentioning %q", inv.Message, inv.Field, tt.field, tt.mention)
			}
		})
	}
}

func TestOccurrencesWallClockAcrossDST(t *testing.T) {
	tests := []struct {
		name, tz, start, cadence string
		from, to                 string
		want                     []string // UTC starts
	}{
		{
			name: "New York, autumn 2026", tz: "America/New_York", start: "2026-10-20T10:00", cadence: "weekly",
			from: "2026-10-20T00:00:00Z", to: "2026-11-11T00:00:00Z",
			want: []string{"2026-10-20T14:00:00Z", "2026-10-27T14:00:00Z", "2026-11-03T15:00:00Z", "2026-11-10T15:00:00Z"},
		},
		{
			name: "New York, spring 2027", tz: "America/New_York", start: "2027-03-01T09:30", cadence: "weekly",
			from: "2027-03-01T00:00:00Z", to: "2027-03-20T00:00:00Z",
			want: []string{"2027-03-01T14:30:00Z", "2027-03-08T14:30:00Z", "2027-03-15T13:30:00Z"},
		},
		{
			name: "Berlin, spring 2027 (last Sunday of March)", tz: "Europe/Berlin", start: "2027-03-15T09:00", cadence: "weekly",
			from: "2027-03-01T00:00:00Z", to: "2027-04-06T00:00:00Z",
			want: []string{"2027-03-15T08:00:00Z", "2027-03-22T08:00:00Z", "2027-03-29T07:00:00Z", "2027-04-05T07:00:00Z"},
		},
		{
			name: "Berlin, autumn 2026, biweekly", tz: "Europe/Berlin", start: "2026-10-13T16:00", cadence: "biweekly",
			from: "2026-10-01T00:00:00Z", to: "2026-11-25T00:00:00Z",
			want: []string{"2026-10-13T14:00:00Z", "2026-10-27T15:00:00Z", "2026-11-10T15:00:00Z", "2026-11-24T15:00:00Z"},
		},
		{
			name: "Tokyo has no DST", tz: "Asia/Tokyo", start: "2027-03-01T10:00", cadence: "biweekly",
			from: "2027-03-01T00:00:00Z", to: "2027-04-27T00:00:00Z",
			want: []string{"2027-03-01T01:00:00Z", "2027-03-15T01:00:00Z", "2027-03-29T01:00:00Z", "2027-04-12T01:00:00Z", "2027-04-26T01:00:00Z"},
		},
		{
			name: "monthly 2nd Tuesday", tz: "Asia/Tokyo", start: "2026-12-08T10:00", cadence: "monthly",
			from: "2026-12-01T00:00:00Z", to: "2027-04-01T00:00:00Z",
			want: []string{"2026-12-08T01:00:00Z", "2027-01-12T01:00:00Z", "2027-02-09T01:00:00Z", "2027-03-09T01:00:00Z"},
		},
		{
			name: "monthly 5th Tuesday becomes the last Tuesday", tz: "Asia/Tokyo", start: "2026-12-29T10:00", cadence: "monthly",
			from: "2026-12-01T00:00:00Z", to: "2027-04-01T00:00:00Z",
			want: []string{"2026-12-29T01:00:00Z", "2027-01-26T01:00:00Z", "2027-02-23T01:00:00Z", "2027-03-30T01:00:00Z"},
		},
		{
			name: "monthly across New York DST keeps 10:00", tz: "America/New_York", start: "2027-01-14T10:00", cadence: "monthly",
			from: "2027-01-01T00:00:00Z", to: "2027-05-01T00:00:00Z",
			want: []string{"2027-01-14T15:00:00Z", "2027-02-11T15:00:00Z", "2027-03-11T15:00:00Z", "2027-04-08T14:00:00Z"},
		},
		{
			name: "raw: every 3 weeks on Tuesday, COUNT=3", tz: "Asia/Tokyo", start: "2026-12-01T10:00", cadence: "FREQ=WEEKLY;INTERVAL=3;BYDAY=TU;COUNT=3",
			from: "2026-01-01T00:00:00Z", to: "2028-01-01T00:00:00Z",
			want: []string{"2026-12-01T01:00:00Z", "2026-12-22T01:00:00Z", "2027-01-12T01:00:00Z"},
		},
		{
			name: "raw: Monday and Thursday until a date", tz: "Europe/Berlin", start: "2027-03-25T08:00", cadence: "FREQ=WEEKLY;BYDAY=MO,TH;UNTIL=20270401",
			from: "2027-03-01T00:00:00Z", to: "2027-05-01T00:00:00Z",
			want: []string{"2027-03-25T07:00:00Z", "2027-03-29T06:00:00Z", "2027-04-01T06:00:00Z"},
		},
		{
			// 02:30 does not exist on 2026-03-08 in New York: RFC 5545 reads it
			// with the offset before the gap, 03:30 EDT.
			name: "wall clock in the spring gap", tz: "America/New_York", start: "2026-03-01T02:30", cadence: "weekly",
			from: "2026-03-01T00:00:00Z", to: "2026-03-16T00:00:00Z",
			want: []string{"2026-03-01T07:30:00Z", "2026-03-08T07:30:00Z", "2026-03-15T06:30:00Z"},
		},
		{
			// 02:30 happens twice on 2026-10-25 in Berlin: the first one (CEST).
			name: "wall clock in the autumn overlap", tz: "Europe/Berlin", start: "2026-10-18T02:30", cadence: "weekly",
			from: "2026-10-18T00:00:00Z", to: "2026-11-02T00:00:00Z",
			want: []string{"2026-10-18T00:30:00Z", "2026-10-25T00:30:00Z", "2026-11-01T01:30:00Z"},
		},
		{
			name: "range starts between occurrences and the end is exclusive", tz: "Asia/Tokyo", start: "2026-12-01T10:00", cadence: "weekly",
			from: "2026-12-01T01:00:01Z", to: "2026-12-22T01:00:00Z",
			want: []string{"2026-12-08T01:00:00Z", "2026-12-15T01:00:00Z"},
		},
		{
			name: "range before the start", tz: "Asia/Tokyo", start: "2026-12-01T10:00", cadence: "weekly",
			from: "2026-01-01T00:00:00Z", to: "2026-12-01T01:00:00Z",
			want: nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := series(t, tt.tz, tt.start, tt.cadence)
			now := utc("2020-01-01T00:00:00Z")
			occ, err := s.Occurrences(utc(tt.from), utc(tt.to), nil, now)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, o := range occ {
				got = append(got, o.Start.UTC().Format(time.RFC3339))
				if o.Start.Location().String() != tt.tz {
					t.Errorf("occurrence %s is in %s, want %s", o.Key, o.Start.Location(), tt.tz)
				}
				if o.End.Sub(o.Start) != DefaultDuration || o.Status != StatusScheduled || o.SeriesID != "s_test" ||
					o.Key != OccurrenceKey(o.OriginalStart) || !o.OriginalStart.Equal(o.Start) {
					t.Errorf("occurrence %+v: want a scheduled 30m occurrence keyed by its original start", o)
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("starts\n got  %q\n want %q", got, tt.want)
			}
		})
	}
}

// TestOccurrencesAnchorMatchesFullWalk checks the shortcut that restarts a
// rule close to the range against a walk of every occurrence since Start.
func TestOccurrencesAnchorMatchesFullWalk(t *testing.T) {
	cadences := []string{"weekly", "biweekly", "monthly", "FREQ=DAILY;INTERVAL=3", "FREQ=WEEKLY;INTERVAL=4",
		"FREQ=MONTHLY;INTERVAL=2", "FREQ=YEARLY", "FREQ=YEARLY;INTERVAL=2", "FREQ=MONTHLY;BYMONTHDAY=-1"}
	zones := []string{"America/New_York", "Europe/Berlin", "Asia/Tokyo", "Australia/Lord_Howe"}
	rng := rand.New(rand.NewPCG(1, 2))
	compared, nonEmpty := 0, 0
	for i := range 120 {
		base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, rng.IntN(900))
		start := time.Date(base.Year(), base.Month(), base.Day(), rng.IntN(24), 15*rng.IntN(4), 0, 0, time.UTC)
		if c := cadences[i%len(cadences)]; c == "FREQ=MONTHLY;BYMONTHDAY=-1" {
			start = time.Date(start.Year(), start.Month()+1, 0, start.Hour(), start.Minute(), 0, 0, time.UTC)
		}
		s := Series{
			Manager: Person{Email: "a@example.com"}, Report: Person{Email: "b@example.com"},
			Start: start, Timezone: zones[i%len(zones)], Cadence: cadences[i%len(cadences)],
		}
		if err := s.Normalize(); err != nil {
			continue // a start in a DST gap
		}
		from := start.AddDate(0, 0, rng.IntN(2000)-100)
		to := from.AddDate(0, 0, 1+rng.IntN(400))
		got, err := s.Occurrences(from, to, nil, from)
		if err != nil {
			t.Fatal(err)
		}
		e, err := s.expander()
		if err != nil {
			t.Fatal(err)
		}
		r, _ := e.rule(time.Time{})
		var want []time.Time
		for _, f := range r.Between(e.fstart, floating(to.In(e.loc)).Add(2*day), true) {
			if t := e.resolve(f); !t.Before(from) && t.Before(to) {
				want = append(want, t)
			}
		}
		if len(got) != len(want) {
			t.Fatalf("%s %s %s [%s, %s): %d occurrences, full walk has %d", s.Timezone, s.Start, s.Cadence, from, to, len(got), len(want))
		}
		for j := range got {
			if !got[j].Start.Equal(want[j]) {
				t.Fatalf("%s %s %s: occurrence %d at %s, full walk has %s", s.Timezone, s.Start, s.Cadence, j, got[j].Start, want[j])
			}
		}
		compared++
		if len(got) > 0 {
			nonEmpty++
		}
	}
	if compared < 100 || nonEmpty < 80 {
		t.Errorf("compared only %d expansions (%d non-empty)", compared, nonEmpty)
	}
}

func TestOccurrencesOverrides(t *testing.T) {
	s := series(t, "Europe/Berlin", "2026-10-13T16:00", "weekly")
	s.Duration = 45 * time.Minute
	loc := s.Start.Location()
	at := func(d int) time.Time { return time.Date(2026, 10, d, 16, 0, 0, 0, loc) }
	movedTo := time.Date(2026, 10, 29, 9, 0, 0, 0, loc)
	overrides := []Override{
		{OriginalStart: at(13).UTC(), Held: true},
		{OriginalStart: at(20).UTC(), Cancelled: true, CancelledBy: "report"},
		{OriginalStart: at(27).UTC(), Start: movedTo.UTC(), End: movedTo.Add(time.Hour).UTC()},
		{OriginalStart: at(14).UTC(), Cancelled: true}, // matches no occurrence: ignored
	}
	now := time.Date(2026, 11, 3, 17, 0, 0, 0, loc) // 3 Nov 16:00–16:45 has passed
	occ, err := s.Occurrences(at(1), time.Date(2026, 11, 18, 0, 0, 0, 0, loc), overrides, now)
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		key, start, end string
		status          Status
	}
	var got []row
	for _, o := range occ {
		got = append(got, row{o.Key, o.Start.Format(time.RFC3339), o.End.Format(time.RFC3339), o.Status})
	}
	want := []row{
		{"20261013T140000Z", "2026-10-13T16:00:00+02:00", "2026-10-13T16:45:00+02:00", StatusHeld},
		{"20261020T140000Z", "2026-10-20T16:00:00+02:00", "2026-10-20T16:45:00+02:00", StatusCancelled},
		{"20261027T150000Z", "2026-10-29T09:00:00+01:00", "2026-10-29T10:00:00+01:00", StatusRescheduled},
		{"20261103T150000Z", "2026-11-03T16:00:00+01:00", "2026-11-03T16:45:00+01:00", StatusMissed},
		{"20261110T150000Z", "2026-11-10T16:00:00+01:00", "2026-11-10T16:45:00+01:00", StatusScheduled},
		{"20261117T150000Z", "2026-11-17T16:00:00+01:00", "2026-11-17T16:45:00+01:00", StatusScheduled},
	}
	if !slices.Equal(got, want) {
		t.Errorf("occurrences\n got  %v\n want %v", got, want)
	}
}

func TestOccurrencesRangeLimits(t *testing.T) {
	s := series(t, "Asia/Tokyo", "2026-12-01T10:00", "FREQ=DAILY")
	from := utc("2026-12-01T00:00:00Z")
	_, err := s.Occurrences(from, from.AddDate(30, 0, 0), nil, from)
	if inv, ok := errs.AsInvalid(err); !ok || inv.Field != "to" {
		t.Errorf("30 years of a daily rule: err = %v, want *errs.Invalid on to", err)
	}
	_, err = s.Occurrences(from, from.AddDate(1000, 0, 0), nil, from)
	if inv, ok := errs.AsInvalid(err); !ok || inv.Field != "to" {
		t.Errorf("1000 years: err = %v, want *errs.Invalid on to", err)
	}
	if occ, err := s.Occurrences(from.AddDate(0, 0, 10), from, nil, from); err != nil || len(occ) != 0 {
		t.Errorf("to before from = %v, %v; want nothing", occ, err)
	}
	occ, err := s.Occurrences(from, from.AddDate(20, 0, 0), nil, from)
	if err != nil || len(occ) < 7000 {
		t.Errorf("20 years of a daily rule: %d occurrences, err %v", len(occ), err)
	}
}

func TestNext(t *testing.T) {
	s := series(t, "America/New_York", "2026-10-20T10:00", "weekly")
	loc := s.Start.Location()
	at := func(m time.Month, d, h, mi int) time.Time { return time.Date(2026, m, d, h, mi, 0, 0, loc) }
	tests := []struct {
		name      string
		now       time.Time
		overrides []Override
		want      string // RFC 3339 start, "" for none
		status    Status
	}{
		{"before the first", at(10, 1, 0, 0), nil, "2026-10-20T10:00:00-04:00", StatusScheduled},
		{"in progress counts", at(10, 20, 10, 29), nil, "2026-10-20T10:00:00-04:00", StatusScheduled},
		{"just ended: the next one", at(10, 20, 10, 30), nil, "2026-10-27T10:00:00-04:00", StatusScheduled},
		{"across DST", at(10, 28, 0, 0), nil, "2026-11-03T10:00:00-05:00", StatusScheduled},
		{"skips cancelled", at(10, 21, 0, 0), []Override{
			{OriginalStart: at(10, 27, 10, 0), Cancelled: true},
			{OriginalStart: at(11, 3, 10, 0), Cancelled: true},
		}, "2026-11-10T10:00:00-05:00", StatusScheduled},
		{"moved earlier wins", at(10, 21, 0, 0), []Override{
			{OriginalStart: at(11, 3, 10, 0), Start: at(10, 22, 15, 0), End: at(10, 22, 15, 30)},
		}, "2026-10-22T15:00:00-04:00", StatusRescheduled},
		{"moved later is passed over", at(10, 21, 0, 0), []Override{
			{OriginalStart: at(10, 27, 10, 0), Start: at(11, 5, 15, 0), End: at(11, 5, 15, 30)},
		}, "2026-11-03T10:00:00-05:00", StatusScheduled},
		{"moved from long ago into the future", at(12, 1, 0, 0), []Override{
			{OriginalStart: at(10, 20, 10, 0), Start: at(12, 1, 8, 0), End: at(12, 1, 8, 30)},
		}, "2026-12-01T08:00:00-05:00", StatusRescheduled},
		{"a moved override matching no occurrence is ignored", at(10, 21, 0, 0), []Override{
			{OriginalStart: at(10, 21, 10, 0), Start: at(10, 22, 15, 0), End: at(10, 22, 15, 30)},
		}, "2026-10-27T10:00:00-04:00", StatusScheduled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, ok := s.Next(tt.now, tt.overrides)
			got := ""
			if ok {
				got = o.Start.Format(time.RFC3339)
			}
			if got != tt.want || (ok && o.Status != tt.status) {
				t.Errorf("Next(%s) = %s %s, want %s %s", tt.now, got, o.Status, tt.want, tt.status)
			}
		})
	}

	ended := series(t, "Asia/Tokyo", "2026-12-01T10:00", "FREQ=WEEKLY;COUNT=2")
	if o, ok := ended.Next(utc("2027-01-01T00:00:00Z"), nil); ok {
		t.Errorf("Next after the last occurrence = %v, want none", o)
	}
}
