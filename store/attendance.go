package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"fmt"
	"time"

	"github.com/oneonone/oneonone/internal/errs"
	"github.com/oneonone/oneonone/meet"
)

var _ meet.AttendanceStore = (*Store)(nil)

// AddAttendance stores a new stay (Left zero) and returns its id. The
// series must exist (errs.ErrNotFound otherwise).
func (s *Store) AddAttendance(ctx context.Context, a meet.Attendance) (string, error) {
	joined, err := nanos("joined", a.Joined)
	if err != nil {
		return "", err
	}
	left, err := nullNanos("left", a.Left)
	if err != nil {
		return "", err
	}
	id := "a_" + rand.Text()
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO attendance (id, series_id, occurrence, email, role, joined_at, left_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			id, a.SeriesID, a.Occurrence, normalizeEmail(a.Email), a.Role, joined, left)
		return err
	})
	if isForeignKeyViolation(err) {
		return "", fmt.Errorf("store: add attendance: series %s: %w", a.SeriesID, errs.ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("store: add attendance to %s: %w", a.SeriesID, err)
	}
	return id, nil
}

// EndAttendance sets when a stay ended; an unknown id is errs.ErrNotFound.
func (s *Store) EndAttendance(ctx context.Context, id string, left time.Time) error {
	n, err := nanos("left", left)
	if err != nil {
		return err
	}
	var affected int64
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE attendance SET left_at = $1 WHERE id = $2`, n, id)
		if err != nil {
			return err
		}
		affected, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return fmt.Errorf("store: end attendance %s: %w", id, err)
	}
	if affected == 0 {
		return fmt.Errorf("store: end attendance %s: %w", id, errs.ErrNotFound)
	}
	return nil
}

// ListAttendance returns the stays of a series that joined in [from, to)
// (a zero bound leaves that side open), ordered by join time.
func (s *Store) ListAttendance(ctx context.Context, seriesID string, from, to time.Time) ([]meet.Attendance, error) {
	lo, hi := clampNanos(minInstant), clampNanos(maxInstant)
	if !from.IsZero() {
		lo = clampNanos(from)
	}
	if !to.IsZero() {
		hi = clampNanos(to)
	}
	rows, err := s.read.QueryContext(ctx, `SELECT id, series_id, occurrence, email, role, joined_at, left_at
		FROM attendance WHERE series_id = $1 AND joined_at >= $2 AND joined_at < $3
		ORDER BY joined_at, id`, seriesID, lo, hi)
	if err != nil {
		return nil, fmt.Errorf("store: list attendance of %s: %w", seriesID, err)
	}
	defer rows.Close()
	out := []meet.Attendance{}
	for rows.Next() {
		var (
			a      meet.Attendance
			joined int64
			left   sql.NullInt64
		)
		if err := rows.Scan(&a.ID, &a.SeriesID, &a.Occurrence, &a.Email, &a.Role, &joined, &left); err != nil {
			return nil, fmt.Errorf("store: list attendance of %s: %w", seriesID, err)
		}
		a.Joined = fromNanos(joined)
		a.Left = fromNullNanos(left)
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list attendance of %s: %w", seriesID, err)
	}
	return out, nil
}
