package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/oneonone/oneonone/calendar"
	"github.com/oneonone/oneonone/metrics"
)

var (
	_ metrics.Store          = (*Store)(nil)
	_ metrics.FinalizerStore = (*Store)(nil)
)

// Names in metrics_state.
const (
	stateFinalizerWatermark = "finalizer_watermark"
	statePairKey            = "pair_key"
)

// pairKeyBytes is the size of the per-pair hash key.
const pairKeyBytes = 32

// RecordOutcomes inserts the outcomes that are not recorded yet and, for
// exactly those, increments the aggregate tables, in one transaction. Two
// daemons recording the same occurrence at once are serialised by the
// primary key: the second insert does nothing and counts nothing.
func (s *Store) RecordOutcomes(ctx context.Context, outcomes []metrics.Outcome) (int, error) {
	if len(outcomes) == 0 {
		return 0, nil
	}
	inserted := 0
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		inserted = 0
		for _, o := range outcomes {
			ok, err := recordOutcome(ctx, tx, o)
			if err != nil {
				return fmt.Errorf("%s/%s: %w", o.SeriesID, calendar.OccurrenceKey(o.OriginalStart), err)
			}
			if ok {
				inserted++
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("store: record outcomes: %w", err)
	}
	return inserted, nil
}

func recordOutcome(ctx context.Context, tx *sql.Tx, o metrics.Outcome) (bool, error) {
	original, err := nanos("original_start", o.OriginalStart)
	if err != nil {
		return false, err
	}
	end, err := nanos("end", o.End)
	if err != nil {
		return false, err
	}
	var notice sql.NullInt64
	if o.Notice != nil {
		notice = sql.NullInt64{Int64: int64(*o.Notice / time.Second), Valid: true}
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO occurrence_outcomes (series_id, original_start, status, held,
		org_unit, ended_at, cancelled_by, notice_seconds, decided_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
		ON CONFLICT (series_id, original_start) DO NOTHING`,
		o.SeriesID, original, string(o.Status), o.Held, o.Team, end, o.CancelledBy, notice, o.DecidedAt.UnixNano())
	if err != nil {
		return false, err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return false, err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO outcome_totals (org_unit, status, n) VALUES ($1, $2, 1)
		ON CONFLICT (org_unit, status) DO UPDATE SET n = outcome_totals.n + 1`, o.Team, string(o.Status)); err != nil {
		return false, err
	}
	if notice.Valid {
		if _, err := tx.ExecContext(ctx, `INSERT INTO notice_buckets (org_unit, cancelled_by, le_seconds, n)
			VALUES ($1, $2, $3, 1)
			ON CONFLICT (org_unit, cancelled_by, le_seconds) DO UPDATE SET n = notice_buckets.n + 1`,
			o.Team, o.CancelledBy, o.NoticeBucket); err != nil {
			return false, err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO notice_totals (org_unit, cancelled_by, n, sum_seconds)
			VALUES ($1, $2, 1, $3)
			ON CONFLICT (org_unit, cancelled_by) DO UPDATE SET n = notice_totals.n + 1,
			sum_seconds = notice_totals.sum_seconds + excluded.sum_seconds`,
			o.Team, o.CancelledBy, notice.Int64); err != nil {
			return false, err
		}
	}
	if o.Held {
		if _, err := tx.ExecContext(ctx, `INSERT INTO series_last_held (series_id, ended_at) VALUES ($1, $2)
			ON CONFLICT (series_id) DO UPDATE SET ended_at = CASE
				WHEN excluded.ended_at > series_last_held.ended_at THEN excluded.ended_at
				ELSE series_last_held.ended_at END`, o.SeriesID, end); err != nil {
			return false, err
		}
	}
	return true, nil
}

// MetricsOverrides returns, by series id, the overrides whose original
// start lies in [from, to) or whose moved end lies in [from, to].
func (s *Store) MetricsOverrides(ctx context.Context, from, to time.Time) (map[string][]calendar.Override, error) {
	lo, hi := clampNanos(from), clampNanos(to)
	rows, err := s.read.QueryContext(ctx, `SELECT series_id, original_start, moved_start, moved_end,
		cancelled, cancelled_by, cancelled_at, held, updated
		FROM overrides WHERE (original_start >= $1 AND original_start < $2)
		   OR (moved_end >= $1 AND moved_end <= $2)`, lo, hi)
	if err != nil {
		return nil, fmt.Errorf("store: metrics overrides: %w", err)
	}
	defer rows.Close()
	out := map[string][]calendar.Override{}
	for rows.Next() {
		var (
			o                                 calendar.Override
			original, updated                 int64
			movedStart, movedEnd, cancelledAt sql.NullInt64
		)
		if err := rows.Scan(&o.SeriesID, &original, &movedStart, &movedEnd, &o.Cancelled, &o.CancelledBy,
			&cancelledAt, &o.Held, &updated); err != nil {
			return nil, fmt.Errorf("store: metrics overrides: %w", err)
		}
		o.OriginalStart = fromNanos(original)
		o.Start = fromNullNanos(movedStart)
		o.End = fromNullNanos(movedEnd)
		o.CancelledAt = fromNullNanos(cancelledAt)
		o.Updated = fromNanos(updated)
		out[o.SeriesID] = append(out[o.SeriesID], o)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: metrics overrides: %w", err)
	}
	return out, nil
}

// FinalizerWatermark returns the cutoff the last successful finalizer pass
// decided through.
func (s *Store) FinalizerWatermark(ctx context.Context) (time.Time, bool, error) {
	var v int64
	err := s.read.QueryRowContext(ctx, `SELECT value FROM metrics_state WHERE name = $1`, stateFinalizerWatermark).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, fmt.Errorf("store: finalizer watermark: %w", err)
	}
	return fromNanos(v), true, nil
}

// AdvanceFinalizerWatermark moves the watermark forward to t; a later
// watermark (another daemon's) is kept.
func (s *Store) AdvanceFinalizerWatermark(ctx context.Context, t time.Time) error {
	v, err := nanos("watermark", t)
	if err == nil {
		err = s.inTx(ctx, func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO metrics_state (name, value) VALUES ($1, $2)
				ON CONFLICT (name) DO UPDATE SET value = excluded.value
				WHERE metrics_state.value < excluded.value`, stateFinalizerWatermark, v)
			return err
		})
	}
	if err != nil {
		return fmt.Errorf("store: advance finalizer watermark: %w", err)
	}
	return nil
}

