package daemon

// Calendar sync wiring: one provider and one reconciler per configured
// calendar, each a loop owned by the daemon's workers, and their health
// for /readyz.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/oneonone/oneonone/calendar"
	"github.com/oneonone/oneonone/calendar/caldav"
	"github.com/oneonone/oneonone/calendar/google"
	"github.com/oneonone/oneonone/calendar/icsfeed"
	"github.com/oneonone/oneonone/config"
	apperrs "github.com/oneonone/oneonone/internal/errs"
	"github.com/oneonone/oneonone/store"
)

// calendarSync runs the reconcilers of the configured calendars.
type calendarSync struct {
	recs []*calendar.Reconciler
	byID map[string]*calendar.Reconciler
	// flows are the Google consent flows, by calendar id.
	flows  map[string]*google.OAuthFlow
	tokens google.TokenStore
}

// calendarStores is what the reconcilers need from the store.
type calendarStores interface {
	calendar.Store
	calendar.SyncStore
	OAuthTokens() store.OAuthTokens
	TryLease(ctx context.Context, name string) (*store.Lease, bool, error)
}

// startCalendars starts one reconciler per configured calendar. A
// calendar whose provider cannot be built is refused here (a config
// error); one that cannot be reached is retried by its reconciler and
// reported by ready. observer may be nil.
func startCalendars(w *workers, cfg config.Config, st calendarStores, logger *slog.Logger, observer calendar.SyncObserver) (*calendarSync, error) {
	cs := &calendarSync{byID: map[string]*calendar.Reconciler{}, flows: map[string]*google.OAuthFlow{}, tokens: st.OAuthTokens()}
	base := cfg.BaseURL()
	for _, cc := range cfg.Calendars {
		p, err := cs.newProvider(cc, cfg, st, logger)
		if err != nil {
			return nil, fmt.Errorf("calendar %s: %w", cc.ID, err)
		}
		rec, err := calendar.NewReconciler(calendar.ReconcilerConfig{
			CalendarID: cc.ID, ProviderName: cc.Provider(), Provider: p,
			Store: st, SyncStore: st,
			BuildEvent: func(s calendar.Series, overrides []calendar.Override, roomURL string) (calendar.Event, error) {
				return icsfeed.SeriesEvent(icsfeed.Entry{Series: s, Overrides: overrides, RoomURL: roomURL}, time.Now())
			},
			// The same address the API reports as room_url.
			RoomURL:  func(id string) string { return base + "/r/" + id },
			Interval: cfg.Sync.Interval,
			Logger:   logger,
			Observer: observer,
			Notifier: calendarNotifier(cfg, cc, logger),
		})
		if err != nil {
			return nil, err
		}
		cs.recs = append(cs.recs, rec)
		cs.byID[cc.ID] = rec
	}
	for _, rec := range cs.recs {
		w.run("calendar sync "+rec.CalendarID(), func(ctx context.Context) error {
			return runLeased(ctx, st, "calendar-sync:"+rec.CalendarID(), cfg.Sync.Interval, logger, rec.Run)
		})
	}
	if len(cs.recs) > 0 {
		logger.Info("calendar sync started", "calendars", len(cs.recs), "interval", cfg.Sync.Interval.String())
	}
	return cs, nil
}

