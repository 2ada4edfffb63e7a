package agenda

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/oneonone/oneonone/calendar"
	"github.com/oneonone/oneonone/internal/errs"
)

// Actor is the person asking: their e-mail and, when the caller knows it,
// their role in the series (checked, not trusted).
type Actor struct {
	Email string
	Role  Role
}

// SeriesSource finds a series; calendar.Store satisfies it.
type SeriesSource interface {
	GetSeries(ctx context.Context, id string) (calendar.Series, error)
}

// Broadcaster receives every accepted change after it is committed, in
// the order of the occurrence's sequence numbers. Publish is called while
// the series' operations are serialised, so it must not block (queue the
// event, drop a slow client). An Event with VisibleTo set must reach only
// that person.
type Broadcaster interface {
	Publish(seriesID, key string, ev Event)
}

// Observer is told about added items, for metrics (metrics.AgendaObserver
// satisfies it). Private notes and template topics are not reported.
type Observer interface {
	AgendaItemAdded(team, authorRole string)
}

// Options configure a Service. Store and Series are required.
type Options struct {
	Store       Store
	Series      SeriesSource
	Broadcaster Broadcaster // optional
	Observer    Observer    // optional
	Now         func() time.Time
	Logger      *slog.Logger
	// SeriesCacheTTL is how long a series read for the access check is
	// trusted: 0 means DefaultSeriesCacheTTL, a negative value reads it
	// every time.
	SeriesCacheTTL time.Duration
}

// Service is the agenda's operation engine and read API. It is safe for
// concurrent use.
type Service struct {
	store    Store
	series   SeriesSource
	bc       Broadcaster
	observer Observer
	now      func() time.Time
	log      *slog.Logger
	locks    seriesLocks
	tpl      *Templates
}

