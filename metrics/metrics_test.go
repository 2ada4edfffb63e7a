package metrics_test

import (
	"bytes"
	"context"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/expfmt"

	"github.com/oneonone/oneonone/calendar"
	"github.com/oneonone/oneonone/metrics"
)

// tool finds an external program; without it the test fails in CI and
// skips loudly elsewhere.
func tool(t testing.TB, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err == nil {
		return path
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s is not installed; CI must have it (Debian package prometheus; make test-deps installs it)", name)
	}
	t.Skipf("SKIPPING: %s is not installed (Debian package prometheus). In CI (CI set) this test fails instead.", name)
	return ""
}

var goversion = regexp.MustCompile(`goversion="[^"]*"`)

// appText renders the application's metrics (no Go or process collectors)
// in the text format, with the Go version normalised.
func appText(t testing.TB, m *metrics.Metrics) []byte {
	t.Helper()
	mfs, err := m.AppGatherer().Gather()
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	enc := expfmt.NewEncoder(&buf, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, mf := range mfs {
		if err := enc.Encode(mf); err != nil {
			t.Fatal(err)
		}
	}
	return goversion.ReplaceAll(buf.Bytes(), []byte(`goversion="GOVERSION"`))
}

func TestGoldenScrape(t *testing.T) {
	m := scenarioMetrics(t, openStore(t), true)
	got := appText(t, m)
	golden := filepath.Join("testdata", "scenario.metrics.golden")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./metrics -run TestGoldenScrape -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("/metrics differs from %s (rerun with -update after checking):\n%s", golden, lineDiff(string(want), string(got)))
	}
}

func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for i := 0; i < max(len(w), len(g)); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			b.WriteString("-" + wl + "\n+" + gl + "\n")
		}
	}
	return b.String()
}

// The values the scenario's comment computes by hand.
func TestScenarioValues(t *testing.T) {
	m := scenarioMetrics(t, openStore(t), false)
	mfs, err := m.AppGatherer().Gather()
	if err != nil {
		t.Fatal(err)
	}
	values := map[string]float64{}
	for _, mf := range mfs {
		for _, mt := range mf.GetMetric() {
			var labels []string
			for _, l := range mt.GetLabel() {
				labels = append(labels, l.GetName()+"="+l.GetValue())
			}
			key := mf.GetName() + "{" + strings.Join(labels, ",") + "}"
			switch {
			case mt.Gauge != nil:
				values[key] = mt.GetGauge().GetValue()
			case mt.Counter != nil:
				values[key] = mt.GetCounter().GetValue()
			case mt.Histogram != nil:
				values[key] = float64(mt.GetHistogram().GetSampleCount())
			}
		}
	}
	tests := []struct {
		key  string
		want float64
	}{
		{"oneonone_cadence_adherence_ratio{org_unit=platform}", 0.6},
		{"oneonone_cadence_adherence_ratio{org_unit=mobile}", 0.8},
		{"oneonone_cadence_adherence_ratio{org_unit=other}", 0.5},
		{"oneonone_window_occurrences_expected{org_unit=platform}", 15},
		{"oneonone_window_occurrences_held{org_unit=platform}", 9},
		{"oneonone_occurrences_total{org_unit=platform,status=held}", 8},
		{"oneonone_occurrences_total{org_unit=platform,status=cancelled}", 1},
		{"oneonone_occurrences_total{org_unit=platform,status=rescheduled}", 1},
		{"oneonone_occurrences_total{org_unit=platform,status=missed}", 5},
		{"oneonone_occurrences_total{org_unit=mobile,status=held}", 8},
		{"oneonone_occurrences_total{org_unit=mobile,status=missed}", 0},
		{"oneonone_occurrences_total{org_unit=other,status=cancelled}", 1},
		{"oneonone_series_overdue{org_unit=platform}", 1},
		{"oneonone_series_overdue{org_unit=mobile}", 0},
		{"oneonone_series{cadence=weekly,org_unit=mobile,state=paused}", 1},
		{"oneonone_series{cadence=monthly,org_unit=other,state=active}", 1},
		{"oneonone_cancellation_notice_seconds{by=manager,org_unit=platform}", 1},
		{"oneonone_cancellation_notice_seconds{by=report,org_unit=mobile}", 1},
		{"oneonone_cancellation_notice_seconds{by=unknown,org_unit=other}", 0}, // no known time
		{"oneonone_action_items_open{org_unit=other}", 2},
		{"oneonone_meeting_duration_seconds{org_unit=other}", 1},
		{"oneonone_agenda_items_added_total{author_role=report,org_unit=platform}", 2},
		{"oneonone_agenda_items_added_total{author_role=manager,org_unit=mobile}", 1},
		{"oneonone_calendar_sync_errors_total{provider=google,reason=rate_limited}", 1},
		{"oneonone_calendar_last_success_timestamp_seconds{calendar=workspace}", float64(scenarioNow.Unix())},
		{"oneonone_rooms_active{}", 2},
		{"oneonone_room_participants{}", 3},
	}
	for _, tt := range tests {
		got, ok := values[tt.key]
		if !ok || math.Abs(got-tt.want) > 1e-9 {
			t.Errorf("%s = %v (present %v), want %v", tt.key, got, ok, tt.want)
		}
	}
	for key := range values {
		if strings.Contains(key, "design") || strings.Contains(key, "@") || strings.Contains(key, "p1") {
			t.Errorf("%s: a unit below the minimum, a person or a series id leaks into a label", key)
		}
	}
}

