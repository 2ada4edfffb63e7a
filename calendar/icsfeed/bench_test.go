package icsfeed

import (
	"fmt"
	"io"
	"testing"

	"github.com/oneonone/oneonone/calendar"
)

// BenchmarkICSFeedWrite renders the feed of a manager of 40 reports across
// three zones, each series with a cancelled and a moved occurrence.
func BenchmarkICSFeedWrite(b *testing.B) {
	zones := []string{"Asia/Tokyo", "America/New_York", "Europe/Berlin"}
	cadences := []string{"weekly", "biweekly", "monthly"}
	owner := calendar.Person{Email: "aiko@example.com", Name: "Aiko", Timezone: "Asia/Tokyo"}
	var entries []Entry
	for i := range 40 {
		tz := zones[i%len(zones)]
		s := mustSeries(b, fmt.Sprintf("s_%04d", i), tz, fmt.Sprintf("2026-12-%02dT10:00", 1+i%28), cadences[i%len(cadences)],
			owner, calendar.Person{Email: fmt.Sprintf("r%d@example.com", i), Name: fmt.Sprintf("Report %d", i)})
		occ, err := s.Occurrences(s.Start, s.Start.AddDate(0, 4, 0), nil, feedNow)
		if err != nil || len(occ) < 3 {
			b.Fatal(err, len(occ))
		}
		entries = append(entries, Entry{Series: s, RoomURL: "http://localhost:8080/r/" + s.ID, Overrides: []calendar.Override{
			{OriginalStart: occ[1].OriginalStart, Cancelled: true},
			{OriginalStart: occ[2].OriginalStart, Start: occ[2].Start.Add(26 * 60 * 60 * 1e9), End: occ[2].End.Add(26 * 60 * 60 * 1e9)},
		}})
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if err := Write(io.Discard, owner, entries, feedNow); err != nil {
			b.Fatal(err)
		}
	}
}
