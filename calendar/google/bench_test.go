package google_test

import (
	"context"
	"fmt"
	"testing"
)

// fill creates n series events through our provider.
func fill(b *testing.B, e env, n int) {
	b.Helper()
	ctx := context.Background()
	for i := range n {
		if _, err := e.p.PutEvent(ctx, seriesEvent(b, fmt.Sprintf("s_bench_%d@oneonone", i)), ""); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkNoChangePoll is a sync with nothing changed on a calendar of
// 100 and 1,000 series: the cost must stay one request, whatever the size.
//
//	go test -run XXX -bench NoChangePoll -benchtime 50x ./calendar/google/
func BenchmarkNoChangePoll(b *testing.B) {
	for _, n := range []int{100, 1000} {
		b.Run(fmt.Sprintf("events=%d", n), func(b *testing.B) {
			e := newEnv(b, nil)
			fill(b, e, n)
			ctx := context.Background()
			ch, err := e.p.Changes(ctx, "")
			if err != nil || len(ch.Updated) != n {
				b.Fatalf("full listing: %d events, %v", len(ch.Updated), err)
			}
			cur := ch.Cursor
			e.fake.ResetRequests()
			polls := 0
			for b.Loop() {
				ch, err := e.p.Changes(ctx, cur)
				if err != nil || len(ch.Updated) != 0 {
					b.Fatalf("poll: %d updated, %v", len(ch.Updated), err)
				}
				cur = ch.Cursor
				polls++
			}
			b.ReportMetric(float64(total(e.fake.Requests()))/float64(polls), "requests/poll")
		})
	}
}

// BenchmarkInitialSync creates 1,000 series in an empty calendar, then
// lists them once (the reconciler's first full sync).
//
//	go test -run XXX -bench InitialSync -benchtime 1x ./calendar/google/
func BenchmarkInitialSync(b *testing.B) {
	const n = 1000
	var creates, lists int
	runs := 0
	for b.Loop() {
		b.StopTimer()
		e := newEnv(b, nil)
		b.StartTimer()
		fill(b, e, n)
		if _, err := e.p.Changes(context.Background(), ""); err != nil {
			b.Fatal(err)
		}
		r := e.fake.Requests()
		creates += r["events.insert"]
		lists += r["events.list"]
		runs++
	}
	b.ReportMetric(float64(creates)/float64(runs), "inserts/op")
	b.ReportMetric(float64(lists)/float64(runs), "lists/op")
}