// New returns a Service.
func New(opt Options) (*Service, error) {
	if opt.Store == nil || opt.Series == nil {
		return nil, errors.New("agenda: New needs a Store and a SeriesSource")
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	tpl, err := LoadTemplates()
	if err != nil {
		return nil, err
	}
	if opt.SeriesCacheTTL == 0 {
		opt.SeriesCacheTTL = DefaultSeriesCacheTTL
	}
	return &Service{store: opt.Store, series: newSeriesCache(opt.Series, opt.SeriesCacheTTL), bc: opt.Broadcaster, observer: opt.Observer,
		now: opt.Now, log: opt.Logger, locks: seriesLocks{m: map[string]*seriesLock{}}, tpl: tpl}, nil
}

// Status is the outcome of an operation.
type Status string

const (
	StatusApplied  Status = "applied"
	StatusConflict Status = "conflict"
)

// Result answers the sender of an operation.
type Result struct {
	OpID   string `json:"op_id"`
	Status Status `json:"status"`
	// Seq is the op's place in the occurrence's order (0 for a conflict).
	Seq int64 `json:"seq,omitempty"`
	// Item is the item after the op, or the current item on a conflict.
	Item *Item `json:"item,omitempty"`
	// Conflict tells the sender which field changed under them and its
	// current value: their edit was not applied, nothing was lost.
	Conflict *Conflict `json:"conflict,omitempty"`
	// Replayed marks the stored result of an op applied before.
	Replayed bool `json:"replayed,omitempty"`
}

// Conflict describes a rejected stale change.
type Conflict struct {
	Field   string `json:"field"`   // the field edited, "done", or "" for a delete
	Current string `json:"current"` // its current value
	Version int64  `json:"version"` // the item's current version
}

// Event is one accepted change, for the people watching an occurrence and
// for its history. VisibleTo is "" when both may see it, else the only
// e-mail that may (a private note's author); the meet layer routes by it.
type Event struct {
	SeriesID   string    `json:"series"`
	Occurrence string    `json:"occurrence"`
	Seq        int64     `json:"seq"`
	OpID       string    `json:"op_id"`
	Kind       OpKind    `json:"kind"`
	Field      string    `json:"field,omitempty"`
	ActorRole  Role      `json:"actor_role"`
	Item       Item      `json:"item"`
	At         time.Time `json:"at"`
	VisibleTo  string    `json:"-"`
}

// For reports whether the person with e-mail may receive ev.
func (ev Event) For(email string) bool {
	return ev.VisibleTo == "" || strings.EqualFold(ev.VisibleTo, normalizeEmail(email))
}

// Agenda is what one person sees of an occurrence: the action items
// carried into it first (oldest occurrence first), then its own items in
// order. Seq is the last op applied, so a client can ask for what follows.
type Agenda struct {
	SeriesID   string `json:"series"`
	Occurrence string `json:"occurrence"`
	Items      []Item `json:"items"`
	Seq        int64  `json:"seq"`
}

// Apply applies one operation of actor to occurrence key of a series.
// Operations of a series are serialised; an accepted one is committed and
// published before Apply returns. A stale change is not an error but a
// Result with StatusConflict. Errors: errs.ErrForbidden (not one of the
// pair), errs.ErrNotFound (no such series, occurrence or visible item),
// errs.ErrConflict (an id already taken), *errs.Invalid naming the field.
func (s *Service) Apply(ctx context.Context, actor Actor, seriesID, key string, op Op) (Result, error) {
	return s.apply(ctx, actor, seriesID, key, op, true)
}

func (s *Service) apply(ctx context.Context, actor Actor, seriesID, key string, op Op, count bool) (Result, error) {
	if err := op.Validate(); err != nil {
		return Result{}, err
	}
	ser, actor, err := s.authorize(ctx, actor, seriesID)
	if err != nil {
		return Result{}, err
	}
	real, err := s.checkOccurrence(ser, key)
	if err != nil {
		return Result{}, err
	}
	unlock := s.locks.lock(seriesID)
	defer unlock()

	var (
		res   Result
		ev    *Event
		added bool
	)
	now := s.now().UTC()
	err = s.store.UpdateAgenda(ctx, seriesID, func(tx Tx) error {
		res, ev, added = Result{}, nil, false
		rec, err := tx.Op(ctx, seriesID, key, op.ID)
		if err == nil {
			res, err = replay(rec, actor)
			return err
		}
		if !errors.Is(err, errs.ErrNotFound) {
			return err
		}
		e := &engine{tx: tx, ser: ser, actor: actor, key: key, now: now}
		if !real {
			// A key that is no occurrence of the series' rule (any more) is
			// accepted only where an agenda already exists, so history made
			// before a cadence change stays editable.
			own, err := e.own(ctx)
			if err != nil {
				return err
			}
			if len(own) == 0 {
				return fmt.Errorf("agenda: occurrence %s of series %s: %w", key, seriesID, errs.ErrNotFound)
			}
		}
		out, err := e.apply(ctx, op)
		if err != nil {
			return err
		}
		if out.conflict != nil {
			view := out.item.view(key)
			res = Result{OpID: op.ID, Status: StatusConflict, Item: &view, Conflict: out.conflict}
			return nil
		}
		view := out.item.view(key)
		res = Result{OpID: op.ID, Status: StatusApplied, Item: &view}
		if out.changed {
			if err := tx.PutItem(ctx, out.item); err != nil {
				return err
			}
		}
		rec = OpRecord{SeriesID: seriesID, Occurrence: key, OpID: op.ID, Kind: op.Kind, ItemID: out.item.ID,
			Field: op.Field, ActorEmail: actor.Email, ActorRole: actor.Role, At: now}
		if out.item.Kind == KindPrivateNote {
			rec.VisibleTo = out.item.AuthorEmail
		}
		// The op is logged, given a seq and published even when it changed
		// nothing (a check of a checked item), so that its replay answers
		// the same and the event stream has no gaps.
		seq, err := tx.NextSeq(ctx, seriesID, key)
		if err != nil {
			return err
		}
		res.Seq, rec.Seq = seq, seq
		if rec.Result, err = json.Marshal(res); err != nil {
			return err
		}
		if err := tx.AppendOp(ctx, rec); err != nil {
			return err
		}
		ev = &Event{SeriesID: seriesID, Occurrence: key, Seq: seq, OpID: op.ID, Kind: op.Kind, Field: op.Field,
			ActorRole: actor.Role, Item: view, At: now, VisibleTo: rec.VisibleTo}
		added = out.changed && op.Kind == OpAdd
		return nil
	})
	if err != nil {
		return Result{}, fmt.Errorf("agenda: apply %s %s to %s/%s: %w", op.Kind, op.ID, seriesID, key, err)
	}
	s.log.Debug("agenda: op", "series", seriesID, "occurrence", key, "op", op.ID, "kind", op.Kind,
		"item", res.itemID(), "status", res.Status, "seq", res.Seq, "replayed", res.Replayed)
	if ev != nil {
		if s.bc != nil {
			s.bc.Publish(seriesID, key, *ev)
		}
		if count && added && s.observer != nil && ev.Item.Kind != KindPrivateNote {
			s.observer.AgendaItemAdded(ser.Team, string(actor.Role))
		}
	}
	return res, nil
}

func (r Result) itemID() string {
	if r.Item == nil {
		return ""
	}
	return r.Item.ID
}

// replay answers an op applied before with its stored result.
func replay(rec OpRecord, actor Actor) (Result, error) {
	if rec.ActorEmail != actor.Email {
		return Result{}, fmt.Errorf("op id %s was used by another person: %w", rec.OpID, errs.ErrConflict)
	}
	var res Result
	if err := json.Unmarshal(rec.Result, &res); err != nil {
		return Result{}, fmt.Errorf("stored result of op %s: %w", rec.OpID, err)
	}
	res.Replayed = true
	return res, nil
}

// authorize returns the series and the actor with their normalised e-mail
// and role, or errs.ErrForbidden for anyone but the series' two people.
func (s *Service) authorize(ctx context.Context, actor Actor, seriesID string) (calendar.Series, Actor, error) {
	email := normalizeEmail(actor.Email)
	if email == "" {
		return calendar.Series{}, Actor{}, fmt.Errorf("agenda: no actor: %w", errs.ErrUnauthorized)
	}
	ser, err := s.series.GetSeries(ctx, seriesID)
	if err != nil {
		return calendar.Series{}, Actor{}, fmt.Errorf("agenda: series %s: %w", seriesID, err)
	}
	var role Role
	switch email {
	case normalizeEmail(ser.Manager.Email):
		role = RoleManager
	case normalizeEmail(ser.Report.Email):
		role = RoleReport
	default:
		return calendar.Series{}, Actor{}, fmt.Errorf("agenda: series %s: only its manager and report see its agenda: %w", seriesID, errs.ErrForbidden)
	}
	if actor.Role != "" && actor.Role != role {
		return calendar.Series{}, Actor{}, fmt.Errorf("agenda: series %s: %s is not its %s: %w", seriesID, email, actor.Role, errs.ErrForbidden)
	}
	return ser, Actor{Email: email, Role: role}, nil
}

// checkOccurrence validates key and reports whether it is an occurrence of
// the series' current rule.
func (s *Service) checkOccurrence(ser calendar.Series, key string) (bool, error) {
	t, err := calendar.ParseOccurrenceKey(key)
	if err != nil {
		return false, errs.Invalidf("occurrence", "%q is not an occurrence key like 20261201T010000Z", truncate(key))
	}
	occ, err := ser.Occurrences(t, t.Add(time.Second), nil, s.now())
	return err == nil && len(occ) == 1 && occ[0].Key == key, nil
}

// List returns occurrence key's agenda as actor sees it: their private
// notes but never the other person's.
func (s *Service) List(ctx context.Context, actor Actor, seriesID, key string) (Agenda, error) {
	_, actor, err := s.authorize(ctx, actor, seriesID)
	if err != nil {
		return Agenda{}, err
	}
	if _, err := calendar.ParseOccurrenceKey(key); err != nil {
		return Agenda{}, errs.Invalidf("occurrence", "%q is not an occurrence key like 20261201T010000Z", truncate(key))
	}
	items, seq, err := s.store.AgendaItems(ctx, seriesID, key, actor.Email)
	if err != nil {
		return Agenda{}, fmt.Errorf("agenda: list %s/%s: %w", seriesID, key, err)
	}
	out := make([]Item, 0, len(items))
	for _, it := range items {
		// The store filters already; this keeps a private note from leaking
		// through a store that does not.
		if it.Deleted || !it.visibleTo(actor.Email) || (it.Occurrence != key && !it.carriedInto(key)) {
			continue
		}
		out = append(out, it.view(key))
	}
	sortAgenda(out, key)
	return Agenda{SeriesID: seriesID, Occurrence: key, Items: out, Seq: seq}, nil
}

// sortAgenda orders carried items first (oldest occurrence first), then
// the occurrence's own, each by rank.
func sortAgenda(items []Item, key string) {
	slices.SortFunc(items, func(a, b Item) int {
		ca, cb := a.Occurrence != key, b.Occurrence != key
		if ca != cb {
			if ca {
				return -1
			}
			return 1
		}
		return cmp.Or(strings.Compare(a.Occurrence, b.Occurrence), strings.Compare(a.Position, b.Position),
			strings.Compare(a.ID, b.ID))
	})
}

// view is the item as shown in occurrence key.
func (it Item) view(key string) Item {
	if it.Occurrence != key {
		it.FromOccurrence = it.Occurrence
	} else {
		it.FromOccurrence = ""
	}
	return it
}

// History returns the accepted changes of occurrence key after seq, in
// order (a reconnecting client asks for what it missed; a page browses the
// whole history with seq 0), without what only the other person may see.
// limit 0 means all.
func (s *Service) History(ctx context.Context, actor Actor, seriesID, key string, afterSeq int64, limit int) ([]Event, error) {
	_, actor, err := s.authorize(ctx, actor, seriesID)
	if err != nil {
		return nil, err
	}
	recs, err := s.store.AgendaOps(ctx, seriesID, key, actor.Email, afterSeq, limit)
	if err != nil {
		return nil, fmt.Errorf("agenda: history %s/%s: %w", seriesID, key, err)
	}
	out := make([]Event, 0, len(recs))
	for _, rec := range recs {
		if rec.VisibleTo != "" && rec.VisibleTo != actor.Email {
			continue
		}
		var res Result
		if err := json.Unmarshal(rec.Result, &res); err != nil {
			return nil, fmt.Errorf("agenda: history %s/%s: op %d: %w", seriesID, key, rec.Seq, err)
		}
		if res.Item == nil {
			continue
		}
		out = append(out, Event{SeriesID: seriesID, Occurrence: key, Seq: rec.Seq, OpID: rec.OpID, Kind: rec.Kind,
			Field: rec.Field, ActorRole: rec.ActorRole, Item: *res.Item, At: rec.At, VisibleTo: rec.VisibleTo})
	}
	return out, nil
}

// Occurrences lists the occurrences of a series that have an agenda visible
// to actor, newest first; before ("" = no bound) keeps only earlier ones,
// for browsing past occurrences.
func (s *Service) Occurrences(ctx context.Context, actor Actor, seriesID, before string) ([]OccurrenceSummary, error) {
	_, actor, err := s.authorize(ctx, actor, seriesID)
	if err != nil {
		return nil, err
	}
	out, err := s.store.AgendaOccurrences(ctx, seriesID, actor.Email, before)
	if err != nil {
		return nil, fmt.Errorf("agenda: occurrences of %s: %w", seriesID, err)
	}
	return out, nil
}

// OpenActions returns the open action items of a series (for the home
// page and reminders), oldest occurrence first.
func (s *Service) OpenActions(ctx context.Context, actor Actor, seriesID string) ([]Item, error) {
	if _, _, err := s.authorize(ctx, actor, seriesID); err != nil {
		return nil, err
	}
	items, err := s.store.OpenActionItems(ctx, seriesID)
	if err != nil {
		return nil, fmt.Errorf("agenda: open action items of %s: %w", seriesID, err)
	}
	slices.SortFunc(items, func(a, b Item) int {
		return cmp.Or(strings.Compare(a.Occurrence, b.Occurrence), strings.Compare(a.Position, b.Position),
			strings.Compare(a.ID, b.ID))
	})
	return items, nil
}

// OpenActionItemsByTeam counts open action items per team, for
// metrics.Options.ActionItemsOpen. Counts only, never text.
func (s *Service) OpenActionItemsByTeam(ctx context.Context) (map[string]int, error) {
	return s.store.OpenActionItemsByTeam(ctx)
}

// seriesLocks serialises the operations of each series in this process, so
// that they queue in Go rather than in the database, and events are
// published in sequence order.
type seriesLocks struct {
	mu sync.Mutex
	m  map[string]*seriesLock
}

type seriesLock struct {
	mu      sync.Mutex
	waiters int
}

func (l *seriesLocks) lock(id string) (unlock func()) {
	l.mu.Lock()
	e := l.m[id]
	if e == nil {
		e = &seriesLock{}
		l.m[id] = e
	}
	e.waiters++
	l.mu.Unlock()
	e.mu.Lock()
	return func() {
		e.mu.Unlock()
		l.mu.Lock()
		if e.waiters--; e.waiters == 0 {
			delete(l.m, id)
		}
		l.mu.Unlock()
	}
}

// newItemID returns a random item id.
func newItemID() (string, error) {
	b := make([]byte, 10)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("agenda: item id: %w", err)
	}
	return "i_" + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b)), nil
}
