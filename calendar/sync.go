package calendar

// The reconciler: desired state (the series in the store) ⇄ actual state
// (one calendar, through a Provider). One Reconciler runs per configured
// calendar. Each round first pulls what people changed in the calendar
// (moved, cancelled or declined occurrences, a new series time, a deleted
// series) into the store, then pushes what changed on our side. It does no
// I/O of its own beyond its Provider, Store and SyncStore.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sort"
	"sync"
	"time"

	"github.com/oneonone/oneonone/internal/errs"
)

// UIDSuffix makes a series id a globally unique event UID (the ICS feed
// uses the same, so one series is one event everywhere).
const UIDSuffix = "@oneonone"

// EventUID is the event UID of a series; it never changes.
func EventUID(seriesID string) string { return seriesID + UIDSuffix }

// RemoteState is what the reconciler knows of a series' event.
type RemoteState string

const (
	// RemotePending: the UID is reserved, the event may or may not exist
	// yet (a write is in flight, or a crash came between write and commit).
	RemotePending RemoteState = "pending"
	// RemoteSynced: the event was written or read back.
	RemoteSynced RemoteState = "synced"
	// RemoteDetached: someone deleted the event in the calendar.
	RemoteDetached RemoteState = "detached"
)

// SyncState is what the reconciler remembers about one series' event in
// one calendar.
type SyncState struct {
	CalendarID string
	SeriesID   string
	// UID is stored before the first write and never changes.
	UID  string
	Href string // "" while the event is not known to exist
	// Seen tags the event as last read or written (EventTag), so a
	// change feed that repeats it costs nothing.
	Seen     string
	Sequence int
	// WrittenVersion is the series version last written to the calendar,
	// or adopted from it; a series whose Version differs has a change of
	// ours to push.
	WrittenVersion int
	// WrittenStart, WrittenRule and WrittenDuration are the series-level
	// shape last written or adopted: comparing them with the calendar and
	// with the series tells whose change a difference is.
	WrittenStart    time.Time
	WrittenRule     string
	WrittenDuration time.Duration
	Remote          RemoteState
	// RemoteKeys are the occurrence keys (OccurrenceKey) whose overrides
	// came from the calendar; the others are ours to write.
	RemoteKeys []string
	// Notified is the last message sent to the attendees by the
	// Notifier (zero when none was, or there is no Notifier).
	Notified  Notice
	LastError string
	Updated   time.Time
}

func (st SyncState) ref() EventRef { return EventRef{UID: st.UID, Href: st.Href} }

// CalendarSync is what the reconciler remembers about one calendar.
type CalendarSync struct {
	CalendarID  string
	Cursor      string
	LastAttempt time.Time
	LastSuccess time.Time
	LastError   string
	// NeedsReauth is set when the calendar refused our credentials; an
	// operator must act (new password, new OAuth consent).
	NeedsReauth bool
	Updated     time.Time
}

// SyncStore keeps the reconciler's state; package store implements it.
type SyncStore interface {
	// SyncStates returns the states of every series in a calendar,
	// ordered by series id.
	SyncStates(ctx context.Context, calendarID string) ([]SyncState, error)
	// PutSyncState inserts or replaces one state.
	PutSyncState(ctx context.Context, st SyncState) error
	// DeleteSyncState forgets one series in one calendar (no error when
	// there is nothing to forget).
	DeleteSyncState(ctx context.Context, calendarID, seriesID string) error
	// CalendarSync returns a calendar's state; a calendar never synced
	// gets the zero value with CalendarID set.
	CalendarSync(ctx context.Context, calendarID string) (CalendarSync, error)
	// PutCalendarSync inserts or replaces a calendar's state.
	PutCalendarSync(ctx context.Context, cs CalendarSync) error
}