// ready is nil when every calendar's last round succeeded (or none ran
// yet); else it names the calendars that are unreachable or need
// re-authorisation.
func (cs *calendarSync) ready(ctx context.Context) error {
	if cs == nil {
		return nil
	}
	var errs []error
	for _, rec := range cs.recs {
		id := rec.CalendarID()
		err := rec.Health()
		if flow := cs.flows[id]; flow != nil {
			if _, lerr := cs.tokens.Load(ctx, id); errors.Is(lerr, apperrs.ErrNotFound) {
				err = fmt.Errorf("calendar %s needs Google consent: %w", id, calendar.ErrNeedsReauth)
			}
			if err != nil && errors.Is(err, apperrs.ErrUnauthorized) {
				err = fmt.Errorf("%w; an admin authorises it at %s", err, authorizePath(id))
			}
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// authorizePath is where an admin starts a calendar's consent flow: a
// page of the admin site, since the flow must run in the admin's browser.
func authorizePath(calendarID string) string {
	return "/calendars/" + url.PathEscape(calendarID) + "/authorize"
}

// changed asks the reconciler of one calendar for a round now (after an
// API change of one of its series).
func (cs *calendarSync) changed(calendarID string) {
	if cs == nil {
		return
	}
	if rec := cs.byID[calendarID]; rec != nil {
		rec.Trigger()
	}
}

// calendarCookie remembers, for the callback, which calendar's flow a
// browser started: each flow seals its state with its own key.
const calendarCookie = "oneonone_google_calendar"

// authorize starts the consent flow of a Google calendar with an OAuth
// client (the API's GoogleAuthorize).
func (cs *calendarSync) authorize(w http.ResponseWriter, r *http.Request, calendarID string) error {
	flow := cs.flows[calendarID]
	if flow == nil {
		return fmt.Errorf("calendar %s has no consent flow: %w", calendarID, apperrs.ErrNotFound)
	}
	http.SetCookie(w, &http.Cookie{Name: calendarCookie, Value: url.QueryEscape(calendarID), Path: google.CallbackPath,
		MaxAge: 600, HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteLaxMode})
	flow.Start(w, r, calendarID)
	return nil
}

// callbackRoute is the mux pattern and handler of google.CallbackPath.
func (cs *calendarSync) callbackRoute() (string, http.Handler) {
	return "GET " + google.CallbackPath, cs.oauthCallback()
}

// oauthCallback is google.CallbackPath: it hands the answer to the flow
// of the calendar this browser started.
func (cs *calendarSync) oauthCallback() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var flow *google.OAuthFlow
		if c, err := r.Cookie(calendarCookie); err == nil {
			if id, err := url.QueryUnescape(c.Value); err == nil {
				flow = cs.flows[id]
			}
		}
		if flow == nil && len(cs.flows) == 1 {
			for _, f := range cs.flows {
				flow = f
			}
		}
		if flow == nil {
			http.Error(w, "no Google consent flow was started in this browser; start again", http.StatusBadRequest)
			return
		}
		flow.ServeHTTP(w, r)
	})
}

// trigger asks every reconciler for a round now.
func (cs *calendarSync) trigger() {
	if cs == nil {
		return
	}
	for _, rec := range cs.recs {
		rec.Trigger()
	}
}

// organizersOf lists the managers of the series kept in one calendar:
// the organizers whose calendars a per-organizer provider polls.
func organizersOf(st calendar.Store, calendarID string) func(ctx context.Context) ([]string, error) {
	return func(ctx context.Context) ([]string, error) {
		all, err := st.ListSeries(ctx, calendar.ListOptions{})
		if err != nil {
			return nil, err
		}
		var out []string
		for _, s := range all {
			if s.Calendar == calendarID {
				out = append(out, s.Manager.Email)
			}
		}
		return out, nil
	}
}

// newProvider builds the provider of one configured calendar.
func (cs *calendarSync) newProvider(cc config.CalendarConfig, cfg config.Config, st calendar.Store, logger *slog.Logger) (calendar.Provider, error) {
	switch {
	case cc.CalDAV != nil && cc.CalDAV.URLTemplate != "":
		// One delegated account writes into each organizer's calendar.
		ccfg := caldav.Config{
			URL: cc.CalDAV.URLTemplate, Username: cc.CalDAV.Username, Password: cc.CalDAV.Password.Reveal(),
			HTTPClient: &http.Client{Timeout: 30 * time.Second},
			Logger:     logger.With("calendar", cc.ID),
		}
		return calendar.NewPerOrganizer(calendar.PerOrganizerConfig{
			Open: func(ctx context.Context, organizer string) (calendar.Provider, error) {
				return caldav.Open(ctx, ccfg, organizer)
			},
			Organizers: organizersOf(st, cc.ID),
			Logger:     logger.With("calendar", cc.ID),
		})
	case cc.CalDAV != nil:
		ccfg := caldav.Config{
			URL: cc.CalDAV.URL, Username: cc.CalDAV.Username, Password: cc.CalDAV.Password.Reveal(),
			HTTPClient: &http.Client{Timeout: 30 * time.Second},
			Logger:     logger.With("calendar", cc.ID),
		}
		// Discovery needs the server; do it on first use so an unreachable
		// server at start-up is retried by the reconciler, not fatal.
		return &lazyProvider{open: func(ctx context.Context) (calendar.Provider, error) {
			return caldav.Open(ctx, ccfg, "")
		}}, nil
	case cc.Google != nil && cc.Google.IsOAuthClient():
		return cs.newOAuthGoogleProvider(cc, cfg, logger)
	case cc.Google != nil:
		return newGoogleProvider(cc, st, logger)
	}
	return nil, errors.New("neither caldav nor google is set")
}

