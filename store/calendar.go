package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/oneonone/oneonone/calendar"
	"github.com/oneonone/oneonone/internal/errs"
)

var _ calendar.Store = (*Store)(nil)

// startLayout is how a series' wall-clock start is stored.
const startLayout = "2006-01-02T15:04:05"

// feedTokenBytes is the entropy of an ICS feed token.
const feedTokenBytes = 32

const seriesColumns = `s.id, s.manager_email, m.name, m.timezone, s.report_email, r.name, r.timezone,
	s.start_local, s.timezone, s.cadence, s.duration_seconds, s.team, s.calendar, s.state,
	s.created, s.updated, s.version
	FROM series s
	JOIN people m ON m.email = s.manager_email
	JOIN people r ON r.email = s.report_email`

// CreateSeries stores a new series and upserts its two people, in one
// transaction. A person's name and time zone are only overwritten when s
// gives them. Version is set to 1; zero Created/Updated become now.
func (s *Store) CreateSeries(ctx context.Context, ser calendar.Series) error {
	if err := s.createSeries(ctx, ser); err != nil {
		return fmt.Errorf("store: create series %s: %w", ser.ID, err)
	}
	return nil
}

func (s *Store) createSeries(ctx context.Context, ser calendar.Series) error {
	row, err := seriesRow(ser)
	if err != nil {
		return err
	}
	now := time.Now()
	if ser.Created.IsZero() {
		ser.Created = now
	}
	if ser.Updated.IsZero() {
		ser.Updated = ser.Created
	}
	created, err := nanos("created", ser.Created)
	if err != nil {
		return err
	}
	updated, err := nanos("updated", ser.Updated)
	if err != nil {
		return err
	}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		if err := upsertPeople(ctx, tx, now, row.manager, row.report); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO series (id, manager_email, report_email, start_local, timezone,
			cadence, duration_seconds, team, calendar, state, created, updated, version)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 1)`,
			ser.ID, row.manager.Email, row.report.Email, row.startLocal, ser.Timezone,
			ser.Cadence, row.durationSeconds, ser.Team, ser.Calendar, row.state, created, updated)
		return err
	})
	if isUniqueViolation(err) {
		return s.conflictOf(ctx, ser.ID, row.manager.Email, row.report.Email)
	}
	return err
}

// conflictOf explains a unique violation on series: the id or the pair.
// It runs after the failed transaction, whose connection PostgreSQL has
// aborted.
func (s *Store) conflictOf(ctx context.Context, id, manager, report string) error {
	var other string
	err := s.read.QueryRowContext(ctx, `SELECT id FROM series WHERE manager_email = $1 AND report_email = $2`,
		manager, report).Scan(&other)
	if err == nil && other != id {
		return fmt.Errorf("manager %s and report %s already have series %s: %w", manager, report, other, errs.ErrConflict)
	}
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%w (and looking up the cause: %v)", errs.ErrConflict, err)
	}
	return fmt.Errorf("series id %s already exists: %w", id, errs.ErrConflict)
}

// GetSeries returns one series or errs.ErrNotFound.
func (s *Store) GetSeries(ctx context.Context, id string) (calendar.Series, error) {
	ser, err := getSeries(ctx, s.read, id)
	if err != nil {
		return calendar.Series{}, fmt.Errorf("store: get series %s: %w", id, err)
	}
	return ser, nil
}

func getSeries(ctx context.Context, q querier, id string) (calendar.Series, error) {
	ser, err := scanSeries(q.QueryRowContext(ctx, `SELECT `+seriesColumns+` WHERE s.id = $1`, id), zones{})
	if errors.Is(err, sql.ErrNoRows) {
		return calendar.Series{}, errs.ErrNotFound
	}
	return ser, err
}

// UpdateSeries replaces a series (and upserts its people as CreateSeries
// does). A non-zero ser.Version that is not the stored one is
// errs.ErrConflict. The version is incremented, Updated set to now and
// Created kept; the stored series is returned.
func (s *Store) UpdateSeries(ctx context.Context, ser calendar.Series) (calendar.Series, error) {
	out, err := s.updateSeries(ctx, ser)
	if err != nil {
		return calendar.Series{}, fmt.Errorf("store: update series %s: %w", ser.ID, err)
	}
	return out, nil
}

func (s *Store) updateSeries(ctx context.Context, ser calendar.Series) (calendar.Series, error) {
	row, err := seriesRow(ser)
	if err != nil {
		return calendar.Series{}, err
	}
	now := time.Now()
	var out calendar.Series
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		if err := upsertPeople(ctx, tx, now, row.manager, row.report); err != nil {
			return err
		}
		query := `UPDATE series SET manager_email = $2, report_email = $3, start_local = $4, timezone = $5,
			cadence = $6, duration_seconds = $7, team = $8, calendar = $9, state = $10, updated = $11,
			version = version + 1
			WHERE id = $1`
		args := []any{ser.ID, row.manager.Email, row.report.Email, row.startLocal, ser.Timezone,
			ser.Cadence, row.durationSeconds, ser.Team, ser.Calendar, row.state, now.UnixNano()}
		if ser.Version != 0 {
			query += ` AND version = $12`
			args = append(args, int64(ser.Version))
		}
		res, err := tx.ExecContext(ctx, query, args...)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			var stored int64
			err := tx.QueryRowContext(ctx, `SELECT version FROM series WHERE id = $1`, ser.ID).Scan(&stored)
			if errors.Is(err, sql.ErrNoRows) {
				return errs.ErrNotFound
			}
			if err != nil {
				return err
			}
			return fmt.Errorf("version %d is stale, the stored version is %d: %w", ser.Version, stored, errs.ErrConflict)
		}
		out, err = getSeries(ctx, tx, ser.ID)
		return err
	})
	if isUniqueViolation(err) {
		return calendar.Series{}, s.conflictOf(ctx, ser.ID, row.manager.Email, row.report.Email)
	}
	return out, err
}

// DeleteSeries removes a series and its overrides; a missing series is
// errs.ErrNotFound.
func (s *Store) DeleteSeries(ctx context.Context, id string) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM series WHERE id = $1`, id)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err == nil && n == 0 {
			err = errs.ErrNotFound
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("store: delete series %s: %w", id, err)
	}
	return nil
}