// MetricsKey returns the per-pair hash key, creating it on first use. The
// first daemon to insert wins; the others read its key.
func (s *Store) MetricsKey(ctx context.Context) ([]byte, error) {
	var text string
	err := s.read.QueryRowContext(ctx, `SELECT text FROM metrics_state WHERE name = $1`, statePairKey).Scan(&text)
	if errors.Is(err, sql.ErrNoRows) {
		b := make([]byte, pairKeyBytes)
		if _, err := rand.Read(b); err != nil {
			return nil, fmt.Errorf("store: metrics key: %w", err)
		}
		err = s.inTx(ctx, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, `INSERT INTO metrics_state (name, text) VALUES ($1, $2)
				ON CONFLICT (name) DO NOTHING`, statePairKey, hex.EncodeToString(b)); err != nil {
				return err
			}
			return tx.QueryRowContext(ctx, `SELECT text FROM metrics_state WHERE name = $1`, statePairKey).Scan(&text)
		})
	}
	if err != nil {
		return nil, fmt.Errorf("store: metrics key: %w", err)
	}
	key, err := hex.DecodeString(text)
	if err != nil || len(key) == 0 {
		return nil, fmt.Errorf("store: metrics key: stored key is not hex")
	}
	return key, nil
}

// MetricsAggregates reads the aggregate tables, the series counts and the
// expected and held outcomes that ended in [since, until). Every query
// groups by team (and a few small columns); the window query reads only
// the outcomes index.
func (s *Store) MetricsAggregates(ctx context.Context, since, until time.Time) (metrics.Aggregates, error) {
	var a metrics.Aggregates
	err := func() error {
		// One read transaction, so the parts agree with each other.
		tx, err := s.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
		if err != nil {
			return err
		}
		defer tx.Rollback() //nolint:errcheck // read-only
		if err := each(ctx, tx, `SELECT team, cadence, state, COUNT(*), SUM(duration_seconds)
			FROM series GROUP BY team, cadence, state`,
			nil, func(r *sql.Rows) error {
				var c metrics.SeriesCount
				err := r.Scan(&c.Team, &c.Cadence, &c.State, &c.N, &c.DurationSeconds)
				a.Series = append(a.Series, c)
				return err
			}); err != nil {
			return fmt.Errorf("series: %w", err)
		}
		if err := each(ctx, tx, `SELECT org_unit, status, n FROM outcome_totals`, nil, func(r *sql.Rows) error {
			var c metrics.OutcomeCount
			err := r.Scan(&c.Team, &c.Status, &c.N)
			a.Outcomes = append(a.Outcomes, c)
			return err
		}); err != nil {
			return fmt.Errorf("outcome totals: %w", err)
		}
		if err := each(ctx, tx, `SELECT org_unit, COUNT(*), SUM(CASE WHEN held THEN 1 ELSE 0 END)
			FROM occurrence_outcomes WHERE ended_at >= $1 AND ended_at < $2 GROUP BY org_unit`,
			[]any{clampNanos(since), clampNanos(until)}, func(r *sql.Rows) error {
				var c metrics.WindowCount
				err := r.Scan(&c.Team, &c.Expected, &c.Held)
				a.Window = append(a.Window, c)
				return err
			}); err != nil {
			return fmt.Errorf("window: %w", err)
		}
		if err := each(ctx, tx, `SELECT org_unit, cancelled_by, le_seconds, n FROM notice_buckets`, nil, func(r *sql.Rows) error {
			var c metrics.NoticeBucket
			err := r.Scan(&c.Team, &c.CancelledBy, &c.LeSeconds, &c.N)
			a.NoticeBuckets = append(a.NoticeBuckets, c)
			return err
		}); err != nil {
			return fmt.Errorf("notice buckets: %w", err)
		}
		if err := each(ctx, tx, `SELECT org_unit, cancelled_by, n, sum_seconds FROM notice_totals`, nil, func(r *sql.Rows) error {
			var c metrics.NoticeTotal
			err := r.Scan(&c.Team, &c.CancelledBy, &c.N, &c.SumSeconds)
			a.NoticeTotals = append(a.NoticeTotals, c)
			return err
		}); err != nil {
			return fmt.Errorf("notice totals: %w", err)
		}
		return nil
	}()
	if err != nil {
		return metrics.Aggregates{}, fmt.Errorf("store: metrics aggregates: %w", err)
	}
	return a, nil
}

