package store

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/oneonone/oneonone/calendar"
	"github.com/oneonone/oneonone/internal/errs"
)

// runSuite runs the behaviour every engine must share. newDSN returns the
// DSN of a fresh, empty database.
func runSuite(t *testing.T, newDSN func(t testing.TB) string) {
	tests := []struct {
		name string
		run  func(t *testing.T, dsn string)
	}{
		{"CreateAndGet", testCreateAndGet},
		{"StartKeepsWallClockInZone", testStartKeepsWallClockInZone},
		{"CreateRejectsInvalid", testCreateRejectsInvalid},
		{"DuplicateIsConflict", testDuplicateIsConflict},
		{"FailedCreateLeavesNothing", testFailedCreateLeavesNothing},
		{"NotFound", testNotFound},
		{"UpdateChecksVersion", testUpdateChecksVersion},
		{"ListPagesWithoutGapsOrDuplicates", testListPages},
		{"Overrides", testOverrides},
		{"DeleteCascades", testDeleteCascades},
		{"PeopleUpsert", testPeopleUpsert},
		{"FeedTokens", testFeedTokens},
		{"SeriesOf", testSeriesOf},
		{"ConcurrentWriters", testConcurrentWriters},
		{"Migrations", testMigrations},
		{"StartYearOutOfRange", testStartYearOutOfRange},
		{"OAuthTokens", testOAuthTokens},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.run(t, newDSN(t))
		})
	}
}

var ctx = context.Background()

func newSeries(id, manager, report string) calendar.Series {
	tokyo, _ := time.LoadLocation("Asia/Tokyo")
	return calendar.Series{
		ID:       id,
		Manager:  calendar.Person{Email: manager},
		Report:   calendar.Person{Email: report},
		Start:    time.Date(2026, 12, 1, 10, 0, 0, 0, tokyo),
		Timezone: "Asia/Tokyo",
		Cadence:  calendar.CadenceWeekly,
		Duration: calendar.DefaultDuration,
		State:    calendar.StateActive,
	}
}

func mustCreate(t *testing.T, s *Store, ser calendar.Series) {
	t.Helper()
	if err := s.CreateSeries(ctx, ser); err != nil {
		t.Fatalf("CreateSeries(%s): %v", ser.ID, err)
	}
}

func testCreateAndGet(t *testing.T, dsn string) {
	s := openStore(t, dsn)
	if err := s.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	created := time.Date(2026, 11, 2, 3, 4, 5, 123456789, time.UTC)
	in := newSeries("s_1", "Aiko@Example.com", "ren@example.com")
	in.Manager.Name, in.Manager.Timezone = "Aiko", "Asia/Tokyo"
	in.Report.Name = "Ren"
	in.Team, in.Calendar, in.Cadence = "platform", "team-caldav", "FREQ=WEEKLY;INTERVAL=3"
	in.Duration = 45 * time.Minute
	in.State = calendar.StatePaused
	in.Created = created
	mustCreate(t, s, in)

	got, err := s.GetSeries(ctx, "s_1")
	if err != nil {
		t.Fatal(err)
	}
	want := in
	want.Manager.Email = "aiko@example.com"
	want.Updated = created
	want.Version = 1
	if !seriesEqual(got, want) {
		t.Errorf("GetSeries =\n%+v\nwant\n%+v", got, want)
	}
	if got.Start.Location().String() != "Asia/Tokyo" {
		t.Errorf("Start location %s, want Asia/Tokyo", got.Start.Location())
	}
	if n, err := s.CountSeries(ctx); err != nil || n != 1 {
		t.Errorf("CountSeries = %d, %v; want 1", n, err)
	}

	// Zero Created and Updated become the time of the write.
	before := time.Now()
	mustCreate(t, s, newSeries("s_2", "aiko@example.com", "mio@example.com"))
	got, err = s.GetSeries(ctx, "s_2")
	if err != nil {
		t.Fatal(err)
	}
	if got.Created.Before(before.Add(-time.Second)) || !got.Updated.Equal(got.Created) {
		t.Errorf("Created %v Updated %v, want both about now (%v)", got.Created, got.Updated, before)
	}
	if got.Manager.Name != "Aiko" {
		t.Errorf("manager name %q, want the one stored by the first series", got.Manager.Name)
	}
}