// newOAuthGoogleProvider builds a Google calendar that an admin
// authorises once through the consent flow; until then (or after Google
// revokes the grant) it is unready, naming where to authorise it.
func (cs *calendarSync) newOAuthGoogleProvider(cc config.CalendarConfig, cfg config.Config, logger *slog.Logger) (calendar.Provider, error) {
	key, err := cc.Google.TokenKeyBytes()
	if err != nil {
		return nil, fmt.Errorf("google.token_key: %w", err)
	}
	flow, err := google.NewOAuthFlow(google.OAuthConfig{
		Credentials: cc.Google.OAuthClientJSON(), RedirectURL: cfg.BaseURL() + google.CallbackPath,
		Key: key, Store: cs.tokens, HTTPClient: &http.Client{Timeout: 30 * time.Second},
		Logger:       logger.With("calendar", cc.ID),
		OnAuthorized: cs.changed,
	})
	if err != nil {
		return nil, err
	}
	cs.flows[cc.ID] = flow
	return google.New(context.Background(), google.Config{
		CalendarID:  cc.Google.CalendarID,
		TokenSource: flow.TokenSource(context.Background(), cc.ID),
		Endpoint:    cc.Google.Endpoint,
		HTTPClient:  &http.Client{Timeout: 30 * time.Second},
		Logger:      logger.With("calendar", cc.ID),
	})
}

// newGoogleProvider builds the Google Calendar provider from a service
// account key. With calendar_id "primary" (the default) it uses
// domain-wide delegation: it impersonates each series' manager (Subject)
// and writes into their own primary calendar. Any other calendar_id is one
// calendar shared with the service account, which writes as itself. A key
// that cannot be used leaves the calendar unready, saying why, rather
// than stopping the daemon.
func newGoogleProvider(cc config.CalendarConfig, st calendar.Store, logger *slog.Logger) (calendar.Provider, error) {
	calendarID := cc.Google.CalendarID
	if calendarID == "" {
		calendarID = "primary"
	}
	gcfg := func(subject string) google.Config {
		return google.Config{
			CalendarID:  calendarID,
			Credentials: []byte(cc.Google.Credentials.Reveal()),
			Subject:     subject,
			Endpoint:    cc.Google.Endpoint,
			HTTPClient:  &http.Client{Timeout: 30 * time.Second},
			Logger:      logger.With("calendar", cc.ID),
		}
	}
	// New reads the key without a request: check it once, here.
	shared, err := google.New(context.Background(), gcfg(""))
	if err != nil {
		logger.Error("google calendar cannot be used", "calendar", cc.ID, "err", err)
		return failingProvider{err: fmt.Errorf("google: %w", err)}, nil
	}
	if calendarID != "primary" {
		return shared, nil
	}
	return calendar.NewPerOrganizer(calendar.PerOrganizerConfig{
		Open: func(ctx context.Context, organizer string) (calendar.Provider, error) {
			return google.New(ctx, gcfg(organizer))
		},
		Organizers: organizersOf(st, cc.ID),
		Logger:     logger.With("calendar", cc.ID),
	})
}

