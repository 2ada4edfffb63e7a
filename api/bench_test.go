package api

import (
	"fmt"
	"net/url"
	"testing"
)

// BenchmarkListSeries10kAPI pages through 10,000 series in SQLite with
// limit=1000: one op is the whole walk (10 requests).
func BenchmarkListSeries10kAPI(b *testing.B) {
	f := newFixture(b)
	const n = 10000
	for i := range n {
		f.storeSeries(fmt.Sprintf("m%05d@example.com", i), fmt.Sprintf("r%05d@example.com", i), fmt.Sprintf("team%d", i%20))
	}
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
		if seen != n {
			b.Fatalf("saw %d series, want %d", seen, n)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/series")
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