// SyncObserver receives one report per sync round (metrics implements it:
// oneonone_calendar_sync_duration_seconds, _errors_total and
// _last_success_timestamp_seconds). reason is "" on success, else one of
// auth, not_found, conflict, rate_limited, network, invalid, other.
type SyncObserver interface {
	ObserveSync(provider, calendarID string, d time.Duration, reason string)
}

// EventBuilder renders a series (with the overrides of its occurrences
// that we originated) as a provider-neutral Event. The daemon passes
// icsfeed.SeriesEvent, so the feed and calendars carry the same text.
type EventBuilder func(s Series, overrides []Override, roomURL string) (Event, error)

// ReconcilerConfig configures NewReconciler.
type ReconcilerConfig struct {
	CalendarID string
	// ProviderName labels metrics: "caldav", "google".
	ProviderName string
	Provider     Provider
	Store        Store
	SyncStore    SyncStore
	BuildEvent   EventBuilder
	// RoomURL returns the join link put into the event; nil = none.
	RoomURL func(seriesID string) string
	// Interval between rounds (jittered ±10%); default one minute.
	Interval time.Duration
	// MinBackoff and MaxBackoff bound the wait after a retryable failure;
	// defaults 2 s and 5 min. A longer Retry-After is honoured.
	MinBackoff, MaxBackoff time.Duration
	Logger                 *slog.Logger
	Observer               SyncObserver
	// Notifier tells attendees of our creates, changes and removals when
	// the calendar does not (nil: it does, or nobody is told).
	Notifier Notifier
	Now      func() time.Time
}

// Reconciler keeps one calendar in step with the store.
type Reconciler struct {
	cfg     ReconcilerConfig
	log     *slog.Logger
	trigger chan struct{}

	mu     sync.Mutex
	health error // last round's outcome, for readiness
	// round serialises SyncOnce: Run and tests may call it concurrently.
	round sync.Mutex
}