// An occurrence is counted once, whether one finalizer passes twice, the
// daemon restarts, or two daemons pass at the same time.
func TestFinalizerCountsOnce(t *testing.T) {
	st := openStore(t)
	seedScenario(t, st)
	clock := func() time.Time { return scenarioNow }
	a := metrics.NewFinalizer(st, metrics.FinalizerOptions{Now: clock})
	b := metrics.NewFinalizer(st, metrics.FinalizerOptions{Now: clock})
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		counts []int
	)
	for _, f := range []*metrics.Finalizer{a, b, a, b} {
		wg.Go(func() {
			n, err := f.Pass(context.Background())
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			counts = append(counts, n)
			mu.Unlock()
		})
	}
	wg.Wait()
	total := 0
	for _, n := range counts {
		total += n
	}
	if total != 27 {
		t.Errorf("4 concurrent passes recorded %v = %d outcomes, want 27 in all", counts, total)
	}
	// A "restarted" daemon an hour later decides only what ended since.
	later := metrics.NewFinalizer(st, metrics.FinalizerOptions{Now: func() time.Time { return scenarioNow.Add(time.Hour) }})
	if n, err := later.Pass(context.Background()); err != nil || n != 0 {
		t.Errorf("pass after restart = %d, %v; want 0 new", n, err)
	}
	agg, err := st.MetricsAggregates(context.Background(), time.Time{}, scenarioNow)
	if err != nil {
		t.Fatal(err)
	}
	var sum int64
	for _, o := range agg.Outcomes {
		sum += o.N
	}
	if sum != 27 {
		t.Errorf("oneonone_occurrences_total sums to %d, want 27", sum)
	}
	// The next week's occurrences are decided when they end (plus settle).
	next := metrics.NewFinalizer(st, metrics.FinalizerOptions{Now: func() time.Time { return week(5).Add(90 * time.Minute) }})
	if n, err := next.Pass(context.Background()); err != nil || n != 6 {
		t.Errorf("pass a week later = %d, %v; want 6 (the 5 active weekly series, and d1 on Mar 2)", n, err)
	}
}

