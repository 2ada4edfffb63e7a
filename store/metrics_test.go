package store

import (
	"bytes"
	"context"
	"sync"
	"testing"
	"time"

	"github.com/oneonone/oneonone/calendar"
	"github.com/oneonone/oneonone/metrics"
)

func TestMetricsSQLite(t *testing.T)   { runMetricsSuite(t, sqliteDSN) }
func TestMetricsPostgres(t *testing.T) { runMetricsSuite(t, postgresDSN) }

func runMetricsSuite(t *testing.T, newDSN func(testing.TB) string) {
	tests := []struct {
		name string
		run  func(t *testing.T, s *Store)
	}{
		{"RecordOutcomesCountsOnce", testRecordOutcomesCountsOnce},
		{"RecordOutcomesConcurrently", testRecordOutcomesConcurrently},
		{"Watermark", testFinalizerWatermark},
		{"MetricsKey", testMetricsKey},
		{"MetricsOverrides", testMetricsOverrides},
		{"EachActiveSeries", testEachActiveSeries},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.run(t, openStore(t, newDSN(t))) })
	}
}

var metricsT0 = time.Date(2027, 2, 1, 10, 0, 0, 0, time.UTC)

func outcome(series string, week int, st calendar.Status, team string) metrics.Outcome {
	start := metricsT0.AddDate(0, 0, 7*week)
	o := metrics.Outcome{SeriesID: series, OriginalStart: start, Status: st, Team: team,
		Held: st == calendar.StatusHeld, End: start.Add(30 * time.Minute), DecidedAt: start.Add(2 * time.Hour)}
	if st == calendar.StatusCancelled {
		notice := 48 * time.Hour
		o.CancelledBy, o.Notice, o.NoticeBucket = "manager", &notice, 172800
	}
	return o
}

func testRecordOutcomesCountsOnce(t *testing.T, s *Store) {
	c := context.Background()
	batch := []metrics.Outcome{
		outcome("s_1", 0, calendar.StatusHeld, "platform"),
		outcome("s_1", 1, calendar.StatusCancelled, "platform"),
		outcome("s_1", 2, calendar.StatusMissed, "platform"),
		outcome("s_2", 0, calendar.StatusHeld, "mobile"),
	}
	for i, want := range []int{4, 0} {
		n, err := s.RecordOutcomes(c, batch)
		if err != nil || n != want {
			t.Fatalf("RecordOutcomes #%d = %d, %v; want %d new", i+1, n, err, want)
		}
	}
	// A different decision for a recorded occurrence changes nothing.
	changed := outcome("s_1", 2, calendar.StatusHeld, "platform")
	if n, err := s.RecordOutcomes(c, []metrics.Outcome{changed}); err != nil || n != 0 {
		t.Fatalf("re-deciding = %d, %v; want 0", n, err)
	}
	a, err := s.MetricsAggregates(c, metricsT0, metricsT0.AddDate(0, 0, 14))
	if err != nil {
		t.Fatal(err)
	}
	totals := map[[2]string]int64{}
	for _, o := range a.Outcomes {
		totals[[2]string{o.Team, o.Status}] = o.N
	}
	want := map[[2]string]int64{{"platform", "held"}: 1, {"platform", "cancelled"}: 1, {"platform", "missed"}: 1, {"mobile", "held"}: 1}
	if len(totals) != len(want) {
		t.Errorf("outcome totals = %v, want %v", totals, want)
	}
	for k, v := range want {
		if totals[k] != v {
			t.Errorf("outcome total %v = %d, want %d", k, totals[k], v)
		}
	}
	// The window [week 0, week 2) holds weeks 0 and 1 only.
	window := map[string]metrics.WindowCount{}
	for _, w := range a.Window {
		window[w.Team] = w
	}
	if w := window["platform"]; w.Expected != 2 || w.Held != 1 {
		t.Errorf("platform window = %+v, want 2 expected, 1 held", w)
	}
	if len(a.NoticeBuckets) != 1 || a.NoticeBuckets[0] != (metrics.NoticeBucket{Team: "platform", CancelledBy: "manager", LeSeconds: 172800, N: 1}) {
		t.Errorf("notice buckets = %+v", a.NoticeBuckets)
	}
	if len(a.NoticeTotals) != 1 || a.NoticeTotals[0] != (metrics.NoticeTotal{Team: "platform", CancelledBy: "manager", N: 1, SumSeconds: 172800}) {
		t.Errorf("notice totals = %+v", a.NoticeTotals)
	}
}