// NewReconciler checks cfg and returns a reconciler for one calendar.
func NewReconciler(cfg ReconcilerConfig) (*Reconciler, error) {
	switch {
	case cfg.CalendarID == "":
		return nil, errors.New("calendar: reconciler needs a calendar id")
	case cfg.Provider == nil || cfg.Store == nil || cfg.SyncStore == nil || cfg.BuildEvent == nil:
		return nil, fmt.Errorf("calendar: reconciler %s needs a provider, a store, a sync store and an event builder", cfg.CalendarID)
	}
	if cfg.Interval <= 0 {
		cfg.Interval = time.Minute
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = 2 * time.Second
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 5 * time.Minute
	}
	if cfg.MaxBackoff < cfg.MinBackoff {
		cfg.MaxBackoff = cfg.MinBackoff
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.RoomURL == nil {
		cfg.RoomURL = func(string) string { return "" }
	}
	if cfg.ProviderName == "" {
		cfg.ProviderName = "unknown"
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Reconciler{cfg: cfg, log: log.With("calendar", cfg.CalendarID, "provider", cfg.ProviderName),
		trigger: make(chan struct{}, 1)}, nil
}

// CalendarID is the calendar this reconciler keeps.
func (r *Reconciler) CalendarID() string { return r.cfg.CalendarID }

// Trigger asks Run for a round now (after an API change), without waiting.
func (r *Reconciler) Trigger() {
	select {
	case r.trigger <- struct{}{}:
	default:
	}
}

// Health is nil when the last round succeeded (or none ran yet), else why
// it failed: readiness reports calendars that are unreachable or need
// re-authorisation.
func (r *Reconciler) Health() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.health
}

// ErrNeedsReauth is wrapped by Health when the calendar refused our
// credentials.
var ErrNeedsReauth = fmt.Errorf("calendar: needs re-authorisation: %w", errs.ErrUnauthorized)

// Run runs rounds until ctx ends: every Interval (jittered) after a
// success, with exponential backoff and jitter after a retryable failure.
// It returns nil when ctx ends.
func (r *Reconciler) Run(ctx context.Context) error {
	failures := 0
	for {
		err := r.SyncOnce(ctx)
		if ctx.Err() != nil {
			return nil
		}
		var wait time.Duration
		if err == nil {
			failures = 0
			wait = jitter(r.cfg.Interval, 0.1)
		} else {
			failures++
			wait = r.backoff(failures, err)
			r.log.WarnContext(ctx, "calendar sync failed", "err", err, "retry_in", wait.Round(time.Millisecond).String(), "failures", failures)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		case <-r.trigger:
			t.Stop()
		}
	}
}

// backoff is the wait after the n-th failure in a row: exponential with
// full jitter in [b/2, b] for retryable faults, at least RetryAfter; the
// plain interval for faults that waiting fast will not fix.
func (r *Reconciler) backoff(n int, err error) time.Duration {
	pe, ok := AsProviderError(err)
	if !ok || !pe.Retryable() {
		return jitter(r.cfg.Interval, 0.1)
	}
	b := r.cfg.MinBackoff
	for i := 1; i < n && b < r.cfg.MaxBackoff; i++ {
		b *= 2
	}
	b = min(b, r.cfg.MaxBackoff)
	wait := b/2 + rand.N(b/2+1)
	if pe.RetryAfter > wait {
		wait = min(pe.RetryAfter, time.Hour)
	}
	return wait
}

// jitter spreads d by ±frac so that many daemons and calendars do not poll
// in lockstep.
func jitter(d time.Duration, frac float64) time.Duration {
	spread := time.Duration(float64(d) * frac)
	if spread <= 0 {
		return d
	}
	return d - spread + rand.N(2*spread+1)
}

// SyncReason maps a round's error to the bounded reason label of
// oneonone_calendar_sync_errors_total; "" for nil.
func SyncReason(err error) string {
	if err == nil {
		return ""
	}
	if pe, ok := AsProviderError(err); ok {
		switch pe.Reason {
		case ReasonUnauthorized:
			return "auth"
		case ReasonRateLimited:
			return "rate_limited"
		case ReasonUnavailable, ReasonTimeout, ReasonNetwork:
			return "network"
		case ReasonRejected, ReasonProtocol:
			return "invalid"
		}
	}
	var inv *errs.Invalid
	switch {
	case errors.Is(err, errs.ErrUnauthorized), errors.Is(err, errs.ErrForbidden):
		return "auth"
	case errors.Is(err, errs.ErrNotFound):
		return "not_found"
	case errors.Is(err, errs.ErrConflict):
		return "conflict"
	case errors.As(err, &inv):
		return "invalid"
	case errors.Is(err, context.DeadlineExceeded):
		return "network"
	}
	return "other"
}

func isUnauthorized(err error) bool {
	if pe, ok := AsProviderError(err); ok && pe.Reason == ReasonUnauthorized {
		return true
	}
	return errors.Is(err, errs.ErrUnauthorized)
}

// SyncOnce runs one round: pull the calendar's changes into the store,
// then push the store's changes to the calendar. It reports the round to
// the Observer and records its outcome (cursor, last success, last error,
// needs re-authorisation) in the SyncStore. A retryable provider fault
// ends the round early; the next round takes up where it stopped.
func (r *Reconciler) SyncOnce(ctx context.Context) error {
	r.round.Lock()
	defer r.round.Unlock()
	began := time.Now()
	cs, err := r.cfg.SyncStore.CalendarSync(ctx, r.cfg.CalendarID)
	if err != nil {
		return r.finish(ctx, began, nil, fmt.Errorf("calendar %s: read sync state: %w", r.cfg.CalendarID, err))
	}
	cursor, err := r.syncRound(ctx, cs.Cursor)
	if cursor != "" {
		cs.Cursor = cursor
	}
	return r.finish(ctx, began, &cs, err)
}

// finish reports and records a round's outcome.
func (r *Reconciler) finish(ctx context.Context, began time.Time, cs *CalendarSync, err error) error {
	if ctx.Err() != nil && err != nil {
		// Shutting down is not a calendar fault.
		return err
	}
	d := time.Since(began)
	reason := SyncReason(err)
	if r.cfg.Observer != nil {
		r.cfg.Observer.ObserveSync(r.cfg.ProviderName, r.cfg.CalendarID, d, reason)
	}
	now := r.cfg.Now()
	health := error(nil)
	if cs != nil {
		cs.CalendarID = r.cfg.CalendarID
		cs.LastAttempt = now
		if err == nil {
			cs.LastSuccess, cs.LastError, cs.NeedsReauth = now, "", false
		} else {
			cs.LastError = err.Error()
			if isUnauthorized(err) {
				if !cs.NeedsReauth {
					r.log.ErrorContext(ctx, "calendar refused our credentials; it needs re-authorisation", "err", err)
				}
				cs.NeedsReauth = true
			}
		}
		if perr := r.cfg.SyncStore.PutCalendarSync(ctx, *cs); perr != nil {
			err = errors.Join(err, fmt.Errorf("calendar %s: record sync state: %w", r.cfg.CalendarID, perr))
		}
		if cs.NeedsReauth {
			health = fmt.Errorf("calendar %s: %w", r.cfg.CalendarID, ErrNeedsReauth)
		}
	}
	if err != nil && health == nil {
		health = fmt.Errorf("calendar %s unreachable (%s): %w", r.cfg.CalendarID, reason, err)
	}
	r.mu.Lock()
	r.health = health
	r.mu.Unlock()
	if err == nil {
		r.log.DebugContext(ctx, "calendar synced", "duration", d.Round(time.Millisecond).String())
	}
	return err
}

// roundState is what one round works on.
type roundState struct {
	series map[string]*Series    // of this calendar, by id
	states map[string]*SyncState // by series id
}

// syncRound pulls then pushes; it returns the cursor to keep ("" = keep
// the old one).
func (r *Reconciler) syncRound(ctx context.Context, cursor string) (string, error) {
	rs, err := r.load(ctx)
	if err != nil {
		return "", err
	}
	ch, err := r.cfg.Provider.Changes(ctx, cursor)
	if err != nil {
		return "", fmt.Errorf("calendar %s: changes: %w", r.cfg.CalendarID, err)
	}
	if err := r.pull(ctx, rs, ch); err != nil {
		// The cursor is not advanced: the next round reads the same
		// changes again, which is harmless since pulling is idempotent.
		return "", err
	}
	return ch.Cursor, r.push(ctx, rs)
}

func (r *Reconciler) load(ctx context.Context) (*roundState, error) {
	all, err := r.cfg.Store.ListSeries(ctx, ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("calendar %s: list series: %w", r.cfg.CalendarID, err)
	}
	states, err := r.cfg.SyncStore.SyncStates(ctx, r.cfg.CalendarID)
	if err != nil {
		return nil, fmt.Errorf("calendar %s: list sync states: %w", r.cfg.CalendarID, err)
	}
	rs := &roundState{series: map[string]*Series{}, states: make(map[string]*SyncState, len(states))}
	for i := range all {
		if all[i].Calendar == r.cfg.CalendarID {
			rs.series[all[i].ID] = &all[i]
		}
	}
	for i := range states {
		rs.states[states[i].SeriesID] = &states[i]
	}
	return rs, nil
}

func (r *Reconciler) putState(ctx context.Context, st *SyncState) error {
	st.CalendarID = r.cfg.CalendarID
	st.Updated = r.cfg.Now()
	sort.Strings(st.RemoteKeys)
	if err := r.cfg.SyncStore.PutSyncState(ctx, *st); err != nil {
		return fmt.Errorf("calendar %s: series %s: record sync state: %w", r.cfg.CalendarID, st.SeriesID, err)
	}
	return nil
}

// sortedIDs returns map keys in order, so rounds are deterministic.
func sortedIDs[V any](m map[string]V) []string {
	ids := make([]string, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}