// seriesEqual compares series, times by instant and Start by wall clock and
// zone name.
func seriesEqual(a, b calendar.Series) bool {
	ta, tb := a.Start, b.Start
	a.Start, b.Start = time.Time{}, time.Time{}
	ca, cb, ua, ub := a.Created, b.Created, a.Updated, b.Updated
	a.Created, b.Created, a.Updated, b.Updated = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	return a == b && ta.Equal(tb) && ta.Format(time.RFC3339) == tb.Format(time.RFC3339) &&
		ta.Location().String() == tb.Location().String() && ca.Equal(cb) && ua.Equal(ub)
}

// The store keeps the wall clock, not an instant: a start given in another
// zone comes back as the same instant in the series' zone, and the zone
// database (not an offset frozen at write time) decides later offsets.
func testStartKeepsWallClockInZone(t *testing.T, dsn string) {
	s := openStore(t, dsn)
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal("no tzdata (the calendar package embeds it, so this cannot happen):", err)
	}
	in := newSeries("s_ny", "a@example.com", "b@example.com")
	in.Timezone = "America/New_York"
	in.Start = time.Date(2026, 3, 2, 14, 30, 0, 0, time.UTC) // 09:30 EST
	mustCreate(t, s, in)
	got, err := s.GetSeries(ctx, "s_ny")
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2026, 3, 2, 9, 30, 0, 0, ny); !got.Start.Equal(want) || got.Start.Location().String() != "America/New_York" {
		t.Fatalf("Start = %v, want %v", got.Start, want)
	}
	// Two weeks later is after the switch to EDT and still 09:30 local.
	if later := got.Start.AddDate(0, 0, 14); later.Hour() != 9 || later.Format("-0700") != "-0400" {
		t.Errorf("two weeks later = %v, want 09:30 -0400", later)
	}
}

func testCreateRejectsInvalid(t *testing.T, dsn string) {
	s := openStore(t, dsn)
	tests := []struct {
		field  string
		mutate func(*calendar.Series)
	}{
		{"id", func(s *calendar.Series) { s.ID = "" }},
		{"manager.email", func(s *calendar.Series) { s.Manager.Email = " " }},
		{"report.email", func(s *calendar.Series) { s.Report.Email = "" }},
		{"start", func(s *calendar.Series) { s.Start = time.Time{} }},
		{"timezone", func(s *calendar.Series) { s.Timezone = "Asia/Tokio" }},
		{"timezone", func(s *calendar.Series) { s.Timezone = "" }},
		{"created", func(s *calendar.Series) { s.Created = time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC) }},
	}
	for _, tt := range tests {
		ser := newSeries("s_x", "a@example.com", "b@example.com")
		tt.mutate(&ser)
		err := s.CreateSeries(ctx, ser)
		inv, ok := errs.AsInvalid(err)
		if !ok || inv.Field != tt.field {
			t.Errorf("%s: err = %v, want *errs.Invalid for field %s", tt.field, err, tt.field)
		}
	}
	if n, _ := s.CountSeries(ctx); n != 0 {
		t.Errorf("%d series stored after invalid creates", n)
	}
	if _, err := s.ListSeries(ctx, calendar.ListOptions{Limit: -1}); err == nil {
		t.Error("ListSeries with a negative limit succeeded")
	}
}

