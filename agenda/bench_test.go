package agenda_test

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/oneonone/oneonone/agenda"
)

// BenchmarkApply measures one writer's edits on SQLite, each committed
// (WAL, synchronous=NORMAL) before Apply returns.
func BenchmarkApply(b *testing.B) {
	f := newFixture(b)
	it := f.add(b, ren, occ0, "t_1", topic("topic"))
	version := it.Version
	n := 0
	b.ResetTimer()
	for b.Loop() {
		n++
		res, err := f.svc.Apply(ctx, ren, "s_1", occ0, agenda.Op{ID: fmt.Sprintf("op%d", n), Kind: agenda.OpEdit,
			Item: "t_1", Field: agenda.FieldText, Value: fmt.Sprintf("text %d", n), BaseVersion: version})
		if err != nil || res.Status != agenda.StatusApplied {
			b.Fatalf("%+v %v", res, err)
		}
		version = res.Item.Version
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
}

// BenchmarkApplyTwoWriters has the pair edit their own items at once, as
// in a room, and reports the p50 and p99 latency of Apply.
func BenchmarkApplyTwoWriters(b *testing.B) {
	f := newFixture(b)
	f.add(b, ren, occ0, "t_ren", topic("Ren's"))
	f.add(b, aiko, occ0, "t_aiko", topic("Aiko's"))
	var (
		mu   sync.Mutex
		lats []time.Duration
		wg   sync.WaitGroup
	)
	b.ResetTimer()
	start := time.Now()
	for w, actor := range []agenda.Actor{ren, aiko} {
		item := []string{"t_ren", "t_aiko"}[w]
		wg.Go(func() {
			version := int64(1)
			local := make([]time.Duration, 0, b.N/2+1)
			for i := range (b.N + 1 - w) / 2 {
				t0 := time.Now()
				res, err := f.svc.Apply(ctx, actor, "s_1", occ0, agenda.Op{ID: fmt.Sprintf("w%d-%d", w, i),
					Kind: agenda.OpEdit, Item: item, Field: agenda.FieldText, Value: fmt.Sprintf("text %d", i), BaseVersion: version})
				local = append(local, time.Since(t0))
				if err != nil || res.Status != agenda.StatusApplied {
					b.Errorf("%+v %v", res, err)
					return
				}
				version = res.Item.Version
			}
			mu.Lock()
			lats = append(lats, local...)
			mu.Unlock()
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	slices.Sort(lats)
	if len(lats) == 0 {
		return
	}
	q := func(p float64) float64 { return float64(lats[int(p*float64(len(lats)-1))].Microseconds()) }
	b.ReportMetric(float64(len(lats))/elapsed.Seconds(), "ops/s")
	b.ReportMetric(q(0.5), "p50-µs")
	b.ReportMetric(q(0.99), "p99-µs")
}
