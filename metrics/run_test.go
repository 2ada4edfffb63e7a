package metrics_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/oneonone/oneonone/metrics"
)

// The loops the daemon runs: the finalizer passes and reports, the
// collector refreshes, and both stop with their context.
func TestRunLoops(t *testing.T) {
	st := openStore(t)
	seedScenario(t, st)
	clock := func() time.Time { return scenarioNow }
	passed := make(chan int, 10)
	fin := metrics.NewFinalizer(st, metrics.FinalizerOptions{Now: clock, Interval: 10 * time.Millisecond,
		OnPass: func(n int) { passed <- n }})
	m, err := metrics.New(metrics.Options{Store: st, Now: clock, RefreshInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 2)
	go func() { done <- fin.Run(ctx) }()
	go func() { done <- m.Run(ctx) }()
	if n := <-passed; n != 27 {
		t.Errorf("first pass recorded %d, want 27", n)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(string(appText(t, m)), `oneonone_cadence_adherence_ratio{org_unit="platform"} 0.6`) {
		if time.Now().After(deadline) {
			t.Fatal("the refresh loop never served the scenario's adherence")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	for range 2 {
		if err := <-done; err != nil {
			t.Errorf("Run returned %v after cancel, want nil", err)
		}
	}
}

func TestNewRequiresStore(t *testing.T) {
	if _, err := metrics.New(metrics.Options{}); err == nil {
		t.Error("New without a store succeeded")
	}
}

func FuzzCadenceInterval(f *testing.F) {
	for _, s := range []string{"weekly", "biweekly", "monthly", "FREQ=WEEKLY;INTERVAL=2", "RRULE:FREQ=DAILY", "FREQ=MONTHLY;INTERVAL=-1", "", "FREQ=YEARLY;INTERVAL=99999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, cadence string) {
		d, ok := metrics.CadenceInterval(cadence)
		if ok && d <= 0 {
			t.Errorf("CadenceInterval(%q) = %v, true; want a positive interval", cadence, d)
		}
		if !ok && d != 0 {
			t.Errorf("CadenceInterval(%q) = %v, false; want 0", cadence, d)
		}
	})
}
