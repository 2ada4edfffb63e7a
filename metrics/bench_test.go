package metrics_test

import (
	"context"
	"database/sql"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	_ "modernc.org/sqlite" // the store's driver, for bulk seeding

	"github.com/oneonone/oneonone/metrics"
	"github.com/oneonone/oneonone/store"
)

// benchTeams is fixed, so every size has the same org units: the scrape's
// cost must follow them, not the number of series.
const benchTeams = 10

// seedBulk opens a store and inserts n weekly series over benchTeams teams
// and, for each, two decided occurrences (one held), in one transaction of
// plain SQL next to the store: n CreateSeries calls would take minutes.
func seedBulk(b *testing.B, n int, state string) (*store.Store, *sql.DB) {
	b.Helper()
	path := filepath.Join(b.TempDir(), "oneonone.db")
	st, err := store.Open(context.Background(), "sqlite:"+path, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	db, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	tx, err := db.Begin()
	if err != nil {
		b.Fatal(err)
	}
	created := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()
	exec := func(q string, args ...any) {
		if _, err := tx.Exec(q, args...); err != nil {
			b.Fatal(err)
		}
	}
	for i := range n {
		m, r := fmt.Sprintf("m%d@example.com", i/8), fmt.Sprintf("r%d@example.com", i)
		exec(`INSERT INTO people (email, created) VALUES ($1, $2) ON CONFLICT (email) DO NOTHING`, m, created)
		exec(`INSERT INTO people (email, created) VALUES ($1, $2)`, r, created)
		id, team := fmt.Sprintf("s_%06d", i), fmt.Sprintf("team%02d", i%benchTeams)
		exec(`INSERT INTO series (id, manager_email, report_email, start_local, timezone, cadence, duration_seconds,
			team, calendar, state, created, updated, version)
			VALUES ($1, $2, $3, '2027-02-01T10:00:00', 'UTC', 'weekly', 1800, $4, '', $5, $6, $6, 1)`,
			id, m, r, team, state, created)
		for w, status := range []string{"held", "missed"} {
			start := time.Date(2027, 2, 1+7*w, 10, 0, 0, 0, time.UTC)
			exec(`INSERT INTO occurrence_outcomes (series_id, original_start, status, held, org_unit, ended_at, decided_at)
				VALUES ($1, $2, $3, $4, $5, $6, $6)`, id, start.UnixNano(), status, status == "held", team,
				start.Add(30*time.Minute).UnixNano())
		}
		exec(`INSERT INTO series_last_held (series_id, ended_at) VALUES ($1, $2)`, id,
			time.Date(2027, 2, 1, 10, 30, 0, 0, time.UTC).UnixNano())
	}
	exec(`INSERT INTO outcome_totals (org_unit, status, n) SELECT org_unit, status, COUNT(*) FROM occurrence_outcomes GROUP BY org_unit, status`)
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	return st, db
}

// BenchmarkScrape measures one /metrics scrape (the full handler, Go and
// process collectors included) over the refreshed snapshot, and reports the
// response size; BenchmarkRefresh the background recompute behind it.
func BenchmarkScrape(b *testing.B) {
	for _, n := range []int{50, 5_000, 50_000} {
		b.Run(fmt.Sprintf("series=%d", n), func(b *testing.B) {
			st, _ := seedBulk(b, n, "active")
			m, err := metrics.New(metrics.Options{Store: st, Now: func() time.Time { return scenarioNow }})
			if err != nil {
				b.Fatal(err)
			}
			if err := m.Refresh(context.Background()); err != nil {
				b.Fatal(err)
			}
			h := m.Handler()
			var size int
			b.ResetTimer()
			for b.Loop() {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
				size = rec.Body.Len()
			}
			b.ReportMetric(float64(size), "bytes/scrape")
		})
	}
}

func BenchmarkRefresh(b *testing.B) {
	for _, n := range []int{50, 5_000, 50_000} {
		b.Run(fmt.Sprintf("series=%d", n), func(b *testing.B) {
			st, _ := seedBulk(b, n, "active")
			m, err := metrics.New(metrics.Options{Store: st, Now: func() time.Time { return scenarioNow }})
			if err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for b.Loop() {
				if err := m.Refresh(context.Background()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkRecompute1000StatusChanges: 1,000 weekly series; each iteration
// a week passes in which every one of their occurrences changed status (600
// held, 300 cancelled, 100 moved), and the time measured is what brings
// /metrics up to date: a finalizer pass deciding the 1,000 and a refresh.
func BenchmarkRecompute1000StatusChanges(b *testing.B) {
	const n = 1000
	st, db := seedBulk(b, n, "active")
	week0 := time.Date(2027, 2, 1, 10, 0, 0, 0, time.UTC)
	now := week0.Add(-time.Hour)
	clock := func() time.Time { return now }
	fin := metrics.NewFinalizer(st, metrics.FinalizerOptions{Now: clock})
	m, err := metrics.New(metrics.Options{Store: st, Now: clock})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if _, err := fin.Pass(ctx); err != nil { // sets the watermark
		b.Fatal(err)
	}
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		start := week0.AddDate(0, 0, 7*(i+2)) // after the seeded outcomes
		tx, err := db.Begin()
		if err != nil {
			b.Fatal(err)
		}
		for j := range n {
			var q string
			args := []any{fmt.Sprintf("s_%06d", j), start.UnixNano()}
			switch {
			case j%10 < 6:
				q = `INSERT INTO overrides (series_id, original_start, held, updated) VALUES ($1, $2, TRUE, $2)`
			case j%10 < 9:
				q = `INSERT INTO overrides (series_id, original_start, cancelled, cancelled_by, cancelled_at, updated)
					VALUES ($1, $2, TRUE, 'manager', $3, $3)`
				args = append(args, start.Add(-26*time.Hour).UnixNano())
			default:
				q = `INSERT INTO overrides (series_id, original_start, moved_start, moved_end, updated) VALUES ($1, $2, $3, $4, $2)`
				args = append(args, start.Add(2*time.Hour).UnixNano(), start.Add(150*time.Minute).UnixNano())
			}
			if _, err := tx.Exec(q, args...); err != nil {
				b.Fatal(err)
			}
		}
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
		now = start.Add(4 * time.Hour) // every one ended over an hour ago
		b.StartTimer()
		got, err := fin.Pass(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if err := m.Refresh(ctx); err != nil {
			b.Fatal(err)
		}
		if got != n {
			b.Fatalf("pass decided %d occurrences, want %d", got, n)
		}
	}
}