// failingProvider answers every call with one error, so a calendar that
// cannot be built shows in /readyz and metrics instead of stopping the
// daemon.
type failingProvider struct{ err error }

func (f failingProvider) PutEvent(context.Context, calendar.Event, string) (calendar.EventRef, error) {
	return calendar.EventRef{}, f.err
}
func (f failingProvider) DeleteEvent(context.Context, calendar.EventRef, string) error { return f.err }
func (f failingProvider) GetEvent(context.Context, calendar.EventRef) (calendar.Event, error) {
	return calendar.Event{}, f.err
}
func (f failingProvider) Changes(context.Context, string) (calendar.Changes, error) {
	return calendar.Changes{}, f.err
}

// lazyProvider opens its provider on first use and again after a failed
// open.
type lazyProvider struct {
	open func(ctx context.Context) (calendar.Provider, error)
	mu   sync.Mutex
	p    calendar.Provider
}

func (l *lazyProvider) get(ctx context.Context) (calendar.Provider, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.p != nil {
		return l.p, nil
	}
	p, err := l.open(ctx)
	if err != nil {
		return nil, err
	}
	l.p = p
	return p, nil
}

func (l *lazyProvider) PutEvent(ctx context.Context, e calendar.Event, ifMatch string) (calendar.EventRef, error) {
	p, err := l.get(ctx)
	if err != nil {
		return calendar.EventRef{}, err
	}
	return p.PutEvent(ctx, e, ifMatch)
}

func (l *lazyProvider) DeleteEvent(ctx context.Context, ref calendar.EventRef, ifMatch string) error {
	p, err := l.get(ctx)
	if err != nil {
		return err
	}
	return p.DeleteEvent(ctx, ref, ifMatch)
}

func (l *lazyProvider) GetEvent(ctx context.Context, ref calendar.EventRef) (calendar.Event, error) {
	p, err := l.get(ctx)
	if err != nil {
		return calendar.Event{}, err
	}
	return p.GetEvent(ctx, ref)
}

func (l *lazyProvider) Changes(ctx context.Context, cursor string) (calendar.Changes, error) {
	p, err := l.get(ctx)
	if err != nil {
		return calendar.Changes{}, err
	}
	return p.Changes(ctx, cursor)
}

// leaseCheck is how often a lease holder checks that it still holds it.
const leaseCheck = 15 * time.Second

// runLeased runs fn while this daemon holds the lease called name, so that
// of several daemons sharing one PostgreSQL only one syncs a calendar (the
// others would only double the writes: creates are idempotent anyway). A
// daemon that does not get the lease asks again every interval; one that
// loses it (its database connection broke) stops fn and asks again.
func runLeased(ctx context.Context, st calendarStores, name string, interval time.Duration,
	logger *slog.Logger, fn func(context.Context) error) error {
	waiting := false
	for {
		lease, ok, err := st.TryLease(ctx, name)
		if err != nil {
			logger.Warn("sync lease", "lease", name, "err", err)
		}
		if ok {
			if waiting {
				logger.Info("sync lease taken over", "lease", name)
			}
			waiting = false
			err := holdWhile(ctx, lease, fn)
			if rerr := lease.Release(); rerr != nil && ctx.Err() == nil {
				logger.Warn("sync lease: release", "lease", name, "err", rerr)
			}
			if ctx.Err() != nil {
				return err
			}
			logger.Warn("sync loop stopped while holding the lease; asking again", "lease", name, "err", err)
		} else if err == nil && !waiting {
			logger.Info("another daemon holds the sync lease; standing by", "lease", name)
			waiting = true
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(interval):
		}
	}
}

// holdWhile runs fn until ctx ends or the lease is found lost.
func holdWhile(ctx context.Context, lease *store.Lease, fn func(context.Context) error) error {
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- fn(runCtx) }()
	tick := time.NewTicker(leaseCheck)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			return err
		case <-tick.C:
			if err := lease.Alive(runCtx); err != nil {
				cancel()
				<-done
				return fmt.Errorf("lease lost: %w", err)
			}
		}
	}
}