func testDuplicateIsConflict(t *testing.T, dsn string) {
	s := openStore(t, dsn)
	mustCreate(t, s, newSeries("s_1", "a@example.com", "b@example.com"))

	err := s.CreateSeries(ctx, newSeries("s_2", "A@example.com", "b@example.com"))
	errorsIs(t, err, errs.ErrConflict, "same pair")
	if err != nil && !(strings.Contains(err.Error(), "a@example.com") && strings.Contains(err.Error(), "b@example.com") &&
		strings.Contains(err.Error(), "s_1")) {
		t.Errorf("conflict %q does not name the pair and the existing series", err)
	}
	err = s.CreateSeries(ctx, newSeries("s_1", "c@example.com", "d@example.com"))
	errorsIs(t, err, errs.ErrConflict, "same id")

	// The reverse pair is another relationship.
	mustCreate(t, s, newSeries("s_3", "b@example.com", "a@example.com"))

	// An update onto an existing pair conflicts too.
	ser := newSeries("s_3", "a@example.com", "b@example.com")
	_, err = s.UpdateSeries(ctx, ser)
	errorsIs(t, err, errs.ErrConflict, "update onto an existing pair")
	if got, _ := s.GetSeries(ctx, "s_3"); got.Manager.Email != "b@example.com" || got.Version != 1 {
		t.Errorf("failed update changed the series: %+v", got)
	}
}

// A CreateSeries whose series insert fails (after the people upsert) must
// leave the people as they were.
func testFailedCreateLeavesNothing(t *testing.T, dsn string) {
	s := openStore(t, dsn)
	first := newSeries("s_1", "a@example.com", "b@example.com")
	first.Manager.Name = "Aiko"
	mustCreate(t, s, first)

	// Same id, new people: both upserts run, then the insert fails.
	err := s.CreateSeries(ctx, newSeries("s_1", "new-manager@example.com", "new-report@example.com"))
	errorsIs(t, err, errs.ErrConflict, "duplicate id")
	for _, email := range []string{"new-manager@example.com", "new-report@example.com"} {
		if p, err := s.GetPerson(ctx, email); !errors.Is(err, errs.ErrNotFound) {
			t.Errorf("person %s = %+v, %v; want not found after the rollback", email, p, err)
		}
	}
	// Same pair, new names: the rename is rolled back.
	dup := newSeries("s_2", "a@example.com", "b@example.com")
	dup.Manager.Name, dup.Manager.Timezone = "Renamed", "Europe/Paris"
	errorsIs(t, s.CreateSeries(ctx, dup), errs.ErrConflict, "duplicate pair")
	if p, err := s.GetPerson(ctx, "a@example.com"); err != nil || p.Name != "Aiko" || p.Timezone != "" {
		t.Errorf("person = %+v, %v; want the name Aiko and no time zone", p, err)
	}
	// A failed update leaves no trace either.
	upd := newSeries("s_missing", "ghost@example.com", "b@example.com")
	_, err = s.UpdateSeries(ctx, upd)
	errorsIs(t, err, errs.ErrNotFound, "update of a missing series")
	if _, err := s.GetPerson(ctx, "ghost@example.com"); !errors.Is(err, errs.ErrNotFound) {
		t.Errorf("failed update left person ghost@example.com: %v", err)
	}
}

func testNotFound(t *testing.T, dsn string) {
	s := openStore(t, dsn)
	_, err := s.GetSeries(ctx, "s_none")
	errorsIs(t, err, errs.ErrNotFound, "GetSeries")
	errorsIs(t, s.DeleteSeries(ctx, "s_none"), errs.ErrNotFound, "DeleteSeries")
	_, err = s.UpdateSeries(ctx, newSeries("s_none", "a@example.com", "b@example.com"))
	errorsIs(t, err, errs.ErrNotFound, "UpdateSeries")
	_, err = s.GetPerson(ctx, "nobody@example.com")
	errorsIs(t, err, errs.ErrNotFound, "GetPerson")
	_, err = s.FeedToken(ctx, "nobody@example.com")
	errorsIs(t, err, errs.ErrNotFound, "FeedToken")
	_, err = s.RotateFeedToken(ctx, "nobody@example.com")
	errorsIs(t, err, errs.ErrNotFound, "RotateFeedToken")
	err = s.PutOverride(ctx, calendar.Override{SeriesID: "s_none", OriginalStart: time.Now()})
	errorsIs(t, err, errs.ErrNotFound, "PutOverride")
	if err != nil && !strings.Contains(err.Error(), "s_none") {
		t.Errorf("error %q does not name the series", err)
	}
}