// ListSeries returns series ordered by id, after opt.After, at most
// opt.Limit (0 = all), only of opt.Team when it is set.
func (s *Store) ListSeries(ctx context.Context, opt calendar.ListOptions) ([]calendar.Series, error) {
	if opt.Limit < 0 {
		return nil, fmt.Errorf("store: list series: %w", errs.Invalidf("limit", "must not be negative, got %d", opt.Limit))
	}
	var (
		where []string
		args  []any
	)
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	if opt.Team != "" {
		where = append(where, "s.team = "+arg(opt.Team))
	}
	if opt.After != "" {
		where = append(where, "s.id > "+arg(opt.After))
	}
	query := `SELECT ` + seriesColumns
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, " AND ")
	}
	query += ` ORDER BY s.id`
	if opt.Limit > 0 {
		query += ` LIMIT ` + arg(int64(opt.Limit))
	}
	out, err := querySeries(ctx, s.read, query, args...)
	if err != nil {
		return nil, fmt.Errorf("store: list series: %w", err)
	}
	return out, nil
}

// CountSeries returns how many series are stored.
func (s *Store) CountSeries(ctx context.Context) (int, error) {
	var n int64
	if err := s.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM series`).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: count series: %w", err)
	}
	return int(n), nil
}

// SeriesOf returns every series the person is manager or report of,
// ordered by id.
func (s *Store) SeriesOf(ctx context.Context, email string) ([]calendar.Series, error) {
	email = normalizeEmail(email)
	out, err := querySeries(ctx, s.read, `SELECT `+seriesColumns+`
		WHERE s.manager_email = $1 OR s.report_email = $1 ORDER BY s.id`, email)
	if err != nil {
		return nil, fmt.Errorf("store: series of %s: %w", email, err)
	}
	return out, nil
}

func querySeries(ctx context.Context, q querier, query string, args ...any) ([]calendar.Series, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out, z := []calendar.Series{}, zones{}
	for rows.Next() {
		ser, err := scanSeries(rows, z)
		if err != nil {
			return nil, err
		}
		out = append(out, ser)
	}
	return out, rows.Err()
}

// PutOverride inserts or replaces the override of one occurrence. The series
// must exist (errs.ErrNotFound otherwise); a zero Updated becomes now.
func (s *Store) PutOverride(ctx context.Context, o calendar.Override) error {
	if err := s.putOverride(ctx, o); err != nil {
		return fmt.Errorf("store: put override %s/%s: %w", o.SeriesID, calendar.OccurrenceKey(o.OriginalStart), err)
	}
	return nil
}

func (s *Store) putOverride(ctx context.Context, o calendar.Override) error {
	if o.OriginalStart.IsZero() {
		return errs.Invalidf("original_start", "is required")
	}
	if o.Updated.IsZero() {
		o.Updated = time.Now()
	}
	var (
		vals [5]sql.NullInt64
		err  error
	)
	for i, f := range []struct {
		name string
		t    time.Time
	}{{"original_start", o.OriginalStart}, {"start", o.Start}, {"end", o.End}, {"cancelled_at", o.CancelledAt}, {"updated", o.Updated}} {
		if vals[i], err = nullNanos(f.name, f.t); err != nil {
			return err
		}
	}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO overrides (series_id, original_start, moved_start, moved_end,
			cancelled, cancelled_by, cancelled_at, held, updated)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
			ON CONFLICT (series_id, original_start) DO UPDATE SET
			moved_start = excluded.moved_start, moved_end = excluded.moved_end,
			cancelled = excluded.cancelled, cancelled_by = excluded.cancelled_by,
			cancelled_at = excluded.cancelled_at, held = excluded.held, updated = excluded.updated`,
			o.SeriesID, vals[0], vals[1], vals[2], o.Cancelled, o.CancelledBy, vals[3], o.Held, vals[4])
		return err
	})
	if isForeignKeyViolation(err) {
		return fmt.Errorf("series %s: %w", o.SeriesID, errs.ErrNotFound)
	}
	return err
}