// Two daemons deciding the same occurrences at once count each once.
func testRecordOutcomesConcurrently(t *testing.T, s *Store) {
	c := context.Background()
	var batch []metrics.Outcome
	for w := range 20 {
		batch = append(batch, outcome("s_1", w, calendar.StatusHeld, "platform"))
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		total int
	)
	for range 4 {
		wg.Go(func() {
			n, err := s.RecordOutcomes(c, batch)
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			total += n
			mu.Unlock()
		})
	}
	wg.Wait()
	if total != len(batch) {
		t.Errorf("4 concurrent recorders inserted %d outcomes, want %d", total, len(batch))
	}
	a, err := s.MetricsAggregates(c, time.Time{}, metricsT0.AddDate(1, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Outcomes) != 1 || a.Outcomes[0].N != int64(len(batch)) {
		t.Errorf("outcome totals = %+v, want platform/held = %d", a.Outcomes, len(batch))
	}
}

func testFinalizerWatermark(t *testing.T, s *Store) {
	c := context.Background()
	if _, ok, err := s.FinalizerWatermark(c); err != nil || ok {
		t.Fatalf("fresh watermark: ok=%v err=%v, want none", ok, err)
	}
	for _, step := range []struct{ advance, want time.Time }{
		{metricsT0, metricsT0},
		{metricsT0.Add(time.Hour), metricsT0.Add(time.Hour)},
		{metricsT0, metricsT0.Add(time.Hour)}, // never backwards
	} {
		if err := s.AdvanceFinalizerWatermark(c, step.advance); err != nil {
			t.Fatal(err)
		}
		got, ok, err := s.FinalizerWatermark(c)
		if err != nil || !ok || !got.Equal(step.want) {
			t.Errorf("after advancing to %v: watermark %v (ok=%v, err=%v), want %v", step.advance, got, ok, err, step.want)
		}
	}
}

func testMetricsKey(t *testing.T, s *Store) {
	c := context.Background()
	k1, err := s.MetricsKey(c)
	if err != nil {
		t.Fatal(err)
	}
	k2, err := s.MetricsKey(c)
	if err != nil {
		t.Fatal(err)
	}
	if len(k1) != pairKeyBytes || !bytes.Equal(k1, k2) {
		t.Errorf("MetricsKey gave %x then %x, want the same %d bytes", k1, k2, pairKeyBytes)
	}
}

func testMetricsOverrides(t *testing.T, s *Store) {
	c := context.Background()
	mustCreate(t, s, newSeries("s_1", "a@example.com", "b@example.com"))
	mustCreate(t, s, newSeries("s_2", "a@example.com", "c@example.com"))
	in := metricsT0
	movedIn := calendar.Override{SeriesID: "s_2", OriginalStart: metricsT0.AddDate(0, 0, -30),
		Start: metricsT0.Add(time.Hour), End: metricsT0.Add(90 * time.Minute)}
	outside := calendar.Override{SeriesID: "s_1", OriginalStart: metricsT0.AddDate(0, 0, 7), Held: true}
	for _, o := range []calendar.Override{{SeriesID: "s_1", OriginalStart: in, Held: true}, movedIn, outside} {
		if err := s.PutOverride(c, o); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.MetricsOverrides(c, metricsT0, metricsT0.AddDate(0, 0, 1))
	if err != nil {
		t.Fatal(err)
	}
	if len(got["s_1"]) != 1 || !got["s_1"][0].OriginalStart.Equal(in) || len(got["s_2"]) != 1 || !got["s_2"][0].Moved() {
		t.Errorf("MetricsOverrides = %+v, want s_1's override by original start and s_2's by moved end", got)
	}
}

func testEachActiveSeries(t *testing.T, s *Store) {
	c := context.Background()
	mustCreate(t, s, newSeries("s_1", "a@example.com", "b@example.com"))
	paused := newSeries("s_2", "a@example.com", "c@example.com")
	paused.State = calendar.StatePaused
	mustCreate(t, s, paused)
	held := outcome("s_1", 0, calendar.StatusHeld, "")
	later := outcome("s_1", 1, calendar.StatusHeld, "")
	if _, err := s.RecordOutcomes(c, []metrics.Outcome{later, held}); err != nil {
		t.Fatal(err)
	}
	var got []metrics.SeriesActivity
	if err := s.EachActiveSeries(c, func(a metrics.SeriesActivity) error { got = append(got, a); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].SeriesID != "s_1" || !got[0].LastHeld.Equal(later.End) ||
		!got[0].Start.Equal(newSeries("s_1", "", "").Start) || got[0].Cadence != calendar.CadenceWeekly {
		t.Errorf("EachActiveSeries = %+v, want only s_1, last held %v", got, later.End)
	}
}
