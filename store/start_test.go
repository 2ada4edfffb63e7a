package store

import (
	"testing"
	"time"

	"github.com/oneonone/oneonone/calendar"
	"github.com/oneonone/oneonone/internal/errs"
)

// A start the store could write but never read back (its text layout has
// four year digits) is refused on create and update, naming "start", and
// leaves the stored series readable.
func testStartYearOutOfRange(t *testing.T, dsn string) {
	s := openStore(t, dsn)
	tokyo, _ := time.LoadLocation("Asia/Tokyo")
	tests := []struct {
		name  string
		start time.Time
	}{
		{"year 10000", time.Date(10000, 1, 5, 10, 0, 0, 0, tokyo)},
		{"year 0", time.Date(0, 1, 5, 10, 0, 0, 0, tokyo)},
		{"negative year", time.Date(-44, 3, 15, 10, 0, 0, 0, tokyo)},
		// 9999 in UTC, but already 10000 on the series' wall clock.
		{"year 10000 in the series' zone", time.Date(9999, 12, 31, 20, 0, 0, 0, time.UTC)},
	}
	mustCreate(t, s, newSeries("s_ok", "a@example.com", "b@example.com"))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ser := newSeries("s_bad", "c@example.com", "d@example.com")
			ser.Start = tt.start
			err := s.CreateSeries(ctx, ser)
			if inv, ok := errs.AsInvalid(err); !ok || inv.Field != "start" {
				t.Errorf("CreateSeries: err = %v, want *errs.Invalid on start", err)
			}
			cur, err := s.GetSeries(ctx, "s_ok")
			if err != nil {
				t.Fatal(err)
			}
			cur.Start = tt.start
			_, err = s.UpdateSeries(ctx, cur)
			if inv, ok := errs.AsInvalid(err); !ok || inv.Field != "start" {
				t.Errorf("UpdateSeries: err = %v, want *errs.Invalid on start", err)
			}
		})
	}
	if _, err := s.ListSeries(ctx, calendar.ListOptions{}); err != nil {
		t.Fatalf("ListSeries after refused starts: %v", err)
	}
	edge := newSeries("s_edge", "e@example.com", "f@example.com")
	edge.Start = time.Date(9999, 12, 31, 10, 0, 0, 0, tokyo)
	mustCreate(t, s, edge)
	got, err := s.GetSeries(ctx, "s_edge")
	if err != nil || !got.Start.Equal(edge.Start) {
		t.Fatalf("year 9999 start: got %v, %v; want %v", got.Start, err, edge.Start)
	}
}