func testUpdateChecksVersion(t *testing.T, dsn string) {
	s := openStore(t, dsn)
	orig := newSeries("s_1", "a@example.com", "b@example.com")
	orig.Created = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	mustCreate(t, s, orig)

	ser, err := s.GetSeries(ctx, "s_1")
	if err != nil {
		t.Fatal(err)
	}
	ser.Cadence = calendar.CadenceBiweekly
	ser.Team = "infra"
	ser.Report = calendar.Person{Email: "C@example.com", Name: "Chika"}
	before := time.Now()
	got, err := s.UpdateSeries(ctx, ser)
	if err != nil {
		t.Fatal(err)
	}
	if got.Version != 2 || got.Cadence != calendar.CadenceBiweekly || got.Team != "infra" ||
		got.Report.Email != "c@example.com" || got.Report.Name != "Chika" {
		t.Errorf("UpdateSeries returned %+v", got)
	}
	if !got.Created.Equal(orig.Created) || got.Updated.Before(before.Add(-time.Second)) {
		t.Errorf("Created %v Updated %v; want Created kept and Updated about now", got.Created, got.Updated)
	}
	if stored, _ := s.GetSeries(ctx, "s_1"); !seriesEqual(stored, got) {
		t.Errorf("stored %+v, returned %+v", stored, got)
	}

	// A write from the stale copy (version 1) is refused.
	ser.Team = "stale"
	_, err = s.UpdateSeries(ctx, ser)
	errorsIs(t, err, errs.ErrConflict, "stale version")
	if stored, _ := s.GetSeries(ctx, "s_1"); stored.Team != "infra" || stored.Version != 2 {
		t.Errorf("stale write changed the series: %+v", stored)
	}
	// Version 0 writes unconditionally.
	ser.Version = 0
	if got, err := s.UpdateSeries(ctx, ser); err != nil || got.Version != 3 || got.Team != "stale" {
		t.Errorf("unconditional update = %+v, %v", got, err)
	}
}

func testListPages(t *testing.T, dsn string) {
	s := openStore(t, dsn)
	var all, platform []string
	for _, i := range rand.Perm(40) {
		id := fmt.Sprintf("s_%03d", i)
		ser := newSeries(id, fmt.Sprintf("m%d@example.com", i%3), fmt.Sprintf("r%d@example.com", i))
		if i%4 == 0 {
			ser.Team = "platform"
		}
		mustCreate(t, s, ser)
	}
	for i := range 40 {
		all = append(all, fmt.Sprintf("s_%03d", i))
		if i%4 == 0 {
			platform = append(platform, fmt.Sprintf("s_%03d", i))
		}
	}
	page := func(opt calendar.ListOptions) []string {
		t.Helper()
		var ids []string
		for {
			got, err := s.ListSeries(ctx, opt)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) > opt.Limit && opt.Limit > 0 {
				t.Fatalf("page of %d, limit %d", len(got), opt.Limit)
			}
			for _, ser := range got {
				if opt.Team != "" && ser.Team != opt.Team {
					t.Errorf("series %s of team %q in a list of team %q", ser.ID, ser.Team, opt.Team)
				}
				ids = append(ids, ser.ID)
			}
			if len(got) == 0 || opt.Limit == 0 {
				return ids
			}
			opt.After = got[len(got)-1].ID
		}
	}
	tests := []struct {
		opt  calendar.ListOptions
		want []string
	}{
		{calendar.ListOptions{}, all},
		{calendar.ListOptions{Limit: 7}, all},
		{calendar.ListOptions{Limit: 1}, all},
		{calendar.ListOptions{Limit: 40}, all},
		{calendar.ListOptions{Team: "platform", Limit: 3}, platform},
		{calendar.ListOptions{Team: "platform"}, platform},
		{calendar.ListOptions{After: "s_035"}, all[36:]},
		{calendar.ListOptions{Team: "nobody"}, nil},
	}
	for _, tt := range tests {
		if got := page(tt.opt); !slices.Equal(got, tt.want) {
			t.Errorf("%+v: got %v, want %v", tt.opt, got, tt.want)
		}
	}
	if got, err := s.ListSeries(ctx, calendar.ListOptions{Team: "nobody"}); err != nil || got == nil {
		t.Errorf("empty list = %#v, %v; want an empty, non-nil slice", got, err)
	}
	if n, err := s.CountSeries(ctx); err != nil || n != 40 {
		t.Errorf("CountSeries = %d, %v", n, err)
	}
}

