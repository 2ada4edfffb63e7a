package metrics

import (
	"context"
	"time"

	"github.com/oneonone/oneonone/calendar"
)

// Outcome is the decision on one occurrence, recorded once.
type Outcome struct {
	SeriesID      string
	OriginalStart time.Time
	Status        calendar.Status // held, cancelled, rescheduled or missed
	Held          bool            // both attended (held, or rescheduled and attended)
	Team          string          // the series' team when decided
	End           time.Time       // the (moved) end
	// CancelledBy is manager, report or unknown for a cancelled occurrence.
	CancelledBy string
	// Notice is set for a cancelled occurrence whose cancellation time is
	// known; NoticeBucket is the upper bound (seconds) of the histogram
	// bucket it falls in, -1 for +Inf.
	Notice       *time.Duration
	NoticeBucket int64
	DecidedAt    time.Time
}

// SeriesCount is how many series share a team, cadence and state, and
// the sum of their planned lengths.
type SeriesCount struct {
	Team, Cadence, State string
	N                    int64
	DurationSeconds      int64
}

// OutcomeCount is the all-time number of outcomes of a team and status.
type OutcomeCount struct {
	Team, Status string
	N            int64
}

// WindowCount is expected and held occurrences of a team in the window.
type WindowCount struct {
	Team           string
	Expected, Held int64
}

// NoticeBucket is the non-cumulative count of cancellations of a team and
// canceller whose notice falls in the bucket ending at LeSeconds (-1: +Inf).
type NoticeBucket struct {
	Team, CancelledBy string
	LeSeconds         int64
	N                 int64
}

// NoticeTotal is the count and sum of notices of a team and canceller.
type NoticeTotal struct {
	Team, CancelledBy string
	N, SumSeconds     int64
}

// Aggregates is what the store keeps up to date for the collector.
type Aggregates struct {
	Series        []SeriesCount
	Outcomes      []OutcomeCount
	Window        []WindowCount
	NoticeBuckets []NoticeBucket
	NoticeTotals  []NoticeTotal
}

// SeriesActivity is one active series as overdue and the pair gauge see
// it. LastHeld is zero when it was never held.
type SeriesActivity struct {
	SeriesID string
	Team     string
	Cadence  string
	Start    time.Time
	LastHeld time.Time
}

// Store is what the collector's refresh reads. package store implements it.
type Store interface {
	// MetricsAggregates returns the aggregate tables and the expected and
	// held counts of outcomes that ended in [since, until).
	MetricsAggregates(ctx context.Context, since, until time.Time) (Aggregates, error)
	// EachActiveSeries calls fn for every active series, in no order.
	EachActiveSeries(ctx context.Context, fn func(SeriesActivity) error) error
	// MetricsKey returns the secret key of the per-pair hash, creating it
	// on first use; every daemon sharing the store gets the same key.
	MetricsKey(ctx context.Context) ([]byte, error)
}

// FinalizerStore is what the Finalizer reads and writes. package store
// implements it.
type FinalizerStore interface {
	// ListSeries pages through series (calendar.Store's).
	ListSeries(ctx context.Context, opt calendar.ListOptions) ([]calendar.Series, error)
	// MetricsOverrides returns, grouped by series id, the overrides whose
	// original start lies in [from, to) or whose moved end lies in [from, to].
	MetricsOverrides(ctx context.Context, from, to time.Time) (map[string][]calendar.Override, error)
	// RecordOutcomes inserts the outcomes not yet recorded, updating the
	// aggregates for exactly those, in one transaction, and says how many
	// were new.
	RecordOutcomes(ctx context.Context, outcomes []Outcome) (int, error)
	// FinalizerWatermark is the cutoff the last successful pass decided
	// through; ok is false before the first pass.
	FinalizerWatermark(ctx context.Context) (t time.Time, ok bool, err error)
	// AdvanceFinalizerWatermark moves the watermark to t unless it is
	// already later (another daemon got further).
	AdvanceFinalizerWatermark(ctx context.Context, t time.Time) error
}