// ListOverrides returns the overrides of a series whose original start lies
// in [from, to), ordered by original start. A zero from or to leaves that
// side open. An unknown series has no overrides.
func (s *Store) ListOverrides(ctx context.Context, seriesID string, from, to time.Time) ([]calendar.Override, error) {
	out, err := s.listOverrides(ctx, seriesID, from, to)
	if err != nil {
		return nil, fmt.Errorf("store: list overrides of %s: %w", seriesID, err)
	}
	return out, nil
}

// OverridesBetween returns the overrides of every series whose original
// start lies in [from, to), ordered by series id and original start, so that
// a page over many series costs one query instead of one per series.
func (s *Store) OverridesBetween(ctx context.Context, from, to time.Time) ([]calendar.Override, error) {
	out, err := s.listOverrides(ctx, "", from, to)
	if err != nil {
		return nil, fmt.Errorf("store: list overrides: %w", err)
	}
	return out, nil
}

// listOverrides lists the overrides of one series, or of all when seriesID
// is empty.
func (s *Store) listOverrides(ctx context.Context, seriesID string, from, to time.Time) ([]calendar.Override, error) {
	lo, hi := int64(math.MinInt64), int64(math.MaxInt64)
	if !from.IsZero() {
		lo = clampNanos(from)
	}
	if !to.IsZero() {
		hi = clampNanos(to)
	}
	rows, err := s.read.QueryContext(ctx, `SELECT series_id, original_start, moved_start, moved_end,
		cancelled, cancelled_by, cancelled_at, held, updated
		FROM overrides WHERE ($1 = '' OR series_id = $1) AND original_start >= $2 AND original_start < $3
		ORDER BY series_id, original_start`, seriesID, lo, hi)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []calendar.Override{}
	for rows.Next() {
		var (
			o                                 calendar.Override
			original, updated                 int64
			movedStart, movedEnd, cancelledAt sql.NullInt64
		)
		if err := rows.Scan(&o.SeriesID, &original, &movedStart, &movedEnd, &o.Cancelled, &o.CancelledBy,
			&cancelledAt, &o.Held, &updated); err != nil {
			return nil, err
		}
		o.OriginalStart = fromNanos(original)
		o.Start = fromNullNanos(movedStart)
		o.End = fromNullNanos(movedEnd)
		o.CancelledAt = fromNullNanos(cancelledAt)
		o.Updated = fromNanos(updated)
		out = append(out, o)
	}
	return out, rows.Err()
}

// GetPerson returns one person by e-mail (case-insensitive) or
// errs.ErrNotFound.
func (s *Store) GetPerson(ctx context.Context, email string) (calendar.Person, error) {
	email = normalizeEmail(email)
	var p calendar.Person
	err := s.read.QueryRowContext(ctx, `SELECT email, name, timezone FROM people WHERE email = $1`, email).
		Scan(&p.Email, &p.Name, &p.Timezone)
	if errors.Is(err, sql.ErrNoRows) {
		err = errs.ErrNotFound
	}
	if err != nil {
		return calendar.Person{}, fmt.Errorf("store: get person %s: %w", email, err)
	}
	return p, nil
}