// EachActiveSeries calls fn for every active series with the end of its
// last held occurrence (zero when never held).
func (s *Store) EachActiveSeries(ctx context.Context, fn func(metrics.SeriesActivity) error) error {
	err := func() error {
		rows, err := s.read.QueryContext(ctx, `SELECT s.id, s.team, s.cadence, s.start_local, s.timezone, lh.ended_at
			FROM series s LEFT JOIN series_last_held lh ON lh.series_id = s.id
			WHERE s.state = $1`, string(calendar.StateActive))
		if err != nil {
			return err
		}
		defer rows.Close()
		z := zones{}
		for rows.Next() {
			var (
				a              metrics.SeriesActivity
				startLocal, tz string
				lastHeld       sql.NullInt64
			)
			if err := rows.Scan(&a.SeriesID, &a.Team, &a.Cadence, &startLocal, &tz, &lastHeld); err != nil {
				return err
			}
			loc, err := z.load(tz)
			if err != nil {
				return fmt.Errorf("series %s: time zone %q: %w", a.SeriesID, tz, err)
			}
			if a.Start, err = time.ParseInLocation(startLayout, startLocal, loc); err != nil {
				return fmt.Errorf("series %s: start %q: %w", a.SeriesID, startLocal, err)
			}
			a.LastHeld = fromNullNanos(lastHeld)
			if err := fn(a); err != nil {
				return err
			}
		}
		return rows.Err()
	}()
	if err != nil {
		return fmt.Errorf("store: active series for metrics: %w", err)
	}
	return nil
}

// each runs query and calls fn for every row.
func each(ctx context.Context, q querier, query string, args []any, fn func(*sql.Rows) error) error {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}