// A status change after the decision does not change the count.
func TestOutcomeIsFinal(t *testing.T) {
	st := openStore(t)
	seedScenario(t, st)
	clock := func() time.Time { return scenarioNow }
	f := metrics.NewFinalizer(st, metrics.FinalizerOptions{Now: clock})
	if _, err := f.Pass(context.Background()); err != nil {
		t.Fatal(err)
	}
	// p3's missed Feb 8 turns out held after all.
	if err := st.PutOverride(context.Background(), calendar.Override{SeriesID: "p3", OriginalStart: week(1), Held: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Pass(context.Background()); err != nil {
		t.Fatal(err)
	}
	agg, err := st.MetricsAggregates(context.Background(), time.Time{}, scenarioNow)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range agg.Outcomes {
		if o.Team == "platform" && o.Status == "missed" && o.N != 5 {
			t.Errorf("platform missed = %d after a late change, want 5", o.N)
		}
	}
}

func TestLint(t *testing.T) {
	m := scenarioMetrics(t, openStore(t), true)
	problems, err := testutil.GatherAndLint(m.AppGatherer())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
}

func TestPromtoolCheckMetrics(t *testing.T) {
	promtool := tool(t, "promtool")
	m := scenarioMetrics(t, openStore(t), true)
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("scrape: %d, %v", resp.StatusCode, err)
	}
	for _, want := range []string{"go_goroutines", "process_cpu_seconds_total", "oneonone_build_info"} {
		if !bytes.Contains(body, []byte(want)) {
			t.Errorf("scrape lacks %s", want)
		}
	}
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = bytes.NewReader(body)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
}

func TestPromtoolRules(t *testing.T) {
	promtool := tool(t, "promtool")
	if out, err := exec.Command(promtool, "check", "rules", "alerts.yml").CombinedOutput(); err != nil {
		t.Errorf("promtool check rules: %v\n%s", err, out)
	}
	tests, err := filepath.Glob(filepath.Join("testdata", "rules", "*_test.yml"))
	if err != nil || len(tests) == 0 {
		t.Fatalf("no rule tests in testdata/rules: %v", err)
	}
	args := append([]string{"test", "rules"}, tests...)
	if out, err := exec.Command(promtool, args...).CombinedOutput(); err != nil {
		t.Errorf("promtool test rules: %v\n%s", err, out)
	}
}

// The refresh reads the store; a scrape must not.
func TestScrapeDoesNotTouchStore(t *testing.T) {
	st := openStore(t)
	m := scenarioMetrics(t, st, false)
	st.Close()
	if _, err := m.AppGatherer().Gather(); err != nil {
		t.Fatalf("gather after the store closed: %v", err)
	}
	if err := m.Refresh(context.Background()); err == nil {
		t.Error("Refresh on a closed store succeeded")
	}
	if got := appText(t, m); !bytes.Contains(got, []byte(`oneonone_cadence_adherence_ratio{org_unit="platform"} 0.6`)) {
		t.Error("a failed refresh lost the previous snapshot")
	}
}

func TestCadenceInterval(t *testing.T) {
	day := 24 * time.Hour
	tests := []struct {
		cadence string
		want    time.Duration
		ok      bool
	}{
		{"weekly", 7 * day, true},
		{"biweekly", 14 * day, true},
		{"monthly", 31 * day, true},
		{"FREQ=WEEKLY;INTERVAL=3", 21 * day, true},
		{"RRULE:FREQ=DAILY", day, true},
		{"FREQ=MONTHLY;BYDAY=1MO;INTERVAL=2", 62 * day, true},
		{"FREQ=YEARLY", 366 * day, true},
		{"FREQ=HOURLY", 0, false},
		{"FREQ=WEEKLY;INTERVAL=0", 0, false},
	}
	for _, tt := range tests {
		got, ok := metrics.CadenceInterval(tt.cadence)
		if got != tt.want || ok != tt.ok {
			t.Errorf("CadenceInterval(%q) = %v, %v; want %v, %v", tt.cadence, got, ok, tt.want, tt.ok)
		}
	}
}

func TestOverdue(t *testing.T) {
	now := scenarioNow
	day := 24 * time.Hour
	tests := []struct {
		name string
		a    metrics.SeriesActivity
		want bool
	}{
		{"held last week", metrics.SeriesActivity{Cadence: "weekly", Start: now.Add(-100 * day), LastHeld: now.Add(-7 * day)}, false},
		{"held 15 days ago", metrics.SeriesActivity{Cadence: "weekly", Start: now.Add(-100 * day), LastHeld: now.Add(-15 * day)}, true},
		{"exactly twice", metrics.SeriesActivity{Cadence: "weekly", Start: now.Add(-100 * day), LastHeld: now.Add(-14 * day)}, false},
		{"never held, started 3 weeks ago", metrics.SeriesActivity{Cadence: "weekly", Start: now.Add(-21 * day)}, true},
		{"never held, started 10 days ago", metrics.SeriesActivity{Cadence: "weekly", Start: now.Add(-10 * day)}, false},
		{"monthly, 40 days", metrics.SeriesActivity{Cadence: "monthly", Start: now.Add(-100 * day), LastHeld: now.Add(-40 * day)}, false},
		{"monthly, 63 days", metrics.SeriesActivity{Cadence: "monthly", Start: now.Add(-100 * day), LastHeld: now.Add(-63 * day)}, true},
		{"not started", metrics.SeriesActivity{Cadence: "weekly", Start: now.Add(day)}, false},
	}
	for _, tt := range tests {
		if got := metrics.Overdue(tt.a, now); got != tt.want {
			t.Errorf("%s: Overdue = %v, want %v", tt.name, got, tt.want)
		}
	}
}
