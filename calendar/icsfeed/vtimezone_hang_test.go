package icsfeed

import (
	"testing"
	"time"
)

// TestZoneTransitionsFarFuture: ranges reaching past 2037 (the end of Go's
// zone tables, where rules take over) must end, and keep finding the
// yearly DST changes there.
func TestZoneTransitionsFarFuture(t *testing.T) {
	for _, name := range []string{"Europe/Berlin", "America/New_York", "Asia/Tokyo", "Australia/Sydney"} {
		loc, err := time.LoadLocation(name)
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan []transition, 1)
		go func() {
			done <- zoneTransitions(loc, time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2060, 1, 1, 0, 0, 0, 0, time.UTC))
		}()
		select {
		case trs := <-done:
			perYear := map[int]int{}
			for _, tr := range trs {
				perYear[tr.at.Year()]++
			}
			want := 2 // a change to summer time and one back, every year
			if name == "Asia/Tokyo" {
				want = 0
			}
			for y := 2031; y < 2060; y++ {
				if perYear[y] != want {
					t.Errorf("%s: %d transitions in %d, want %d", name, perYear[y], y, want)
				}
			}
			for i := 1; i < len(trs); i++ {
				if !trs[i].at.After(trs[i-1].at) {
					t.Errorf("%s: transition %d (%v) not after %v", name, i, trs[i].at, trs[i-1].at)
				}
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: zoneTransitions did not return within 10 s", name)
		}
	}
}
