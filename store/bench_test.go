package store

import (
	"context"
	"database/sql"
	"fmt"
	"testing"
	"time"

	"github.com/oneonone/oneonone/calendar"
)

// BenchmarkListSeries10k pages through 10,000 series, 500 at a time.
func BenchmarkListSeries10k(b *testing.B) {
	for _, engine := range []struct {
		name string
		dsn  func(testing.TB) string
	}{{"sqlite", sqliteDSN}, {"postgres", postgresDSN}} {
		b.Run(engine.name, func(b *testing.B) {
			s, err := Open(context.Background(), engine.dsn(b), nil)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { s.Close() })
			const total = 10_000
			seedSeries(b, s, total)
			b.ResetTimer()
			for b.Loop() {
				n, opt := 0, calendar.ListOptions{Limit: 500}
				for {
					page, err := s.ListSeries(context.Background(), opt)
					if err != nil {
						b.Fatal(err)
					}
					if len(page) == 0 {
						break
					}
					n += len(page)
					opt.After = page[len(page)-1].ID
				}
				if n != total {
					b.Fatalf("paged through %d series, want %d", n, total)
				}
			}
		})
	}
}

// seedSeries inserts n series of 100 managers in one transaction, which is
// much faster than n CreateSeries calls.
func seedSeries(b *testing.B, s *Store, n int) {
	b.Helper()
	now := time.Now().UnixNano()
	err := s.inTx(context.Background(), func(tx *sql.Tx) error {
		for i := range n {
			for _, email := range []string{fmt.Sprintf("m%d@example.com", i%100), fmt.Sprintf("r%d@example.com", i)} {
				if _, err := tx.Exec(`INSERT INTO people (email, created) VALUES ($1, $2) ON CONFLICT (email) DO NOTHING`,
					email, now); err != nil {
					return err
				}
			}
			if _, err := tx.Exec(`INSERT INTO series (id, manager_email, report_email, start_local, timezone,
				cadence, duration_seconds, team, calendar, state, created, updated, version)
				VALUES ($1, $2, $3, '2026-12-01T10:00:00', 'Asia/Tokyo', 'weekly', 1800, $4, '', 'active', $5, $5, 1)`,
				fmt.Sprintf("s_%06d", i), fmt.Sprintf("m%d@example.com", i%100), fmt.Sprintf("r%d@example.com", i),
				fmt.Sprintf("team%d", i%10), now); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
}
