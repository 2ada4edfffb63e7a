package metrics_test

import (
	"context"
	"flag"
	"path/filepath"
	"testing"
	"time"

	"github.com/oneonone/oneonone/calendar"
	"github.com/oneonone/oneonone/metrics"
	"github.com/oneonone/oneonone/store"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// scenarioNow is the scenario's fixed clock: Monday 2027-03-01 12:00 UTC.
var scenarioNow = time.Date(2027, 3, 1, 12, 0, 0, 0, time.UTC)

// week is the start of the weekly series' n-th occurrence (Mondays 10:00 UTC
// from 2027-02-01).
func week(n int) time.Time { return time.Date(2027, 2, 1, 10, 0, 0, 0, time.UTC).AddDate(0, 0, 7*n) }

func openStore(t testing.TB) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), "sqlite:"+filepath.Join(t.TempDir(), "oneonone.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func series(id, team, cadence string, start time.Time, state calendar.State) calendar.Series {
	return calendar.Series{
		ID: id, Manager: calendar.Person{Email: "m-" + id + "@example.com"}, Report: calendar.Person{Email: "r-" + id + "@example.com"},
		Start: start, Timezone: "UTC", Cadence: cadence, Duration: 30 * time.Minute, Team: team, State: state,
		Created: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC),
	}
}

// seedScenario stores the scripted scenario. By hand, as the finalizer
// decides it at scenarioNow (settle 1h: everything that ended by 11:00):
//
//	platform (3 weekly series, 5 occurrences each, Feb 1 … Mar 1)
//	  p1: held ×5
//	  p2: held, cancelled by the manager 2 days ahead, held,
//	      rescheduled to the next day and held, missed
//	  p3: held, then missed ×4 (last held Feb 1: overdue)
//	  → expected 15, held 5+3+1 = 9, adherence 0.6; held 8, cancelled 1,
//	    rescheduled 1, missed 5; overdue 1
//	mobile (2 active weekly series + 1 paused, which is not expected)
//	  m1: held, cancelled by the report 1 hour ahead, held ×3
//	  m2: held, held, rescheduled and not held, held, held
//	  → expected 10, held 4+4 = 8, adherence 0.8; held 8, cancelled 1,
//	    rescheduled 1; overdue 0
//	design (1 monthly series: fewer than 3, so "other")
//	  d1: Jan 5 held, Feb 2 cancelled by someone unknown at an unknown time
//	  → expected 2, held 1, adherence 0.5
func seedScenario(t testing.TB, st *store.Store) {
	t.Helper()
	c := context.Background()
	all := []calendar.Series{
		series("p1", "platform", "weekly", week(0), calendar.StateActive),
		series("p2", "platform", "weekly", week(0), calendar.StateActive),
		series("p3", "platform", "weekly", week(0), calendar.StateActive),
		series("m1", "mobile", "weekly", week(0), calendar.StateActive),
		series("m2", "mobile", "weekly", week(0), calendar.StateActive),
		series("m3", "mobile", "weekly", week(0), calendar.StatePaused),
		series("d1", "design", "monthly", time.Date(2027, 1, 5, 10, 0, 0, 0, time.UTC), calendar.StateActive),
	}
	for _, s := range all {
		if err := st.CreateSeries(c, s); err != nil {
			t.Fatal(err)
		}
	}
	held := func(id string, w int) calendar.Override {
		return calendar.Override{SeriesID: id, OriginalStart: week(w), Held: true, Updated: week(w)}
	}
	var overrides []calendar.Override
	for w := range 5 {
		overrides = append(overrides, held("p1", w))
	}
	overrides = append(overrides,
		held("p2", 0),
		calendar.Override{SeriesID: "p2", OriginalStart: week(1), Cancelled: true, CancelledBy: "manager", CancelledAt: week(1).Add(-48 * time.Hour)},
		held("p2", 2),
		calendar.Override{SeriesID: "p2", OriginalStart: week(3), Start: week(3).Add(24 * time.Hour), End: week(3).Add(24*time.Hour + 30*time.Minute), Held: true},
		held("p3", 0),
		held("m1", 0),
		calendar.Override{SeriesID: "m1", OriginalStart: week(1), Cancelled: true, CancelledBy: "report", CancelledAt: week(1).Add(-time.Hour)},
		held("m1", 2), held("m1", 3), held("m1", 4),
		held("m2", 0), held("m2", 1),
		calendar.Override{SeriesID: "m2", OriginalStart: week(2), Start: week(2).Add(24 * time.Hour), End: week(2).Add(24*time.Hour + 30*time.Minute)},
		held("m2", 3), held("m2", 4),
		held("m3", 0), // paused: not expected, not counted
		calendar.Override{SeriesID: "d1", OriginalStart: time.Date(2027, 1, 5, 10, 0, 0, 0, time.UTC), Held: true},
		calendar.Override{SeriesID: "d1", OriginalStart: time.Date(2027, 2, 2, 10, 0, 0, 0, time.UTC), Cancelled: true},
	)
	for _, o := range overrides {
		if err := st.PutOverride(c, o); err != nil {
			t.Fatal(err)
		}
	}
}

// scenarioMetrics runs the scenario: seeds the store, finalizes, feeds the
// event hooks and refreshes, all at scenarioNow.
func scenarioMetrics(t testing.TB, st *store.Store, perSeries bool) *metrics.Metrics {
	t.Helper()
	seedScenario(t, st)
	clock := func() time.Time { return scenarioNow }
	fin := metrics.NewFinalizer(st, metrics.FinalizerOptions{Now: clock})
	if n, err := fin.Pass(context.Background()); err != nil || n != 27 {
		t.Fatalf("finalizer pass = %d, %v; want 27 outcomes", n, err)
	}
	m, err := metrics.New(metrics.Options{
		Store: st, Version: "v1.2.3", PerSeries: perSeries, MaxPairs: 4, Now: clock,
		PairKey:   []byte("scenario key, fixed for the golden file"),
		Calendars: []metrics.Calendar{{ID: "team-caldav", Provider: "caldav"}, {ID: "workspace", Provider: "google"}},
		Rooms:     func() (int, int) { return 2, 3 },
		ActionItemsOpen: func(context.Context) (map[string]int, error) {
			return map[string]int{"platform": 4, "mobile": 1, "design": 2}, nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	m.ObserveSync("caldav", "team-caldav", 1500*time.Millisecond, "")
	m.ObserveSync("google", "workspace", 3*time.Second, "rate_limited")
	m.ObserveSync("google", "workspace", 2*time.Second, "")
	m.ObserveMeeting("platform", 28*time.Minute)
	m.ObserveMeeting("platform", 35*time.Minute)
	m.ObserveMeeting("mobile", 20*time.Minute)
	m.ObserveMeeting("design", 25*time.Minute) // "other"
	m.AgendaItemAdded("platform", "report")
	m.AgendaItemAdded("platform", "report")
	m.AgendaItemAdded("platform", "manager")
	m.AgendaItemAdded("mobile", "manager")
	m.AgendaItemAdded("mobile", "admin") // not a role: ignored
	return m
}
