package store

import (
	"slices"
	"testing"
	"time"

	"github.com/oneonone/oneonone/calendar"
)

func TestSyncStateSQLite(t *testing.T)   { runSyncSuite(t, sqliteDSN) }
func TestSyncStatePostgres(t *testing.T) { runSyncSuite(t, postgresDSN) }

func runSyncSuite(t *testing.T, newDSN func(t testing.TB) string) {
	tests := []struct {
		name string
		run  func(t *testing.T, s *Store)
	}{
		{"SeriesStateRoundTrip", testSyncStateRoundTrip},
		{"SeriesStateOutlivesSeries", testSyncStateOutlivesSeries},
		{"UIDUniquePerCalendar", testSyncStateUIDUnique},
		{"CalendarState", testCalendarSync},
		{"DetachedSeriesState", testDetachedSeriesState},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.run(t, openStore(t, newDSN(t))) })
	}
}

func testSyncStateRoundTrip(t *testing.T, s *Store) {
	tokyo, _ := time.LoadLocation("Asia/Tokyo")
	in := calendar.SyncState{
		CalendarID: "team", SeriesID: "s_1", UID: "s_1@oneonone", Href: "/aiko/1on1/s_1@oneonone.ics",
		Seen: `"abc"/1f2e`, Sequence: 3, WrittenVersion: 7,
		WrittenStart: time.Date(2026, 12, 1, 10, 0, 0, 0, tokyo), WrittenRule: "FREQ=WEEKLY;BYDAY=TU",
		WrittenDuration: 30 * time.Minute, Remote: calendar.RemoteSynced,
		RemoteKeys: []string{"20261208T010000Z", "20261215T010000Z"}, LastError: "",
		Updated: time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC),
	}
	if err := s.PutSyncState(ctx, in); err != nil {
		t.Fatal(err)
	}
	// A second calendar's state is not listed with the first.
	if err := s.PutSyncState(ctx, calendar.SyncState{CalendarID: "other", SeriesID: "s_1", UID: "s_1@oneonone"}); err != nil {
		t.Fatal(err)
	}
	got, err := s.SyncStates(ctx, "team")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 {
		t.Fatalf("SyncStates = %d states, want 1", len(got))
	}
	g := got[0]
	if g.CalendarID != in.CalendarID || g.SeriesID != in.SeriesID || g.UID != in.UID || g.Href != in.Href ||
		g.Seen != in.Seen || g.Sequence != in.Sequence || g.WrittenVersion != in.WrittenVersion ||
		!g.WrittenStart.Equal(in.WrittenStart) || g.WrittenRule != in.WrittenRule ||
		g.WrittenDuration != in.WrittenDuration || g.Remote != in.Remote || !slices.Equal(g.RemoteKeys, in.RemoteKeys) ||
		!g.Updated.Equal(in.Updated) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", g, in)
	}
	// Replace: fields become what the new value says.
	in.Href, in.Seen, in.RemoteKeys, in.LastError, in.Remote = "", "", nil, "caldav: rejected (HTTP 403)", calendar.RemotePending
	in.WrittenStart = time.Time{}
	if err := s.PutSyncState(ctx, in); err != nil {
		t.Fatal(err)
	}
	got, _ = s.SyncStates(ctx, "team")
	if g := got[0]; g.Href != "" || g.RemoteKeys != nil || g.LastError != in.LastError || g.Remote != calendar.RemotePending || !g.WrittenStart.IsZero() {
		t.Fatalf("after replace: %+v", g)
	}
	if err := s.DeleteSyncState(ctx, "team", "s_1"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteSyncState(ctx, "team", "s_1"); err != nil {
		t.Fatalf("deleting twice: %v", err)
	}
	if got, _ := s.SyncStates(ctx, "team"); len(got) != 0 {
		t.Fatalf("after delete: %v", got)
	}
	if err := s.PutSyncState(ctx, calendar.SyncState{CalendarID: "team", SeriesID: "s_2"}); err == nil {
		t.Fatal("a state without UID was stored")
	}
}

// The reconciler must still find the event of a removed series to delete it.
func testSyncStateOutlivesSeries(t *testing.T, s *Store) {
	mustCreate(t, s, newSeries("s_1", "aiko@example.com", "ren@example.com"))
	if err := s.PutSyncState(ctx, calendar.SyncState{CalendarID: "team", SeriesID: "s_1", UID: "s_1@oneonone", Href: "/x.ics"}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteSeries(ctx, "s_1"); err != nil {
		t.Fatal(err)
	}
	got, err := s.SyncStates(ctx, "team")
	if err != nil || len(got) != 1 || got[0].Href != "/x.ics" {
		t.Fatalf("SyncStates after DeleteSeries = %v, %v; want the state kept", got, err)
	}
}

func testSyncStateUIDUnique(t *testing.T, s *Store) {
	if err := s.PutSyncState(ctx, calendar.SyncState{CalendarID: "team", SeriesID: "s_1", UID: "u@oneonone"}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutSyncState(ctx, calendar.SyncState{CalendarID: "team", SeriesID: "s_2", UID: "u@oneonone"}); err == nil {
		t.Fatal("two series of one calendar share a UID")
	}
	if err := s.PutSyncState(ctx, calendar.SyncState{CalendarID: "other", SeriesID: "s_2", UID: "u@oneonone"}); err != nil {
		t.Fatalf("the same UID in another calendar: %v", err)
	}
}

func testCalendarSync(t *testing.T, s *Store) {
	cs, err := s.CalendarSync(ctx, "team")
	if err != nil {
		t.Fatal(err)
	}
	if cs != (calendar.CalendarSync{CalendarID: "team"}) {
		t.Fatalf("never synced = %+v, want the zero state", cs)
	}
	in := calendar.CalendarSync{CalendarID: "team", Cursor: "tok-1",
		LastAttempt: time.Unix(100, 5).UTC(), LastSuccess: time.Unix(90, 0).UTC(), LastError: "caldav: unauthorized",
		NeedsReauth: true, Updated: time.Unix(100, 5).UTC()}
	if err := s.PutCalendarSync(ctx, in); err != nil {
		t.Fatal(err)
	}
	if cs, err = s.CalendarSync(ctx, "team"); err != nil || cs != in {
		t.Fatalf("CalendarSync = %+v, %v; want %+v", cs, err, in)
	}
	in.Cursor, in.NeedsReauth, in.LastError = "tok-2", false, ""
	if err := s.PutCalendarSync(ctx, in); err != nil {
		t.Fatal(err)
	}
	if cs, _ = s.CalendarSync(ctx, "team"); cs != in {
		t.Fatalf("after replace = %+v, want %+v", cs, in)
	}
}

// A detached series is stored and read back as such (the state column is
// free text for the store; the domain decides what is valid).
func testDetachedSeriesState(t *testing.T, s *Store) {
	in := newSeries("s_1", "aiko@example.com", "ren@example.com")
	mustCreate(t, s, in)
	got, _ := s.GetSeries(ctx, "s_1")
	got.State = calendar.StateDetached
	out, err := s.UpdateSeries(ctx, got)
	if err != nil || out.State != calendar.StateDetached {
		t.Fatalf("UpdateSeries(detached) = %v, %v", out.State, err)
	}
}
