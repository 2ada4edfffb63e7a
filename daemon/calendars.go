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
	"sync"
	"time"

	"github.com/oneonone/oneonone/calendar"
	"github.com/oneonone/oneonone/calendar/caldav"
	"github.com/oneonone/oneonone/calendar/google"
	"github.com/oneonone/oneonone/calendar/icsfeed"
	"github.com/oneonone/oneonone/config"
)

// calendarSync runs the reconcilers of the configured calendars.
type calendarSync struct {
	recs []*calendar.Reconciler
}

// calendarStores is what the reconcilers need from the store.
type calendarStores interface {
	calendar.Store
	calendar.SyncStore
}

// startCalendars starts one reconciler per configured calendar. A
// calendar whose provider cannot be built is refused here (a config
// error); one that cannot be reached is retried by its reconciler and
// reported by ready. observer may be nil.
func startCalendars(w *workers, cfg config.Config, st calendarStores, logger *slog.Logger, observer calendar.SyncObserver) (*calendarSync, error) {
	cs := &calendarSync{}
	base := cfg.BaseURL()
	for _, cc := range cfg.Calendars {
		p, err := newProvider(cc, logger)
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
	}
	for _, rec := range cs.recs {
		w.run("calendar sync "+rec.CalendarID(), rec.Run)
	}
	if len(cs.recs) > 0 {
		logger.Info("calendar sync started", "calendars", len(cs.recs), "interval", cfg.Sync.Interval.String())
	}
	return cs, nil
}

// ready is nil when every calendar's last round succeeded (or none ran
// yet); else it names the calendars that are unreachable or need
// re-authorisation.
func (cs *calendarSync) ready(context.Context) error {
	if cs == nil {
		return nil
	}
	var errs []error
	for _, rec := range cs.recs {
		if err := rec.Health(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
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

// newProvider builds the provider of one configured calendar.
func newProvider(cc config.CalendarConfig, logger *slog.Logger) (calendar.Provider, error) {
	switch {
	case cc.CalDAV != nil:
		if cc.CalDAV.URLTemplate != "" {
			// One provider is one collection; a collection per organizer
			// needs a provider that routes by organizer.
			return nil, errors.New("caldav.url_template (a calendar per organizer) is not supported by the sync yet; give caldav.url")
		}
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
	case cc.Google != nil:
		return newGoogleProvider(cc, logger)
	}
	return nil, errors.New("neither caldav nor google is set")
}

// newGoogleProvider builds the Google Calendar provider from a service
// account key. An OAuth client key needs the consent flow's token source
// (google.OAuthFlow), which is not wired here yet: such a calendar stays
// unready, saying why, rather than stopping the daemon.
func newGoogleProvider(cc config.CalendarConfig, logger *slog.Logger) (calendar.Provider, error) {
	p, err := google.New(context.Background(), google.Config{
		CalendarID:  cc.Google.CalendarID,
		Credentials: []byte(cc.Google.Credentials.Reveal()),
		Endpoint:    cc.Google.Endpoint,
		HTTPClient:  &http.Client{Timeout: 30 * time.Second},
		Logger:      logger.With("calendar", cc.ID),
	})
	if err != nil {
		logger.Error("google calendar cannot be used", "calendar", cc.ID, "err", err)
		return failingProvider{err: fmt.Errorf("google: %w", err)}, nil
	}
	return p, nil
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
