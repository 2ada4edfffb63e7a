package calendar

import (
	"context"
	"time"
)

// Store is the storage the calendar domain needs. Implementations live in
// package store (SQLite and PostgreSQL). Errors wrap errs.ErrNotFound and
// errs.ErrConflict where a caller must tell them apart.
type Store interface {
	// CreateSeries stores a new series and upserts its two people, in one
	// transaction. s.ID must be set. A second series for the same
	// manager/report pair is errs.ErrConflict.
	CreateSeries(ctx context.Context, s Series) error
	// GetSeries returns one series or errs.ErrNotFound.
	GetSeries(ctx context.Context, id string) (Series, error)
	// UpdateSeries replaces a series. When s.Version is non-zero and not
	// the stored version, it is errs.ErrConflict. The stored version is
	// incremented; the new series is returned.
	UpdateSeries(ctx context.Context, s Series) (Series, error)
	// DeleteSeries removes a series and its overrides.
	DeleteSeries(ctx context.Context, id string) error
	// ListSeries returns series ordered by id, after opt.After, at most
	// opt.Limit (0 = all), filtered by team when set.
	ListSeries(ctx context.Context, opt ListOptions) ([]Series, error)
	// CountSeries returns how many series are stored.
	CountSeries(ctx context.Context) (int, error)

	// PutOverride inserts or replaces the override of one occurrence.
	PutOverride(ctx context.Context, o Override) error
	// ListOverrides returns the overrides of a series whose original start
	// lies in [from, to), ordered by original start.
	ListOverrides(ctx context.Context, seriesID string, from, to time.Time) ([]Override, error)
	// OverridesBetween returns the overrides of every series whose original
	// start lies in [from, to), ordered by series id and original start.
	OverridesBetween(ctx context.Context, from, to time.Time) ([]Override, error)

	// GetPerson returns one person by e-mail (case-insensitive) or
	// errs.ErrNotFound.
	GetPerson(ctx context.Context, email string) (Person, error)
	// ListPeople returns people ordered by e-mail; email filters exactly.
	ListPeople(ctx context.Context, email string) ([]Person, error)
	// FeedToken returns the person's ICS feed token, creating one on first
	// use. PersonByFeedToken resolves it; RotateFeedToken revokes the old one.
	FeedToken(ctx context.Context, email string) (string, error)
	PersonByFeedToken(ctx context.Context, token string) (Person, error)
	RotateFeedToken(ctx context.Context, email string) (string, error)
	// SeriesOf returns every series a person is manager or report of.
	SeriesOf(ctx context.Context, email string) ([]Series, error)
}

// ListOptions pages through series.
type ListOptions struct {
	Team  string
	After string // a series id; "" starts at the beginning
	Limit int
}
