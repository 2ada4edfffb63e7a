package metrics

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/oneonone/oneonone/calendar"
)

// Finalizer defaults.
const (
	DefaultFinalizeInterval = time.Minute
	DefaultSettle           = time.Hour
	// overlap re-reads a little of the previous pass's range, so an
	// occurrence whose override landed just as a pass ran is not skipped;
	// re-deciding it is a no-op.
	overlap = 10 * time.Minute
	// maxDuration bounds how long before its end an unmoved occurrence can
	// start, for the bulk override query.
	maxDuration = 24 * time.Hour
	listPage    = 1000
)

// FinalizerOptions tune a Finalizer. Zero values take the defaults.
type FinalizerOptions struct {
	// Interval between passes (DefaultFinalizeInterval).
	Interval time.Duration
	// Settle is how long after its end an occurrence is decided
	// (DefaultSettle), so late attendance or calendar news still counts.
	Settle time.Duration
	// Backfill is how far back the very first pass decides (the adherence
	// window, DefaultWindow), so adherence is right from the first day.
	Backfill time.Duration
	// Now is the clock (time.Now).
	Now    func() time.Time
	Logger *slog.Logger
	// OnPass, when set, is called after each successful pass with the
	// number of outcomes it recorded (the daemon refreshes the collector).
	OnPass func(recorded int)
}

// Finalizer decides the outcome of each occurrence once and records it.
// Several Finalizers, in one process or on several daemons sharing a
// store, may run at once: the store's primary key keeps each decision
// single.
type Finalizer struct {
	store FinalizerStore
	opt   FinalizerOptions
}

