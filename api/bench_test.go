package api

import (
	"context"
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/oneonone/oneonone/calendar"
	"github.com/oneonone/oneonone/internal/pgtest"
)

// engines are the stores every benchmark runs on, so their figures can be
// compared side by side (benchstat groups by the sub-benchmark name).
var engines = []struct {
	name string
	dsn  func(b *testing.B) string
}{
	{"sqlite", func(b *testing.B) string { return "sqlite:" + b.TempDir() + "/db" }},
	{"postgres", func(b *testing.B) string { return pgtest.DSN(b) }},
}

// seed10k stores 10,000 series over 20 teams and returns the fixture.
func seed10k(b *testing.B, dsn string) *fixture {
	f := newFixtureDSN(b, dsn)
	for i := range 10000 {
		f.storeSeries(fmt.Sprintf("m%05d@example.com", i), fmt.Sprintf("r%05d@example.com", i), fmt.Sprintf("team%d", i%20))
	}
	return f
}

// BenchmarkListSeries10kAPI pages through 10,000 series with limit=1000:
// one op is the whole walk (10 requests), JSON decoding included.
func BenchmarkListSeries10kAPI(b *testing.B) {
	for _, e := range engines {
		b.Run(e.name, func(b *testing.B) {
			f := seed10k(b, e.dsn(b))
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				seen, cursor := 0, ""
				for {
					path := "/api/v1/series?limit=1000"
					if cursor != "" {
						path += "&cursor=" + url.QueryEscape(cursor)
					}
					res := f.do("GET", path, nil)
					if res.Code != 200 {
						b.Fatalf("%d %s", res.Code, res.Body)
					}
					var l seriesList
					res.json(b, &l)
					seen += len(l.Series)
					if l.NextCursor == "" {
						break
					}
					cursor = l.NextCursor
				}
				if seen != 10000 {
					b.Fatalf("saw %d series, want 10000", seen)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/10000, "ns/series")
		})
	}
}

// BenchmarkExpand90Days10kSeries loads 10,000 series and their overrides
// from the store and expands the next 90 days of each: what a daily pass
// over the whole organisation costs, reads included.
func BenchmarkExpand90Days10kSeries(b *testing.B) {
	for _, e := range engines {
		b.Run(e.name, func(b *testing.B) {
			f := seed10k(b, e.dsn(b))
			ctx := context.Background()
			from := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
			to := from.AddDate(0, 0, 90)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				all, err := f.store.ListSeries(ctx, calendar.ListOptions{})
				if err != nil {
					b.Fatal(err)
				}
				ovs, err := f.store.OverridesBetween(ctx, from, to)
				if err != nil {
					b.Fatal(err)
				}
				bySeries := map[string][]calendar.Override{}
				for _, o := range ovs {
					bySeries[o.SeriesID] = append(bySeries[o.SeriesID], o)
				}
				n := 0
				for _, s := range all {
					occ, err := s.Occurrences(from, to, bySeries[s.ID], testNow)
					if err != nil {
						b.Fatal(err)
					}
					n += len(occ)
				}
				if n != 10000*13 {
					b.Fatalf("expanded %d occurrences, want %d", n, 10000*13)
				}
			}
		})
	}
}

// BenchmarkOccurrencesAPI expands a weekly series over the default 90 days
// and over the maximum two years, through the HTTP handler.
func BenchmarkOccurrencesAPI(b *testing.B) {
	f := newFixture(b)
	s := f.create(seriesBody("aiko@example.com", "ren@example.com"))
	for _, bc := range []struct{ name, query string }{
		{"90d", "from=2026-12-01&to=2027-03-01"},
		{"2y", "from=2026-12-01&to=2028-12-01"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				res := f.do("GET", "/api/v1/series/"+s.ID+"/occurrences?"+bc.query, nil)
				if res.Code != 200 {
					b.Fatalf("%d %s", res.Code, res.Body)
				}
			}
		})
	}
}
