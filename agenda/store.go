package agenda

import (
	"context"
	"time"
)

// Store is the storage the agenda needs, implemented by package store for
// SQLite and PostgreSQL. Errors wrap errs.ErrNotFound where a caller must
// tell it apart.
type Store interface {
	// UpdateAgenda runs fn in one write transaction, committed when fn
	// returns nil. Transactions of the same series are serialised, also
	// across daemons sharing a database, so that fn sees the agenda as no
	// other writer can change it until it commits.
	UpdateAgenda(ctx context.Context, seriesID string, fn func(tx Tx) error) error
	// AgendaItems returns, from one snapshot, the live (not deleted) items
	// of occurrence key: its own and the action items of earlier
	// occurrences carried into it (see Item.ClosedIn), except private notes
	// whose author is not viewer; and the occurrence's last op sequence.
	// Order is unspecified.
	AgendaItems(ctx context.Context, seriesID, key, viewer string) ([]Item, int64, error)
	// AgendaOps returns the op log of occurrence key with seq > afterSeq, in
	// order, at most limit (0 = all), without the ops that only another
	// person than viewer may see.
	AgendaOps(ctx context.Context, seriesID, key, viewer string, afterSeq int64, limit int) ([]OpRecord, error)
	// AgendaOccurrences summarises the occurrences of a series that have a
	// live item visible to viewer, newest first, only those before
	// before when it is not "".
	AgendaOccurrences(ctx context.Context, seriesID, viewer, before string) ([]OccurrenceSummary, error)
	// OpenActionItems returns the open (not done, not deleted) action items
	// of a series.
	OpenActionItems(ctx context.Context, seriesID string) ([]Item, error)
	// OpenActionItemsByTeam counts open action items per series team, for
	// the oneonone_action_items_open gauge.
	OpenActionItemsByTeam(ctx context.Context) (map[string]int, error)
}

// Tx is the view of the agenda inside UpdateAgenda's transaction.
type Tx interface {
	// Item returns one item (tombstones included) or errs.ErrNotFound.
	Item(ctx context.Context, seriesID, id string) (Item, error)
	// OccurrenceItems returns every item that belongs to occurrence key,
	// tombstones included, in no particular order.
	OccurrenceItems(ctx context.Context, seriesID, key string) ([]Item, error)
	// PutItem inserts or replaces an item (by series and id).
	PutItem(ctx context.Context, it Item) error
	// Op returns the logged op of occurrence key with client id opID, or
	// errs.ErrNotFound.
	Op(ctx context.Context, seriesID, key, opID string) (OpRecord, error)
	// NextSeq returns the sequence number the next op of occurrence key
	// takes: 1 for the first, one more than the last otherwise.
	NextSeq(ctx context.Context, seriesID, key string) (int64, error)
	// AppendOp logs an op. A seq or op id already logged in the occurrence
	// is errs.ErrConflict.
	AppendOp(ctx context.Context, rec OpRecord) error
}

// OpRecord is one accepted operation in an occurrence's history.
type OpRecord struct {
	SeriesID   string
	Occurrence string // where the op was applied
	Seq        int64  // order within the occurrence, from 1
	OpID       string
	Kind       OpKind
	ItemID     string
	Field      string
	ActorEmail string
	ActorRole  Role
	// VisibleTo is the only person who may read this record (the author of
	// a private note), or "" for both.
	VisibleTo string
	// Result is the Result returned when the op was applied, as JSON; a
	// replay returns it again.
	Result []byte
	At     time.Time
}

// OccurrenceSummary describes one occurrence's agenda for browsing history.
type OccurrenceSummary struct {
	Key     string    `json:"key"`
	Items   int       `json:"items"`   // live items visible to the viewer
	Updated time.Time `json:"updated"` // the latest change of those items
}