func testOverrides(t *testing.T, dsn string) {
	s := openStore(t, dsn)
	mustCreate(t, s, newSeries("s_1", "a@example.com", "b@example.com"))
	mustCreate(t, s, newSeries("s_2", "a@example.com", "c@example.com"))
	tokyo, _ := time.LoadLocation("Asia/Tokyo")
	week := func(n int) time.Time { return time.Date(2026, 12, 1, 1, 0, 0, 0, time.UTC).AddDate(0, 0, 7*n) }

	moved := calendar.Override{
		SeriesID:      "s_1",
		OriginalStart: week(1).In(tokyo), // stored and returned as UTC
		Start:         time.Date(2026, 12, 9, 15, 30, 0, 987654321, tokyo),
		End:           time.Date(2026, 12, 9, 16, 0, 0, 1, tokyo),
		Updated:       time.Date(2026, 12, 2, 3, 4, 5, 6, time.UTC),
	}
	cancelled := calendar.Override{
		SeriesID: "s_1", OriginalStart: week(0), Cancelled: true, CancelledBy: "report",
		CancelledAt: time.Date(2026, 11, 30, 23, 59, 59, 999999999, time.UTC),
		Updated:     time.Date(2026, 11, 30, 23, 59, 59, 999999999, time.UTC),
	}
	held := calendar.Override{SeriesID: "s_1", OriginalStart: week(2), Held: true, Updated: week(2)}
	other := calendar.Override{SeriesID: "s_2", OriginalStart: week(1), Held: true, Updated: week(1)}
	for _, o := range []calendar.Override{held, moved, cancelled, other} {
		if err := s.PutOverride(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	check := func(from, to time.Time, want ...calendar.Override) {
		t.Helper()
		got, err := s.ListOverrides(ctx, "s_1", from, to)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Fatalf("ListOverrides(%v, %v) = %d overrides, want %d: %+v", from, to, len(got), len(want), got)
		}
		for i := range want {
			if !overrideEqual(got[i], want[i]) {
				t.Errorf("override %d =\n%+v\nwant\n%+v", i, got[i], want[i])
			}
			for _, tm := range []time.Time{got[i].OriginalStart, got[i].Start, got[i].End, got[i].CancelledAt, got[i].Updated} {
				if !tm.IsZero() && tm.Location() != time.UTC {
					t.Errorf("override %d has a time in %v, want UTC", i, tm.Location())
				}
			}
		}
	}
	check(time.Time{}, time.Time{}, cancelled, moved, held)
	check(week(0), week(2), cancelled, moved)                                      // [from, to)
	check(week(0).Add(time.Nanosecond), week(2).Add(time.Nanosecond), moved, held) // exact bounds
	check(week(3), time.Time{})
	check(time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC), time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC), cancelled, moved, held)
	if !moved.Moved() {
		t.Fatal("moved override does not report Moved")
	}

	// Across series: one query, ordered by series then original start.
	across, err := s.OverridesBetween(ctx, week(0), week(2))
	if err != nil {
		t.Fatal(err)
	}
	if want := []calendar.Override{cancelled, moved, other}; len(across) != len(want) {
		t.Fatalf("OverridesBetween = %+v, want %+v", across, want)
	} else {
		for i := range want {
			if !overrideEqual(across[i], want[i]) {
				t.Errorf("OverridesBetween[%d] =\n%+v\nwant\n%+v", i, across[i], want[i])
			}
		}
	}

	// Put replaces: the moved occurrence is now cancelled and no longer moved.
	replaced := calendar.Override{SeriesID: "s_1", OriginalStart: week(1), Cancelled: true, CancelledBy: "manager",
		CancelledAt: week(1).Add(-time.Hour), Updated: week(1).Add(-time.Hour)}
	if err := s.PutOverride(ctx, replaced); err != nil {
		t.Fatal(err)
	}
	check(week(1), week(2), replaced)

	_, err = s.ListOverrides(ctx, "s_none", time.Time{}, time.Time{})
	if err != nil {
		t.Errorf("ListOverrides of an unknown series: %v", err)
	}
	inv, ok := errs.AsInvalid(s.PutOverride(ctx, calendar.Override{SeriesID: "s_1"}))
	if !ok || inv.Field != "original_start" {
		t.Errorf("override without an original start: %v", inv)
	}
}

