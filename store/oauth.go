package store

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/oneonone/oneonone/internal/errs"
)

// OAuthTokens keeps the sealed OAuth refresh token of each calendar; it
// implements google.TokenStore. The bytes are opaque here: the daemon
// seals them with its key before they arrive.
type OAuthTokens struct{ s *Store }

// OAuthTokens returns the store's OAuth token table.
func (s *Store) OAuthTokens() OAuthTokens { return OAuthTokens{s: s} }

// Load returns the sealed token of calendarID, or an error wrapping
// errs.ErrNotFound when the calendar was never authorised.
func (t OAuthTokens) Load(ctx context.Context, calendarID string) ([]byte, error) {
	var enc string
	err := t.s.read.QueryRowContext(ctx, `SELECT sealed FROM oauth_tokens WHERE calendar_id = $1`, calendarID).Scan(&enc)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, fmt.Errorf("store: oauth token of calendar %s: %w", calendarID, errs.ErrNotFound)
	case err != nil:
		return nil, fmt.Errorf("store: oauth token of calendar %s: %w", calendarID, err)
	}
	b, err := base64.StdEncoding.DecodeString(enc)
	if err != nil {
		return nil, fmt.Errorf("store: oauth token of calendar %s is damaged: %w", calendarID, err)
	}
	return b, nil
}

// Save inserts or replaces the sealed token of calendarID.
func (t OAuthTokens) Save(ctx context.Context, calendarID string, sealed []byte) error {
	err := func() error {
		switch {
		case calendarID == "":
			return errs.Invalidf("calendar", "is required")
		case len(sealed) == 0:
			return errs.Invalidf("token", "is empty")
		}
		return t.s.inTx(ctx, func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO oauth_tokens (calendar_id, sealed, updated) VALUES ($1, $2, $3)
				ON CONFLICT (calendar_id) DO UPDATE SET sealed = excluded.sealed, updated = excluded.updated`,
				calendarID, base64.StdEncoding.EncodeToString(sealed), time.Now().UnixNano())
			return err
		})
	}()
	if err != nil {
		return fmt.Errorf("store: save oauth token of calendar %s: %w", calendarID, err)
	}
	return nil
}
