package calendar_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/oneonone/oneonone/calendar"
	"github.com/oneonone/oneonone/calendar/synctest"
	"github.com/oneonone/oneonone/internal/davtest"
)

// Run with -benchtime=1x for the initial sync (each iteration needs an
// empty calendar); the others take any -benchtime.
//
//	go test -run '^$' -bench 'Sync|ChangeToStatus' -benchtime=1x ./calendar/

// quiet gives e a reconciler that logs nothing: a benchmark's log lines
// would be printed.
func quiet(e *synctest.Env) {
	e.Rec = e.Reconciler(func(c *calendar.ReconcilerConfig) { c.Logger = nil })
}

func addSeries(b *testing.B, e *synctest.Env, n int) {
	b.Helper()
	quiet(e)
	for i := range n {
		e.AddSeries(fmt.Sprintf("s_%04d", i), fmt.Sprintf("m%04d@example.com", i), fmt.Sprintf("r%04d@example.com", i))
	}
}

func radicale(b testing.TB) synctest.Backend { return synctest.CalDAV(b, davtest.Radicale(b)) }

// BenchmarkInitialSync: the first round after 1,000 series were given a
// calendar.
func BenchmarkInitialSync(b *testing.B) {
	b.Run("radicale", func(b *testing.B) { benchInitialSync(b, radicale) })
	b.Run("googlefake", func(b *testing.B) { benchInitialSync(b, synctest.Google) })
}

func benchInitialSync(b *testing.B, newBackend func(testing.TB) synctest.Backend) {
	const n = 1000
	for range b.N {
		b.StopTimer()
		be := newBackend(b)
		e := synctest.NewEnv(b, be)
		addSeries(b, e, n)
		before := be.Requests()
		b.StartTimer()
		e.Sync()
		b.StopTimer()
		b.ReportMetric(float64(be.Requests()-before), "requests/op")
		if got := e.Count("s_0999"); got != 1 {
			b.Fatalf("last series: %d events", got)
		}
	}
}

// BenchmarkNoChangeSync: a round with nothing changed, for 100 and 1,000
// series in the calendar.
func BenchmarkNoChangeSync(b *testing.B) {
	for _, bk := range []struct {
		name string
		new  func(testing.TB) synctest.Backend
	}{{"radicale", radicale}, {"googlefake", synctest.Google}} {
		for _, n := range []int{100, 1000} {
			b.Run(fmt.Sprintf("%s/series=%d", bk.name, n), func(b *testing.B) { benchNoChange(b, bk.new, n) })
		}
	}
}

func benchNoChange(b *testing.B, newBackend func(testing.TB) synctest.Backend, n int) {
	be := newBackend(b)
	e := synctest.NewEnv(b, be)
	addSeries(b, e, n)
	e.Sync()
	e.Sync() // reads back our own writes
	before := be.Requests()
	b.ResetTimer()
	for range b.N {
		e.Sync()
	}
	b.StopTimer()
	b.ReportMetric(float64(be.Requests()-before)/float64(b.N), "requests/op")
}

// BenchmarkChangeToStatusRadicale: from a raw change on the server (one
// occurrence cancelled by another client) to the cancelled status in the
// store, through one round, with 100 series in the calendar.
func BenchmarkChangeToStatusRadicale(b *testing.B) {
	be := synctest.CalDAV(b, davtest.Radicale(b))
	e := synctest.NewEnv(b, be)
	addSeries(b, e, 100)
	e.Sync()
	e.Sync()
	ctx := context.Background()
	tokyo, _ := time.LoadLocation("Asia/Tokyo")
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		id := fmt.Sprintf("s_%04d", i%100)
		orig := time.Date(2026, 12, 1, 10, 0, 0, 0, tokyo).AddDate(0, 0, 7*(1+i/100))
		if err := be.Remote.CancelOccurrence(ctx, calendar.EventUID(id), orig); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		e.Sync()
		b.StopTimer()
		occ, _ := e.Occurrences(id)
		if o := occ[calendar.OccurrenceKey(orig)]; o.Status != calendar.StatusCancelled && orig.Month() == time.December {
			b.Fatalf("occurrence %v of %s = %s after one round, want cancelled", orig, id, o.Status)
		}
	}
}