// NewFinalizer returns a Finalizer over st.
func NewFinalizer(st FinalizerStore, opt FinalizerOptions) *Finalizer {
	if opt.Interval <= 0 {
		opt.Interval = DefaultFinalizeInterval
	}
	if opt.Settle <= 0 {
		opt.Settle = DefaultSettle
	}
	if opt.Backfill <= 0 {
		opt.Backfill = DefaultWindow
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	return &Finalizer{store: st, opt: opt}
}

// Run passes every Interval until ctx ends. A failed pass is logged and
// retried at the next tick; the watermark only advances on success. It
// returns nil when ctx ends.
func (f *Finalizer) Run(ctx context.Context) error {
	t := time.NewTicker(f.opt.Interval)
	defer t.Stop()
	for {
		if n, err := f.Pass(ctx); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			f.opt.Logger.Warn("metrics: finalizer pass failed", "err", err)
		} else if f.opt.OnPass != nil {
			f.opt.OnPass(n)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Pass decides the occurrences that ended (plus Settle) since the last
// pass and records those not yet recorded; it returns how many were new.
func (f *Finalizer) Pass(ctx context.Context) (int, error) {
	now := f.opt.Now()
	cutoff := now.Add(-f.opt.Settle)
	wm, ok, err := f.store.FinalizerWatermark(ctx)
	if err != nil {
		return 0, fmt.Errorf("metrics: finalizer: %w", err)
	}
	from := cutoff.Add(-f.opt.Backfill)
	if ok {
		from = wm.Add(-overlap)
	}
	if !from.Before(cutoff) {
		return 0, nil
	}
	outcomes, err := f.decide(ctx, from, cutoff, now)
	if err != nil {
		return 0, fmt.Errorf("metrics: finalizer: %w", err)
	}
	n, err := f.store.RecordOutcomes(ctx, outcomes)
	if err != nil {
		return 0, fmt.Errorf("metrics: finalizer: %w", err)
	}
	if err := f.store.AdvanceFinalizerWatermark(ctx, cutoff); err != nil {
		return n, fmt.Errorf("metrics: finalizer: %w", err)
	}
	if n > 0 {
		f.opt.Logger.Debug("metrics: recorded outcomes", "new", n, "through", cutoff)
	}
	return n, nil
}

// decide returns the outcomes of occurrences of active series that ended
// by cutoff and either started after from (less the series' duration) or
// were moved to end after from. Older ones were decided by earlier passes;
// deciding one again is a no-op.
func (f *Finalizer) decide(ctx context.Context, from, cutoff, now time.Time) ([]Outcome, error) {
	overrides, err := f.store.MetricsOverrides(ctx, from.Add(-maxDuration), cutoff)
	if err != nil {
		return nil, err
	}
	var out []Outcome
	opt := calendar.ListOptions{Limit: listPage}
	for {
		page, err := f.store.ListSeries(ctx, opt)
		if err != nil {
			return nil, err
		}
		for _, s := range page {
			if s.State != calendar.StateActive {
				continue
			}
			out = appendSeriesOutcomes(out, s, overrides[s.ID], from, cutoff, now)
		}
		if len(page) < listPage {
			return out, nil
		}
		opt.After = page[len(page)-1].ID
	}
}

func appendSeriesOutcomes(out []Outcome, s calendar.Series, overrides []calendar.Override, from, cutoff, now time.Time) []Outcome {
	owedFrom := from.Add(-s.Duration)
	if s.Created.After(owedFrom) {
		owedFrom = s.Created
	}
	seen := map[int64]bool{}
	add := func(oc calendar.Occurrence, o calendar.Override) {
		if oc.End.After(cutoff) || oc.OriginalStart.Before(s.Created) ||
			!oc.Final(now) || seen[oc.OriginalStart.Unix()] {
			return
		}
		seen[oc.OriginalStart.Unix()] = true
		out = append(out, outcomeOf(s, oc, o, now))
	}
	byStart := map[int64]calendar.Override{}
	for _, o := range overrides {
		byStart[o.OriginalStart.Unix()] = o
	}
	// Unmoved (and moved-earlier) occurrences, found by original start.
	if owedFrom.Before(cutoff) {
		if occs, err := s.Occurrences(owedFrom, cutoff, overrides, now); err == nil {
			for _, oc := range occs {
				add(oc, byStart[oc.OriginalStart.Unix()])
			}
		}
	}
	// Occurrences moved to a later time, found by their moved end; each is
	// checked to be a real occurrence of the series.
	for _, o := range overrides {
		if !o.Moved() {
			continue
		}
		occs, err := s.Occurrences(o.OriginalStart, o.OriginalStart.Add(time.Second), []calendar.Override{o}, now)
		if err == nil && len(occs) == 1 {
			add(occs[0], o)
		}
	}
	return out
}

func outcomeOf(s calendar.Series, oc calendar.Occurrence, o calendar.Override, now time.Time) Outcome {
	out := Outcome{
		SeriesID:      s.ID,
		OriginalStart: oc.OriginalStart.UTC(),
		Status:        oc.Status,
		Held:          oc.Status == calendar.StatusHeld || (oc.Status == calendar.StatusRescheduled && o.Held),
		Team:          s.Team,
		End:           oc.End.UTC(),
		DecidedAt:     now.UTC(),
	}
	if oc.Status == calendar.StatusCancelled {
		out.CancelledBy = canceller(o.CancelledBy)
		if !o.CancelledAt.IsZero() {
			notice := max(oc.Start.Sub(o.CancelledAt), 0).Truncate(time.Second)
			out.Notice = &notice
			out.NoticeBucket = noticeBucket(notice)
		}
	}
	return out
}

// Who cancelled, as the by label says it.
const (
	ByManager = "manager"
	ByReport  = "report"
	ByUnknown = "unknown"
)

func canceller(by string) string {
	switch by {
	case ByManager, ByReport:
		return by
	}
	return ByUnknown
}

// NoticeBuckets are the upper bounds of oneonone_cancellation_notice_seconds:
// 1h, 6h, 1d, 2d, 7d, 14d, 30d.
func NoticeBuckets() []float64 {
	return []float64{3600, 6 * 3600, 86400, 2 * 86400, 7 * 86400, 14 * 86400, 30 * 86400}
}

// noticeBucket is the upper bound, in seconds, of the bucket d falls in;
// -1 for +Inf.
func noticeBucket(d time.Duration) int64 {
	secs := d.Seconds()
	for _, le := range NoticeBuckets() {
		if secs <= le {
			return int64(le)
		}
	}
	return -1
}
