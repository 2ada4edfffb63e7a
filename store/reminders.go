package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// ClaimReminder records that reminder kind of an occurrence is being
// sent, and reports false when it was claimed before (by this daemon or
// another sharing the database).
func (s *Store) ClaimReminder(ctx context.Context, seriesID, occurrence, kind string, at time.Time) (bool, error) {
	var n int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO agenda_reminders (series_id, occurrence, kind, sent_at)
			VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`, seriesID, occurrence, kind, at.UnixNano())
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return false, fmt.Errorf("store: claim %s reminder of %s/%s: %w", kind, seriesID, occurrence, err)
	}
	return n == 1, nil
}

// ReleaseReminder forgets a claim whose sending failed, so a later pass
// tries again.
func (s *Store) ReleaseReminder(ctx context.Context, seriesID, occurrence, kind string) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM agenda_reminders WHERE series_id = $1 AND occurrence = $2 AND kind = $3`,
			seriesID, occurrence, kind)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: release %s reminder of %s/%s: %w", kind, seriesID, occurrence, err)
	}
	return nil
}