func overrideEqual(a, b calendar.Override) bool {
	return a.SeriesID == b.SeriesID && a.OriginalStart.Equal(b.OriginalStart) && a.Start.Equal(b.Start) &&
		a.End.Equal(b.End) && a.Cancelled == b.Cancelled && a.CancelledBy == b.CancelledBy &&
		a.CancelledAt.Equal(b.CancelledAt) && a.Held == b.Held && a.Updated.Equal(b.Updated)
}

func testDeleteCascades(t *testing.T, dsn string) {
	s := openStore(t, dsn)
	mustCreate(t, s, newSeries("s_1", "a@example.com", "b@example.com"))
	start := time.Date(2026, 12, 1, 1, 0, 0, 0, time.UTC)
	if err := s.PutOverride(ctx, calendar.Override{SeriesID: "s_1", OriginalStart: start, Held: true}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteSeries(ctx, "s_1"); err != nil {
		t.Fatal(err)
	}
	_, err := s.GetSeries(ctx, "s_1")
	errorsIs(t, err, errs.ErrNotFound, "GetSeries after delete")
	// Recreating the id must not resurrect the old overrides.
	mustCreate(t, s, newSeries("s_1", "a@example.com", "b@example.com"))
	if got, err := s.ListOverrides(ctx, "s_1", time.Time{}, time.Time{}); err != nil || len(got) != 0 {
		t.Errorf("overrides after delete = %+v, %v", got, err)
	}
	var n int
	if err := s.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM overrides`).Scan(&n); err != nil || n != 0 {
		t.Errorf("%d override rows left, %v", n, err)
	}
	// People outlive their series.
	if _, err := s.GetPerson(ctx, "b@example.com"); err != nil {
		t.Error(err)
	}
}

func testPeopleUpsert(t *testing.T, dsn string) {
	s := openStore(t, dsn)
	first := newSeries("s_1", "aiko@example.com", "ren@example.com")
	first.Manager = calendar.Person{Email: "aiko@example.com", Name: "Aiko", Timezone: "Asia/Tokyo"}
	mustCreate(t, s, first)

	// No name, new time zone: only the time zone changes.
	second := newSeries("s_2", "AIKO@example.com", "mio@example.com")
	second.Manager.Timezone = "Europe/Berlin"
	second.Report.Name = "Mio"
	mustCreate(t, s, second)

	want := []calendar.Person{
		{Email: "aiko@example.com", Name: "Aiko", Timezone: "Europe/Berlin"},
		{Email: "mio@example.com", Name: "Mio"},
		{Email: "ren@example.com"},
	}
	got, err := s.ListPeople(ctx, "")
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("ListPeople = %+v, %v; want %+v", got, err, want)
	}
	if got, err := s.ListPeople(ctx, "Mio@Example.com"); err != nil || !slices.Equal(got, want[1:2]) {
		t.Errorf("ListPeople(Mio) = %+v, %v", got, err)
	}
	if got, err := s.ListPeople(ctx, "mi"); err != nil || got == nil || len(got) != 0 {
		t.Errorf("ListPeople(prefix) = %#v, %v; want empty: the filter is exact", got, err)
	}
	if p, err := s.GetPerson(ctx, " AIKO@EXAMPLE.COM "); err != nil || p != want[0] {
		t.Errorf("GetPerson = %+v, %v", p, err)
	}
	// The series carries the current names.
	if ser, _ := s.GetSeries(ctx, "s_1"); ser.Manager != want[0] {
		t.Errorf("series manager = %+v, want %+v", ser.Manager, want[0])
	}
}

func testFeedTokens(t *testing.T, dsn string) {
	s := openStore(t, dsn)
	mustCreate(t, s, newSeries("s_1", "a@example.com", "b@example.com"))

	// Concurrent first uses agree on one token.
	tokens := make([]string, 8)
	var wg sync.WaitGroup
	for i := range tokens {
		wg.Go(func() {
			var err error
			if tokens[i], err = s.FeedToken(ctx, "A@example.com"); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	token := tokens[0]
	for _, tok := range tokens {
		if tok != token {
			t.Fatalf("concurrent FeedToken calls returned %q and %q", token, tok)
		}
	}
	if len(token) != 43 || strings.ContainsAny(token, "+/=") {
		t.Errorf("token %q is not 32 bytes of URL-safe base64", token)
	}
	if again, _ := s.FeedToken(ctx, "a@example.com"); again != token {
		t.Errorf("second FeedToken = %q, want the first %q", again, token)
	}
	if other, _ := s.FeedToken(ctx, "b@example.com"); other == token || other == "" {
		t.Errorf("b's token %q equals a's", other)
	}
	if p, err := s.PersonByFeedToken(ctx, token); err != nil || p.Email != "a@example.com" {
		t.Errorf("PersonByFeedToken = %+v, %v", p, err)
	}

	rotated, err := s.RotateFeedToken(ctx, "a@example.com")
	if err != nil || rotated == token || len(rotated) != 43 {
		t.Fatalf("RotateFeedToken = %q, %v", rotated, err)
	}
	_, err = s.PersonByFeedToken(ctx, token)
	errorsIs(t, err, errs.ErrNotFound, "old token after rotation")
	if p, err := s.PersonByFeedToken(ctx, rotated); err != nil || p.Email != "a@example.com" {
		t.Errorf("PersonByFeedToken(rotated) = %+v, %v", p, err)
	}
	if cur, _ := s.FeedToken(ctx, "a@example.com"); cur != rotated {
		t.Errorf("FeedToken after rotation = %q, want %q", cur, rotated)
	}
	for _, bad := range []string{"", "x", rotated[:42], strings.ToUpper(rotated)} {
		if _, err := s.PersonByFeedToken(ctx, bad); !errors.Is(err, errs.ErrNotFound) {
			t.Errorf("PersonByFeedToken(%q) = %v, want not found", bad, err)
		}
	}
	if _, err := s.PersonByFeedToken(ctx, "x"); err != nil && strings.Contains(err.Error(), rotated) {
		t.Error("error contains a token")
	}
}

func testSeriesOf(t *testing.T, dsn string) {
	s := openStore(t, dsn)
	mustCreate(t, s, newSeries("s_2", "boss@example.com", "mid@example.com"))
	mustCreate(t, s, newSeries("s_1", "mid@example.com", "new@example.com"))
	mustCreate(t, s, newSeries("s_3", "boss@example.com", "other@example.com"))
	ids := func(email string) []string {
		got, err := s.SeriesOf(ctx, email)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, ser := range got {
			ids = append(ids, ser.ID)
		}
		return ids
	}
	for email, want := range map[string][]string{
		"MID@example.com":    {"s_1", "s_2"},
		"boss@example.com":   {"s_2", "s_3"},
		"new@example.com":    {"s_1"},
		"nobody@example.com": nil,
	} {
		if got := ids(email); !slices.Equal(got, want) {
			t.Errorf("SeriesOf(%s) = %v, want %v", email, got, want)
		}
	}
}

// Writers from many goroutines never fail with a lock error (SQLITE_BUSY).
func testConcurrentWriters(t *testing.T, dsn string) {
	s := openStore(t, dsn)
	const workers, each = 8, 10
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				id := fmt.Sprintf("s_%d_%d", w, i)
				ser := newSeries(id, fmt.Sprintf("m%d@example.com", w), fmt.Sprintf("r%d@example.com", i))
				if err := s.CreateSeries(ctx, ser); err != nil {
					t.Error(err)
					return
				}
				ser.Team = "t"
				if _, err := s.UpdateSeries(ctx, ser); err != nil {
					t.Error(err)
				}
				if _, err := s.ListSeries(ctx, calendar.ListOptions{Limit: 5}); err != nil {
					t.Error(err)
				}
				if err := s.PutOverride(ctx, calendar.Override{SeriesID: id, OriginalStart: time.Now(), Held: true}); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if n, err := s.CountSeries(ctx); err != nil || n != workers*each {
		t.Errorf("CountSeries = %d, %v; want %d", n, err, workers*each)
	}
}

func testMigrations(t *testing.T, dsn string) {
	s := openStore(t, dsn)
	mustCreate(t, s, newSeries("s_1", "a@example.com", "b@example.com"))
	latest := len(mustLoad(t, embeddedMigrations, s.Dialect()))
	if v, err := s.SchemaVersion(ctx); err != nil || v != latest {
		t.Fatalf("SchemaVersion = %d, %v; want %d", v, err, latest)
	}

	// Opening again applies nothing and keeps the data.
	again := openStore(t, dsn)
	if v, err := again.SchemaVersion(ctx); err != nil || v != latest {
		t.Errorf("SchemaVersion after reopening = %d, %v", v, err)
	}
	if _, err := again.GetSeries(ctx, "s_1"); err != nil {
		t.Errorf("series lost on reopening: %v", err)
	}
	var rows int
	if err := again.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_version`).Scan(&rows); err != nil || rows != latest {
		t.Errorf("schema_version has %d rows, %v; want %d", rows, err, latest)
	}

	// A later migration extends the schema; one that fails half-way
	// leaves neither its tables nor its version behind.
	extended := fstest.MapFS{}
	for _, m := range mustLoad(t, embeddedMigrations, s.Dialect()) {
		extended[fmt.Sprintf("migrations/%04d_%s.sql", m.version, m.name)] = &fstest.MapFile{Data: []byte(m.sql)}
	}
	broken := fmt.Sprintf("migrations/%04d_broken.sql", latest+1)
	extended[broken] = &fstest.MapFile{Data: []byte(`CREATE TABLE half (x BIGINT); INSERT INTO nowhere VALUES (1);`)}
	if err := s.migrate(ctx, extended); err == nil || !strings.Contains(err.Error(), "broken") {
		t.Errorf("broken migration: err = %v, want one naming it", err)
	}
	if v, _ := s.SchemaVersion(ctx); v != latest {
		t.Errorf("SchemaVersion after a failed migration = %d, want %d", v, latest)
	}
	if err := s.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM half`).Scan(&rows); err == nil {
		t.Error("table of the failed migration exists")
	}
	delete(extended, broken)
	extended[fmt.Sprintf("migrations/%04d_rooms.sql", latest+1)] = &fstest.MapFile{
		Data: []byte("CREATE TABLE rooms (id TEXT PRIMARY KEY);\nINSERT INTO rooms (id) VALUES ('r1');")}
	if err := s.migrate(ctx, extended); err != nil {
		t.Fatal(err)
	}
	if v, _ := s.SchemaVersion(ctx); v != latest+1 {
		t.Errorf("SchemaVersion = %d, want %d", v, latest+1)
	}
	if err := s.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM rooms`).Scan(&rows); err != nil || rows != 1 {
		t.Errorf("rooms has %d rows, %v", rows, err)
	}

	// This binary (which knows only `latest`) refuses the newer database.
	_, err := Open(ctx, dsn, nil)
	if err == nil || !strings.Contains(err.Error(), "newer than this binary") {
		t.Errorf("Open of a newer database: err = %v", err)
	}
}

func mustLoad(t *testing.T, fsys fs.FS, dialect string) []migration {
	t.Helper()
	ms, err := loadMigrations(fsys, dialect)
	if err != nil {
		t.Fatal(err)
	}
	return ms
}
