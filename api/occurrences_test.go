package api

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/oneonone/oneonone/calendar"
)

func TestListOccurrences(t *testing.T) {
	f := newFixture(t)
	s := f.create(seriesBody("aiko@example.com", "ren@example.com"))

	res := f.do("GET", "/api/v1/series/"+s.ID+"/occurrences?from=2026-12-01&to=2027-03-01", nil)
	if res.Code != 200 {
		t.Fatalf("occurrences: %d %s", res.Code, res.Body)
	}
	var l occurrenceList
	res.json(t, &l)
	// Weekly on Tuesdays from 1 Dec 2026 to 23 Feb 2027.
	if len(l.Occurrences) != 13 {
		t.Fatalf("%d occurrences, want 13: %+v", len(l.Occurrences), l.Occurrences)
	}
	first := occurrenceJSON{
		Key:           "20261201T010000Z",
		Start:         "2026-12-01T10:00:00+09:00",
		End:           "2026-12-01T10:30:00+09:00",
		OriginalStart: "2026-12-01T10:00:00+09:00",
		Status:        "scheduled",
	}
	if l.Occurrences[0] != first {
		t.Errorf("first = %+v, want %+v", l.Occurrences[0], first)
	}
	if last := l.Occurrences[12]; last.Key != "20270223T010000Z" {
		t.Errorf("last key = %s", last.Key)
	}

	// A moved occurrence keeps its key and shows where it went.
	loc, _ := time.LoadLocation("Asia/Tokyo")
	orig := time.Date(2026, 12, 8, 10, 0, 0, 0, loc)
	moved := time.Date(2026, 12, 9, 15, 0, 0, 0, loc)
	if err := f.store.PutOverride(context.Background(), calendar.Override{
		SeriesID: s.ID, OriginalStart: orig.UTC(), Start: moved, End: moved.Add(30 * time.Minute), Updated: testNow,
	}); err != nil {
		t.Fatal(err)
	}
	f.do("GET", "/api/v1/series/"+s.ID+"/occurrences?from=2026-12-01T00:00:00%2B09:00&to=2026-12-15", nil).json(t, &l)
	if len(l.Occurrences) != 2 {
		t.Fatalf("%d occurrences, want 2", len(l.Occurrences))
	}
	if o := l.Occurrences[1]; o.Key != "20261208T010000Z" || o.Start != "2026-12-09T15:00:00+09:00" ||
		o.OriginalStart != "2026-12-08T10:00:00+09:00" || o.Status != "rescheduled" {
		t.Errorf("moved occurrence = %+v", o)
	}

	// Defaults: from today (in the series' zone), 90 days.
	f.do("GET", "/api/v1/series/"+s.ID+"/occurrences", nil).json(t, &l)
	if len(l.Occurrences) == 0 || l.Occurrences[0].Key != "20261201T010000Z" {
		t.Errorf("default window starts with %+v", l.Occurrences)
	}
	if n := len(l.Occurrences); n != 12 { // 20 Nov 2026 + 90 days = 18 Feb 2027
		t.Errorf("default window holds %d occurrences, want 12", n)
	}

	bad := []struct {
		query  string
		status int
		field  string
	}{
		{"from=2026-12-32", 400, "from"},
		{"from=yesterday", 400, "from"},
		{"to=2027-02-30", 400, "to"},
		{"from=2026-12-01&to=2026-11-01", 400, "to"},
		{"from=2026-12-01&to=2026-12-01", 400, "to"},
		{"from=2026-12-01&to=2029-12-02", 400, "to"},
	}
	for _, tc := range bad {
		res := f.do("GET", "/api/v1/series/"+s.ID+"/occurrences?"+tc.query, nil)
		if res.Code != tc.status {
			t.Errorf("?%s: %d %s, want %d", tc.query, res.Code, res.Body, tc.status)
			continue
		}
		if e := res.apiError(t); e.Error.Field != tc.field {
			t.Errorf("?%s: field %q, want %q", tc.query, e.Error.Field, tc.field)
		}
	}
	if res := f.do("GET", "/api/v1/series/s_nope/occurrences", nil); res.Code != http.StatusNotFound {
		t.Errorf("unknown series: %d", res.Code)
	}
	if res := f.do("GET", "/api/v1/series/"+s.ID+"/occurrences?from=2026-12-01&to=2028-12-01", nil); res.Code != 200 {
		t.Errorf("two years: %d %s", res.Code, res.Body)
	}
}
