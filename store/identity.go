package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/oneonone/oneonone/identity"
	"github.com/oneonone/oneonone/internal/errs"
)

// Identity storage (identity.Store): per-person link generations, person
// sessions and one-time sign-in tokens. Sessions and tokens are looked up
// by their SHA-256 only; the store never sees a session id or a token.

// Generation is the current link generation of email in series, or
// errs.ErrNotFound when email is neither the manager nor the report of
// series (implements joinlink.Generations).
func (s *Store) Generation(ctx context.Context, series, email string) (int, error) {
	email = normalizeEmail(email)
	var gen int64
	err := s.read.QueryRowContext(ctx, `SELECT COALESCE((SELECT generation FROM link_generations WHERE email = $2), 0)
		FROM series WHERE id = $1 AND (manager_email = $2 OR report_email = $2)`, series, email).Scan(&gen)
	if errors.Is(err, sql.ErrNoRows) {
		err = errs.ErrNotFound
	}
	if err != nil {
		return 0, fmt.Errorf("store: link generation in series %s: %w", series, err)
	}
	return int(gen), nil
}

// LinkGeneration is the person's current link generation, 0 until the
// first revocation.
func (s *Store) LinkGeneration(ctx context.Context, email string) (int, error) {
	var gen int64
	err := s.read.QueryRowContext(ctx, `SELECT generation FROM link_generations WHERE email = $1`, normalizeEmail(email)).Scan(&gen)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("store: link generation: %w", err)
	}
	return int(gen), nil
}

// RevokeLinks bumps the person's link generation and deletes all their
// sessions in one transaction; errs.ErrNotFound for an unknown person.
func (s *Store) RevokeLinks(ctx context.Context, email string) (int, error) {
	email = normalizeEmail(email)
	var gen int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var one int
		err := tx.QueryRowContext(ctx, `SELECT 1 FROM people WHERE email = $1`, email).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return errs.ErrNotFound
		}
		if err != nil {
			return err
		}
		if err := tx.QueryRowContext(ctx, `INSERT INTO link_generations (email, generation) VALUES ($1, 1)
			ON CONFLICT (email) DO UPDATE SET generation = link_generations.generation + 1
			RETURNING generation`, email).Scan(&gen); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM person_sessions WHERE email = $1`, email)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("store: revoke links: %w", err)
	}
	return int(gen), nil
}

// CreatePersonSession stores a session and drops the expired ones, which
// keeps the table small without a sweeper.
func (s *Store) CreatePersonSession(ctx context.Context, sess identity.Session) error {
	created, err := nanos("created", sess.Created)
	if err == nil {
		var expires int64
		expires, err = nanos("expires", sess.Expires)
		if err == nil {
			err = s.inTx(ctx, func(tx *sql.Tx) error {
				if _, err := tx.ExecContext(ctx, `DELETE FROM person_sessions WHERE expires <= $1`, created); err != nil {
					return err
				}
				_, err := tx.ExecContext(ctx, `INSERT INTO person_sessions (id_sha256, email, via, created, expires)
					VALUES ($1, $2, $3, $4, $5)`, sess.IDHash, normalizeEmail(sess.Email), sess.Via, created, expires)
				if isUniqueViolation(err) {
					return errs.ErrConflict
				}
				return err
			})
		}
	}
	if err != nil {
		return fmt.Errorf("store: create session: %w", err)
	}
	return nil
}

// PersonSession returns a session by the hash of its id, or
// errs.ErrNotFound. Expiry is the caller's to check.
func (s *Store) PersonSession(ctx context.Context, idHash string) (identity.Session, error) {
	sess := identity.Session{IDHash: idHash}
	var created, expires int64
	err := s.read.QueryRowContext(ctx, `SELECT email, via, created, expires FROM person_sessions WHERE id_sha256 = $1`, idHash).
		Scan(&sess.Email, &sess.Via, &created, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		err = errs.ErrNotFound
	}
	if err != nil {
		return identity.Session{}, fmt.Errorf("store: session: %w", err)
	}
	sess.Created, sess.Expires = fromNanos(created), fromNanos(expires)
	return sess, nil
}

// DeletePersonSession removes a session; a missing one is not an error.
func (s *Store) DeletePersonSession(ctx context.Context, idHash string) error {
	if _, err := s.write.ExecContext(ctx, `DELETE FROM person_sessions WHERE id_sha256 = $1`, idHash); err != nil {
		return fmt.Errorf("store: delete session: %w", err)
	}
	return nil
}

// CreateSignInToken stores a one-time sign-in token (hashed) and drops the
// expired ones. An unknown person is errs.ErrNotFound.
func (s *Store) CreateSignInToken(ctx context.Context, t identity.SignInToken) error {
	created, err := nanos("created", t.Created)
	if err == nil {
		var expires int64
		expires, err = nanos("expires", t.Expires)
		if err == nil {
			err = s.inTx(ctx, func(tx *sql.Tx) error {
				if _, err := tx.ExecContext(ctx, `DELETE FROM signin_tokens WHERE expires <= $1`, created); err != nil {
					return err
				}
				_, err := tx.ExecContext(ctx, `INSERT INTO signin_tokens (token_sha256, email, next, created, expires)
					VALUES ($1, $2, $3, $4, $5)`, t.Hash, normalizeEmail(t.Email), t.Next, created, expires)
				switch {
				case isForeignKeyViolation(err):
					return errs.ErrNotFound
				case isUniqueViolation(err):
					return errs.ErrConflict
				}
				return err
			})
		}
	}
	if err != nil {
		return fmt.Errorf("store: create sign-in token: %w", err)
	}
	return nil
}

// ConsumeSignInToken deletes the token with this hash and returns it. It is
// errs.ErrNotFound when there is none or it expired at now; either way the
// token cannot be used again. Two concurrent calls never both succeed: only
// one DELETE returns the row.
func (s *Store) ConsumeSignInToken(ctx context.Context, hash string, now time.Time) (identity.SignInToken, error) {
	t := identity.SignInToken{Hash: hash}
	var created, expires int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, `DELETE FROM signin_tokens WHERE token_sha256 = $1
			RETURNING email, next, created, expires`, hash).Scan(&t.Email, &t.Next, &created, &expires)
	})
	if errors.Is(err, sql.ErrNoRows) {
		err = errs.ErrNotFound
	}
	if err == nil {
		t.Created, t.Expires = fromNanos(created), fromNanos(expires)
		if !now.Before(t.Expires) {
			err = errs.ErrNotFound
		}
	}
	if err != nil {
		return identity.SignInToken{}, fmt.Errorf("store: consume sign-in token: %w", err)
	}
	return t, nil
}

// The store must keep satisfying identity.Store.
var _ identity.Store = (*Store)(nil)
