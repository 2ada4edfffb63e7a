package calendar

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// benchSeries builds n normalised series with a realistic mix: mostly
// weekly and biweekly, some monthly and raw rules, in zones with and
// without DST, started up to two years before now.
func benchSeries(b *testing.B, n int, now time.Time) []Series {
	b.Helper()
	zones := []string{"Asia/Tokyo", "Asia/Tokyo", "America/New_York", "Europe/Berlin", "Europe/London", "America/Los_Angeles", "Asia/Kolkata", "Australia/Sydney"}
	cadences := []string{"weekly", "weekly", "weekly", "weekly", "biweekly", "biweekly", "biweekly", "monthly", "FREQ=WEEKLY;INTERVAL=3", "FREQ=MONTHLY;BYMONTHDAY=15"}
	locs := map[string]*time.Location{}
	for _, z := range zones {
		locs[z] = mustLoc(b, z)
	}
	rng := rand.New(rand.NewPCG(7, 7))
	out := make([]Series, 0, n)
	for i := 0; len(out) < n; i++ {
		z := zones[rng.IntN(len(zones))]
		c := cadences[rng.IntN(len(cadences))]
		d := now.In(locs[z]).AddDate(0, 0, -rng.IntN(730))
		if c == "FREQ=MONTHLY;BYMONTHDAY=15" {
			d = time.Date(d.Year(), d.Month(), 15, 0, 0, 0, 0, time.UTC)
		}
		s := Series{
			ID:       fmt.Sprintf("s_%06d", i),
			Manager:  Person{Email: fmt.Sprintf("m%d@example.com", i%500)},
			Report:   Person{Email: fmt.Sprintf("r%d@example.com", i)},
			Start:    time.Date(d.Year(), d.Month(), d.Day(), 9+rng.IntN(8), 30*rng.IntN(2), 0, 0, time.UTC),
			Timezone: z,
			Cadence:  c,
		}
		if err := s.Normalize(); err != nil {
			b.Fatal(err)
		}
		out = append(out, s)
	}
	return out
}

// BenchmarkOccurrences90Days10kSeries expands 90 days for 10,000 series:
// the work of one metrics or dashboard request.
func BenchmarkOccurrences90Days10kSeries(b *testing.B) {
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	all := benchSeries(b, 10000, now)
	from, to := now.AddDate(0, 0, -90), now
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		total := 0
		for _, s := range all {
			occ, err := s.Occurrences(from, to, nil, now)
			if err != nil {
				b.Fatal(err)
			}
			total += len(occ)
		}
		if total < 50000 {
			b.Fatalf("only %d occurrences", total)
		}
		b.ReportMetric(float64(total), "occurrences/op")
	}
}