// ListPeople returns people ordered by e-mail; a non-empty email keeps only
// that person (case-insensitive).
func (s *Store) ListPeople(ctx context.Context, email string) ([]calendar.Person, error) {
	query, args := `SELECT email, name, timezone FROM people ORDER BY email`, []any(nil)
	if email != "" {
		query, args = `SELECT email, name, timezone FROM people WHERE email = $1`, []any{normalizeEmail(email)}
	}
	out, err := func() ([]calendar.Person, error) {
		rows, err := s.read.QueryContext(ctx, query, args...)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		out := []calendar.Person{}
		for rows.Next() {
			var p calendar.Person
			if err := rows.Scan(&p.Email, &p.Name, &p.Timezone); err != nil {
				return nil, err
			}
			out = append(out, p)
		}
		return out, rows.Err()
	}()
	if err != nil {
		return nil, fmt.Errorf("store: list people: %w", err)
	}
	return out, nil
}

// FeedToken returns the person's ICS feed token, creating one on first use.
// The token is stored in clear (it must be handed back) next to its SHA-256,
// by which PersonByFeedToken looks it up.
func (s *Store) FeedToken(ctx context.Context, email string) (string, error) {
	email = normalizeEmail(email)
	var token string
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		fresh, sum, err := newFeedToken()
		if err != nil {
			return err
		}
		// Only the first caller sets it; a concurrent one reads the winner's.
		if _, err := tx.ExecContext(ctx, `UPDATE people SET feed_token = $2, feed_token_sha256 = $3
			WHERE email = $1 AND feed_token IS NULL`, email, fresh, sum); err != nil {
			return err
		}
		err = tx.QueryRowContext(ctx, `SELECT feed_token FROM people WHERE email = $1`, email).Scan(&token)
		if errors.Is(err, sql.ErrNoRows) {
			return errs.ErrNotFound
		}
		return err
	})
	if err != nil {
		return "", fmt.Errorf("store: feed token of %s: %w", email, err)
	}
	return token, nil
}

// RotateFeedToken gives the person a new feed token; the old one stops
// resolving.
func (s *Store) RotateFeedToken(ctx context.Context, email string) (string, error) {
	email = normalizeEmail(email)
	token, sum, err := newFeedToken()
	if err == nil {
		err = s.inTx(ctx, func(tx *sql.Tx) error {
			res, err := tx.ExecContext(ctx, `UPDATE people SET feed_token = $2, feed_token_sha256 = $3 WHERE email = $1`,
				email, token, sum)
			if err != nil {
				return err
			}
			n, err := res.RowsAffected()
			if err == nil && n == 0 {
				err = errs.ErrNotFound
			}
			return err
		})
	}
	if err != nil {
		return "", fmt.Errorf("store: rotate feed token of %s: %w", email, err)
	}
	return token, nil
}

// PersonByFeedToken resolves a feed token to its person, or
// errs.ErrNotFound.
func (s *Store) PersonByFeedToken(ctx context.Context, token string) (calendar.Person, error) {
	var (
		p      calendar.Person
		stored string
	)
	err := errs.ErrNotFound
	if token != "" {
		err = s.read.QueryRowContext(ctx, `SELECT email, name, timezone, feed_token FROM people
			WHERE feed_token_sha256 = $1`, feedTokenSum(token)).Scan(&p.Email, &p.Name, &p.Timezone, &stored)
		if errors.Is(err, sql.ErrNoRows) ||
			(err == nil && subtle.ConstantTimeCompare([]byte(stored), []byte(token)) != 1) {
			err = errs.ErrNotFound
		}
	}
	if err != nil {
		// Never put the token itself in an error: errors get logged.
		return calendar.Person{}, fmt.Errorf("store: person by feed token: %w", err)
	}
	return p, nil
}

func newFeedToken() (token, sum string, err error) {
	b := make([]byte, feedTokenBytes)
	if _, err := rand.Read(b); err != nil {
		return "", "", fmt.Errorf("generate feed token: %w", err)
	}
	token = base64.RawURLEncoding.EncodeToString(b)
	return token, feedTokenSum(token), nil
}

