package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/oneonone/oneonone/calendar"
)

var _ calendar.SyncStore = (*Store)(nil)

// SyncStates returns the sync states of every series in a calendar,
// ordered by series id.
func (s *Store) SyncStates(ctx context.Context, calendarID string) ([]calendar.SyncState, error) {
	out, err := func() ([]calendar.SyncState, error) {
		rows, err := s.read.QueryContext(ctx, `SELECT calendar_id, series_id, uid, href, seen, sequence,
			written_version, written_start, written_rule, written_duration_seconds, remote_state, remote_keys,
			last_error, updated, notified_kind, notified_sequence
			FROM series_sync WHERE calendar_id = $1 ORDER BY series_id`, calendarID)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		out := []calendar.SyncState{}
		for rows.Next() {
			var (
				st                                   calendar.SyncState
				seq, version, dur, updated, notified int64
				start                                sql.NullInt64
				remote, keys, notifiedKind           string
			)
			if err := rows.Scan(&st.CalendarID, &st.SeriesID, &st.UID, &st.Href, &st.Seen, &seq, &version,
				&start, &st.WrittenRule, &dur, &remote, &keys, &st.LastError, &updated, &notifiedKind, &notified); err != nil {
				return nil, err
			}
			st.Notified = calendar.Notice{Kind: calendar.NotifyKind(notifiedKind), Sequence: int(notified)}
			st.Sequence, st.WrittenVersion = int(seq), int(version)
			st.WrittenStart = fromNullNanos(start)
			st.WrittenDuration = time.Duration(dur) * time.Second
			st.Remote = calendar.RemoteState(remote)
			if keys != "" {
				st.RemoteKeys = strings.Split(keys, ",")
			}
			st.Updated = fromNanos(updated)
			out = append(out, st)
		}
		return out, rows.Err()
	}()
	if err != nil {
		return nil, fmt.Errorf("store: sync states of calendar %s: %w", calendarID, err)
	}
	return out, nil
}

// PutSyncState inserts or replaces one series' sync state. A zero Updated
// becomes now.
func (s *Store) PutSyncState(ctx context.Context, st calendar.SyncState) error {
	err := func() error {
		if st.CalendarID == "" || st.SeriesID == "" || st.UID == "" {
			return errors.New("calendar id, series id and UID are required")
		}
		for _, k := range st.RemoteKeys {
			if strings.Contains(k, ",") {
				return fmt.Errorf("occurrence key %q holds a comma", k)
			}
		}
		if st.Updated.IsZero() {
			st.Updated = time.Now()
		}
		start, err := nullNanos("written_start", st.WrittenStart)
		if err != nil {
			return err
		}
		remote := st.Remote
		if remote == "" {
			remote = calendar.RemotePending
		}
		return s.inTx(ctx, func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO series_sync (calendar_id, series_id, uid, href, seen, sequence,
				written_version, written_start, written_rule, written_duration_seconds, remote_state, remote_keys,
				last_error, updated, notified_kind, notified_sequence)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
				ON CONFLICT (calendar_id, series_id) DO UPDATE SET
				uid = excluded.uid, href = excluded.href, seen = excluded.seen, sequence = excluded.sequence,
				written_version = excluded.written_version, written_start = excluded.written_start,
				written_rule = excluded.written_rule, written_duration_seconds = excluded.written_duration_seconds,
				remote_state = excluded.remote_state, remote_keys = excluded.remote_keys,
				last_error = excluded.last_error, updated = excluded.updated,
				notified_kind = excluded.notified_kind, notified_sequence = excluded.notified_sequence`,
				st.CalendarID, st.SeriesID, st.UID, st.Href, st.Seen, int64(st.Sequence), int64(st.WrittenVersion),
				start, st.WrittenRule, int64(st.WrittenDuration/time.Second), string(remote),
				strings.Join(st.RemoteKeys, ","), st.LastError, st.Updated.UnixNano(),
				string(st.Notified.Kind), int64(st.Notified.Sequence))
			return err
		})
	}()
	if err != nil {
		return fmt.Errorf("store: put sync state %s/%s: %w", st.CalendarID, st.SeriesID, err)
	}
	return nil
}

// DeleteSyncState forgets one series in one calendar.
func (s *Store) DeleteSyncState(ctx context.Context, calendarID, seriesID string) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM series_sync WHERE calendar_id = $1 AND series_id = $2`, calendarID, seriesID)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: delete sync state %s/%s: %w", calendarID, seriesID, err)
	}
	return nil
}

// CalendarSync returns a calendar's sync state; one never synced is the
// zero value with CalendarID set.
func (s *Store) CalendarSync(ctx context.Context, calendarID string) (calendar.CalendarSync, error) {
	cs := calendar.CalendarSync{CalendarID: calendarID}
	var (
		attempt, success sql.NullInt64
		updated          int64
	)
	err := s.read.QueryRowContext(ctx, `SELECT sync_cursor, last_attempt, last_success, last_error, needs_reauth, updated
		FROM calendar_sync WHERE calendar_id = $1`, calendarID).
		Scan(&cs.Cursor, &attempt, &success, &cs.LastError, &cs.NeedsReauth, &updated)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return cs, nil
	case err != nil:
		return calendar.CalendarSync{}, fmt.Errorf("store: calendar sync state %s: %w", calendarID, err)
	}
	cs.LastAttempt, cs.LastSuccess = fromNullNanos(attempt), fromNullNanos(success)
	cs.Updated = fromNanos(updated)
	return cs, nil
}

// PutCalendarSync inserts or replaces a calendar's sync state. A zero
// Updated becomes now.
func (s *Store) PutCalendarSync(ctx context.Context, cs calendar.CalendarSync) error {
	err := func() error {
		if cs.CalendarID == "" {
			return errors.New("calendar id is required")
		}
		if cs.Updated.IsZero() {
			cs.Updated = time.Now()
		}
		attempt, err := nullNanos("last_attempt", cs.LastAttempt)
		if err != nil {
			return err
		}
		success, err := nullNanos("last_success", cs.LastSuccess)
		if err != nil {
			return err
		}
		return s.inTx(ctx, func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO calendar_sync (calendar_id, sync_cursor, last_attempt, last_success,
				last_error, needs_reauth, updated) VALUES ($1, $2, $3, $4, $5, $6, $7)
				ON CONFLICT (calendar_id) DO UPDATE SET sync_cursor = excluded.sync_cursor, last_attempt = excluded.last_attempt,
				last_success = excluded.last_success, last_error = excluded.last_error,
				needs_reauth = excluded.needs_reauth, updated = excluded.updated`,
				cs.CalendarID, cs.Cursor, attempt, success, cs.LastError, cs.NeedsReauth, cs.Updated.UnixNano())
			return err
		})
	}()
	if err != nil {
		return fmt.Errorf("store: put calendar sync state %s: %w", cs.CalendarID, err)
	}
	return nil
}
