package store

import (
	"testing"

	"github.com/oneonone/oneonone/calendar"
)

// The iMIP notice record (0005) survives a round trip and an update, on
// both engines.
func TestSyncStateNotifiedSQLite(t *testing.T) { testSyncStateNotified(t, openStore(t, sqliteDSN(t))) }
func TestSyncStateNotifiedPostgres(t *testing.T) {
	testSyncStateNotified(t, openStore(t, postgresDSN(t)))
}

func testSyncStateNotified(t *testing.T, s *Store) {
	in := calendar.SyncState{CalendarID: "team", SeriesID: "s_1", UID: "s_1@oneonone", Sequence: 2,
		Remote: calendar.RemoteSynced}
	for _, n := range []calendar.Notice{
		{},
		{Kind: calendar.NotifyRequest, Sequence: 2},
		{Kind: calendar.NotifyCancel, Sequence: 3},
	} {
		in.Notified = n
		if err := s.PutSyncState(ctx, in); err != nil {
			t.Fatal(err)
		}
		got, err := s.SyncStates(ctx, "team")
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].Notified != n {
			t.Fatalf("Notified = %+v, want %+v", got, n)
		}
	}
}