func feedTokenSum(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// upsertPeople inserts the people that are new and overwrites the name and
// time zone of those that exist only where the given value is non-empty.
func upsertPeople(ctx context.Context, tx *sql.Tx, now time.Time, people ...calendar.Person) error {
	for _, p := range people {
		if _, err := tx.ExecContext(ctx, `INSERT INTO people (email, name, timezone, created) VALUES ($1, $2, $3, $4)
			ON CONFLICT (email) DO UPDATE SET
			name = CASE WHEN excluded.name <> '' THEN excluded.name ELSE people.name END,
			timezone = CASE WHEN excluded.timezone <> '' THEN excluded.timezone ELSE people.timezone END`,
			p.Email, p.Name, p.Timezone, now.UnixNano()); err != nil {
			return fmt.Errorf("upsert person %s: %w", p.Email, err)
		}
	}
	return nil
}

// row is a series' columns that need converting.
type row struct {
	manager, report calendar.Person
	startLocal      string
	durationSeconds int64
	state           string
}

// seriesRow checks what the store needs to keep a series faithfully and
// converts it to columns.
func seriesRow(ser calendar.Series) (row, error) {
	r := row{manager: ser.Manager, report: ser.Report, state: string(ser.State)}
	r.manager.Email = normalizeEmail(r.manager.Email)
	r.report.Email = normalizeEmail(r.report.Email)
	switch {
	case ser.ID == "":
		return r, errs.Invalidf("id", "is required")
	case r.manager.Email == "":
		return r, errs.Invalidf("manager.email", "is required")
	case r.report.Email == "":
		return r, errs.Invalidf("report.email", "is required")
	case ser.Start.IsZero():
		return r, errs.Invalidf("start", "is required")
	}
	loc, err := time.LoadLocation(ser.Timezone)
	if err != nil || ser.Timezone == "" {
		return r, errs.Invalidf("timezone", "%q is not an IANA time zone", ser.Timezone)
	}
	local := ser.Start.In(loc)
	if y := local.Year(); y < 1 || y > 9999 {
		// startLayout has four year digits: anything else would be written
		// but could never be read back, breaking every later read.
		return r, errs.Invalidf("start", "year %d is outside 1..9999", y)
	}
	r.startLocal = local.Format(startLayout)
	r.durationSeconds = int64(ser.Duration / time.Second)
	if r.state == "" {
		r.state = string(calendar.StateActive)
	}
	return r, nil
}

// scanner is a *sql.Row or *sql.Rows.
type scanner interface{ Scan(dest ...any) error }

// zones caches time.LoadLocation, which reads the zone file on every call,
// for the rows of one query.
type zones map[string]*time.Location

func (z zones) load(name string) (*time.Location, error) {
	if loc, ok := z[name]; ok {
		return loc, nil
	}
	loc, err := time.LoadLocation(name)
	if err == nil {
		z[name] = loc
	}
	return loc, err
}

func scanSeries(sc scanner, z zones) (calendar.Series, error) {
	var (
		ser                       calendar.Series
		startLocal, state         string
		duration, created, update int64
		version                   int64
	)
	if err := sc.Scan(&ser.ID, &ser.Manager.Email, &ser.Manager.Name, &ser.Manager.Timezone,
		&ser.Report.Email, &ser.Report.Name, &ser.Report.Timezone,
		&startLocal, &ser.Timezone, &ser.Cadence, &duration, &ser.Team, &ser.Calendar, &state,
		&created, &update, &version); err != nil {
		return calendar.Series{}, err
	}
	loc, err := z.load(ser.Timezone)
	if err != nil {
		return calendar.Series{}, fmt.Errorf("series %s: time zone %q: %w", ser.ID, ser.Timezone, err)
	}
	ser.Start, err = time.ParseInLocation(startLayout, startLocal, loc)
	if err != nil {
		return calendar.Series{}, fmt.Errorf("series %s: start %q: %w", ser.ID, startLocal, err)
	}
	ser.Duration = time.Duration(duration) * time.Second
	ser.State = calendar.State(state)
	ser.Created = fromNanos(created)
	ser.Updated = fromNanos(update)
	ser.Version = int(version)
	return ser, nil
}

func normalizeEmail(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

// Instants are stored as Unix nanoseconds, which is exact for a time.Time,
// sorts, and is the same in both engines. It spans the years 1678 to 2262.
var (
	minInstant = time.Unix(0, math.MinInt64)
	maxInstant = time.Unix(0, math.MaxInt64)
)

func nanos(field string, t time.Time) (int64, error) {
	if t.Before(minInstant) || t.After(maxInstant) {
		return 0, errs.Invalidf(field, "%s is outside the years 1678 to 2262", t.Format(time.RFC3339))
	}
	return t.UnixNano(), nil
}

func nullNanos(field string, t time.Time) (sql.NullInt64, error) {
	if t.IsZero() {
		return sql.NullInt64{}, nil
	}
	n, err := nanos(field, t)
	return sql.NullInt64{Int64: n, Valid: err == nil}, err
}

// clampNanos converts a query bound, saturating outside the storable range.
func clampNanos(t time.Time) int64 {
	switch {
	case t.Before(minInstant):
		return math.MinInt64
	case t.After(maxInstant):
		return math.MaxInt64
	}
	return t.UnixNano()
}

func fromNanos(n int64) time.Time { return time.Unix(0, n).UTC() }

func fromNullNanos(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return fromNanos(n.Int64)
}
