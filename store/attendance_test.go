package store

import (
	"errors"
	"testing"
	"time"

	"github.com/oneonone/oneonone/internal/errs"
	"github.com/oneonone/oneonone/meet"
)

func TestAttendanceSQLite(t *testing.T)   { testAttendance(t, sqliteDSN) }
func TestAttendancePostgres(t *testing.T) { testAttendance(t, postgresDSN) }

func testAttendance(t *testing.T, newDSN func(testing.TB) string) {
	s := openStore(t, newDSN(t))
	mustCreate(t, s, newSeries("s_1", "aiko@example.com", "ren@example.com"))
	mustCreate(t, s, newSeries("s_2", "aiko@example.com", "kai@example.com"))
	t0 := time.Date(2026, 12, 1, 0, 58, 0, 123456789, time.UTC)

	aiko, err := s.AddAttendance(ctx, meet.Attendance{SeriesID: "s_1", Occurrence: "20261201T010000Z",
		Email: "Aiko@Example.com", Role: "manager", Joined: t0})
	if err != nil {
		t.Fatal(err)
	}
	ren, err := s.AddAttendance(ctx, meet.Attendance{SeriesID: "s_1", Occurrence: "20261201T010000Z",
		Email: "ren@example.com", Role: "report", Joined: t0.Add(time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	if aiko == ren || aiko == "" {
		t.Fatalf("ids %q and %q", aiko, ren)
	}
	// Another series and an ad hoc stay outside the range.
	if _, err := s.AddAttendance(ctx, meet.Attendance{SeriesID: "s_2", Email: "kai@example.com", Role: "report", Joined: t0}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddAttendance(ctx, meet.Attendance{SeriesID: "s_1", Email: "ren@example.com", Role: "report", Joined: t0.Add(48 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := s.EndAttendance(ctx, aiko, t0.Add(31*time.Minute)); err != nil {
		t.Fatal(err)
	}

	got, err := s.ListAttendance(ctx, "s_1", t0, t0.Add(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	want := []meet.Attendance{
		{ID: aiko, SeriesID: "s_1", Occurrence: "20261201T010000Z", Email: "aiko@example.com", Role: "manager", Joined: t0, Left: t0.Add(31 * time.Minute)},
		{ID: ren, SeriesID: "s_1", Occurrence: "20261201T010000Z", Email: "ren@example.com", Role: "report", Joined: t0.Add(time.Minute)},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d rows: %+v", len(got), got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("row %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	all, err := s.ListAttendance(ctx, "s_1", time.Time{}, time.Time{})
	if err != nil || len(all) != 3 || all[2].Occurrence != "" {
		t.Errorf("open range: %+v, %v", all, err)
	}

	if err := s.EndAttendance(ctx, "a_nope", t0); !errors.Is(err, errs.ErrNotFound) {
		t.Errorf("EndAttendance(unknown) = %v, want ErrNotFound", err)
	}
	if _, err := s.AddAttendance(ctx, meet.Attendance{SeriesID: "s_nope", Email: "x@example.com", Role: "manager", Joined: t0}); !errors.Is(err, errs.ErrNotFound) {
		t.Errorf("AddAttendance(unknown series) = %v, want ErrNotFound", err)
	}
	// Stays go with their series.
	if err := s.DeleteSeries(ctx, "s_1"); err != nil {
		t.Fatal(err)
	}
	if left, err := s.ListAttendance(ctx, "s_1", time.Time{}, time.Time{}); err != nil || len(left) != 0 {
		t.Errorf("after delete: %+v, %v", left, err)
	}
}
