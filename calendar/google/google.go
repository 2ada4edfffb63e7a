// Package google is the Google Calendar provider: it keeps each series as
// one recurring event in a Google calendar (Calendar API v3) and reads
// back what people changed there — moved or cancelled instances, answers,
// series edits and deletions — through incremental sync tokens. It owns
// the wire side only: ids, the mapping between calendar.Event and Google
// events, change listing, error mapping, credentials (service account
// with domain-wide delegation, or the OAuth consent flow in oauth.go). It
// must not read or write the store, decide occurrence statuses, expand
// recurrence or retry: the reconciler does that. The client library is
// given a plain HTTP client, so it never retries by itself either
// (calendar/v3 sends every call once through gensupport.SendRequest; only
// media uploads and calls with a Retry config are retried, and this API
// has neither).
package google

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"golang.org/x/oauth2"
	googleoauth "golang.org/x/oauth2/google"
	gcal "google.golang.org/api/calendar/v3"
	"google.golang.org/api/option"

	"github.com/oneonone/oneonone/calendar"
	"github.com/oneonone/oneonone/internal/errs"
)

// Scope is the OAuth scope the provider needs: events only.
const Scope = gcal.CalendarEventsScope

// DefaultPageSize is maxResults of a listing: the largest Google allows,
// so a full listing of a thousand series is one request.
const DefaultPageSize = 2500

// Config names one Google calendar entry of the daemon's config.
type Config struct {
	// CalendarID is the calendar: the organizer's address for their
	// primary calendar, or a secondary calendar's id.
	CalendarID string
	// Credentials is a service account key (JSON, "type":
	// "service_account") or an OAuth client (JSON with "installed" or
	// "web"); an OAuth client needs TokenSource from OAuthFlow.
	Credentials []byte
	// Subject is the user a service account impersonates through
	// domain-wide delegation (the organizer). Empty: the service
	// account acts as itself.
	Subject string
	// Endpoint is the API's base URL (tests: the fake's URL); default
	// Google's. "/calendar/v3/" is added when missing.
	Endpoint string
	// HTTPClient carries every request, API and token (default: 30 s
	// timeout). It must not retry.
	HTTPClient *http.Client
	// TokenSource gives access tokens; it wins over Credentials (tests,
	// and OAuthFlow.TokenSource for the consent flow).
	TokenSource oauth2.TokenSource
	// PageSize is maxResults of listings; default DefaultPageSize.
	PageSize int
	Logger   *slog.Logger
}

// Provider is one Google calendar; it implements calendar.Provider and
// is safe for concurrent use.
type Provider struct {
	cfg Config
	svc *gcal.Service
	log *slog.Logger
}

var _ calendar.Provider = (*Provider)(nil)

// New connects to the calendar cfg names. It makes no request: a bad
// credential shows on the first call, as ErrReauthorize or an
// unauthorized *calendar.ProviderError.
func New(ctx context.Context, cfg Config) (*Provider, error) {
	if strings.TrimSpace(cfg.CalendarID) == "" {
		return nil, errs.Invalidf("google.calendar_id", "a Google calendar needs a calendar id")
	}
	base := cfg.HTTPClient
	if base == nil {
		base = &http.Client{Timeout: 30 * time.Second}
	}
	if cfg.PageSize <= 0 || cfg.PageSize > DefaultPageSize {
		cfg.PageSize = DefaultPageSize
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ts := cfg.TokenSource
	if ts == nil {
		var err error
		if ts, err = credentialsSource(ctx, cfg, base); err != nil {
			return nil, err
		}
	}
	hc := &http.Client{
		Transport:     &oauth2.Transport{Source: grantSource{ts}, Base: base.Transport},
		Timeout:       base.Timeout,
		CheckRedirect: base.CheckRedirect,
		Jar:           base.Jar,
	}
	opts := []option.ClientOption{option.WithHTTPClient(hc)}
	if cfg.Endpoint != "" {
		ep := strings.TrimRight(cfg.Endpoint, "/")
		if !strings.HasSuffix(ep, "/calendar/v3") {
			ep += "/calendar/v3"
		}
		opts = append(opts, option.WithEndpoint(ep+"/"))
	}
	svc, err := gcal.NewService(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("google: client: %w", err)
	}
	return &Provider{cfg: cfg, svc: svc, log: log.With("calendar_id", cfg.CalendarID)}, nil
}

// credentialsSource builds the token source of a service account key.
func credentialsSource(ctx context.Context, cfg Config, base *http.Client) (oauth2.TokenSource, error) {
	if len(cfg.Credentials) == 0 {
		return nil, errs.Invalidf("google.credentials_file", "a Google calendar needs credentials")
	}
	var kind struct {
		Type      string          `json:"type"`
		Installed json.RawMessage `json:"installed"`
		Web       json.RawMessage `json:"web"`
	}
	if err := json.Unmarshal(cfg.Credentials, &kind); err != nil {
		return nil, errs.Invalidf("google.credentials_file", "not a Google credentials JSON file: %v", err)
	}
	switch {
	case kind.Type == "service_account":
		jc, err := googleoauth.JWTConfigFromJSON(cfg.Credentials, Scope)
		if err != nil {
			return nil, errs.Invalidf("google.credentials_file", "service account key: %v", err)
		}
		jc.Subject = cfg.Subject
		// The token source outlives New's ctx; it fetches tokens with
		// our HTTP client, never the default one.
		tctx := context.WithValue(context.WithoutCancel(ctx), oauth2.HTTPClient, base)
		return jc.TokenSource(tctx), nil
	case kind.Installed != nil || kind.Web != nil:
		return nil, errs.Invalidf("google.credentials_file",
			"an OAuth client needs the consent flow: give the provider OAuthFlow.TokenSource")
	}
	return nil, errs.Invalidf("google.credentials_file", "credentials of type %q are not supported (use a service account key or an OAuth client)", kind.Type)
}

// grantSource marks a refused grant as ErrReauthorize, so that it reaches
// the reconciler as "authorise again", not as a network fault.
type grantSource struct{ ts oauth2.TokenSource }

func (g grantSource) Token() (*oauth2.Token, error) {
	t, err := g.ts.Token()
	if err != nil && isInvalidGrant(err) && !errors.Is(err, ErrReauthorize) {
		return nil, fmt.Errorf("%w: %w", ErrReauthorize, err)
	}
	return t, err
}

// CalendarID is the calendar this provider writes to.
func (p *Provider) CalendarID() string { return p.cfg.CalendarID }

// eventID is the Google id of ref: its Href, else derived from the UID.
func eventID(ref calendar.EventRef) (string, error) {
	if ref.Href != "" {
		return ref.Href, nil
	}
	if ref.UID == "" {
		return "", errs.Invalidf("href", "an event reference needs an href or a UID")
	}
	return EventID(ref.UID), nil
}

func etagHeader(etag string) string {
	if strings.HasPrefix(etag, `"`) || strings.HasPrefix(etag, `W/"`) {
		return etag
	}
	return `"` + etag + `"`
}

// PutEvent creates the event with the id EventID(e.UID) (ifMatch "") or
// replaces it (update with If-Match), with sendUpdates=all so attendees
// are invited and told. Then it writes e's exceptions that Google does
// not already have as instance updates (a cancelled one as an instance
// delete), also announced; exceptions Google has and e omits are left
// alone. On replace, e.Sequence is not sent: Google raises the sequence
// itself and refuses a lower one than it holds.
func (p *Provider) PutEvent(ctx context.Context, e calendar.Event, ifMatch string) (calendar.EventRef, error) {
	body, err := toGoogle(e)
	if err != nil {
		return calendar.EventRef{}, errs.Invalidf("event", "%v", err)
	}
	id := e.Href
	if id == "" {
		id = EventID(e.UID)
	}
	var got *gcal.Event
	var have []calendar.Exception
	if ifMatch == "" {
		body.Id = id
		got, err = p.svc.Events.Insert(p.cfg.CalendarID, body).SendUpdates("all").Context(ctx).Do()
		if err != nil {
			return calendar.EventRef{}, classify(ctx, "create event "+id, err)
		}
	} else {
		if len(e.Exceptions) > 0 {
			cur, err := p.GetEvent(ctx, calendar.EventRef{UID: e.UID, Href: id})
			if err != nil {
				return calendar.EventRef{}, err
			}
			have = cur.Exceptions
		}
		body.Sequence = 0
		call := p.svc.Events.Update(p.cfg.CalendarID, id, body).SendUpdates("all").Context(ctx)
		call.Header().Set("If-Match", etagHeader(ifMatch))
		got, err = call.Do()
		if err != nil {
			return calendar.EventRef{}, classify(ctx, "update event "+id, err)
		}
	}
	ref := calendar.EventRef{UID: e.UID, Href: got.Id, ETag: got.Etag}
	if err := p.putExceptions(ctx, body, e, got.Id, have); err != nil {
		return ref, err
	}
	return ref, nil
}

// putExceptions writes each exception of e that differs from have.
func (p *Provider) putExceptions(ctx context.Context, master *gcal.Event, e calendar.Event, id string, have []calendar.Exception) error {
	for _, x := range e.Exceptions {
		if i := indexException(have, x.RecurrenceID); i >= 0 && sameException(x, have[i]) {
			continue
		}
		iid := instanceID(id, x.RecurrenceID)
		if x.Cancelled {
			err := p.svc.Events.Delete(p.cfg.CalendarID, iid).SendUpdates("all").Context(ctx).Do()
			if err = classify(ctx, "cancel instance "+iid, err); err != nil && !errors.Is(err, errs.ErrNotFound) {
				return err
			}
			continue
		}
		_, err := p.svc.Events.Update(p.cfg.CalendarID, iid, exceptionBody(master, e, x)).SendUpdates("all").Context(ctx).Do()
		if err != nil {
			return classify(ctx, "update instance "+iid, err)
		}
	}
	return nil
}

func indexException(list []calendar.Exception, rid time.Time) int {
	for i, x := range list {
		if x.RecurrenceID.Equal(rid) {
			return i
		}
	}
	return -1
}

// DeleteEvent deletes the event with sendUpdates=all, so attendees get a
// cancellation. Deleting a deleted event is errs.ErrNotFound.
func (p *Provider) DeleteEvent(ctx context.Context, ref calendar.EventRef, ifMatch string) error {
	id, err := eventID(ref)
	if err != nil {
		return err
	}
	call := p.svc.Events.Delete(p.cfg.CalendarID, id).SendUpdates("all").Context(ctx)
	if ifMatch != "" {
		call.Header().Set("If-Match", etagHeader(ifMatch))
	}
	return classify(ctx, "delete event "+id, call.Do())
}

// GetEvent reads the event and its exceptions: events.get of the master,
// then one listing by iCalUID (masters and exceptions share it). Google
// keeps deleted events, so a deleted one comes back with Status
// CANCELLED (its id stays taken: a create answers ErrEventExists, and a
// replace with Status CONFIRMED restores it); an id never used is
// errs.ErrNotFound.
func (p *Provider) GetEvent(ctx context.Context, ref calendar.EventRef) (calendar.Event, error) {
	id, err := eventID(ref)
	if err != nil {
		return calendar.Event{}, err
	}
	g, err := p.svc.Events.Get(p.cfg.CalendarID, id).Context(ctx).Do()
	if err != nil {
		return calendar.Event{}, classify(ctx, "get event "+id, err)
	}
	if g.RecurringEventId != "" {
		return calendar.Event{}, errs.Invalidf("href", "%s is an instance of %s, not an event", id, g.RecurringEventId)
	}
	ev, err := fromGoogle(g)
	if err != nil {
		return calendar.Event{}, &calendar.ProviderError{Provider: provider, Reason: calendar.ReasonProtocol, Err: err}
	}
	if len(g.Recurrence) == 0 || g.ICalUID == "" {
		return ev, nil
	}
	var bad []calendar.BadObject
	if err := p.withExceptions(ctx, &ev, &bad); err != nil {
		return calendar.Event{}, err
	}
	if len(bad) > 0 {
		p.log.WarnContext(ctx, "google: unreadable exceptions skipped", "event", id, "count", len(bad), "err", bad[0].Err)
	}
	return ev, nil
}

// withExceptions fills ev.Exceptions with one listing by iCalUID: Google
// gives a recurring event's exceptions the master's iCalUID.
func (p *Provider) withExceptions(ctx context.Context, ev *calendar.Event, bad *[]calendar.BadObject) error {
	items, _, err := p.listAll(ctx, func(c *gcal.EventsListCall) *gcal.EventsListCall {
		return c.ICalUID(ev.UID).ShowDeleted(true)
	})
	if err != nil {
		return err
	}
	attach(ev, items, bad)
	return nil
}

// attach adds the exceptions of ev found among items, ordered by their
// original start; unreadable ones go to bad.
func attach(ev *calendar.Event, items []*gcal.Event, bad *[]calendar.BadObject) {
	ev.Exceptions = nil
	for _, it := range items {
		if it == nil || it.RecurringEventId != ev.Href {
			continue
		}
		x, err := exceptionOf(it, *ev)
		if err != nil {
			*bad = append(*bad, calendar.BadObject{Href: it.Id, Err: err})
			continue
		}
		if i := indexException(ev.Exceptions, x.RecurrenceID); i >= 0 {
			ev.Exceptions[i] = x
			continue
		}
		ev.Exceptions = append(ev.Exceptions, x)
	}
	sortExceptions(ev.Exceptions)
}

// listAll runs events.list (singleEvents=false) through every page and
// returns the items and the last page's nextSyncToken.
func (p *Provider) listAll(ctx context.Context, mod func(*gcal.EventsListCall) *gcal.EventsListCall) ([]*gcal.Event, string, error) {
	var out []*gcal.Event
	token := ""
	for range maxPages {
		call := mod(p.svc.Events.List(p.cfg.CalendarID).SingleEvents(false).MaxResults(int64(p.cfg.PageSize)).Context(ctx))
		if token != "" {
			call = call.PageToken(token)
		}
		page, err := call.Do()
		if err != nil {
			return nil, "", classify(ctx, "list events", err)
		}
		out = append(out, page.Items...)
		if page.NextPageToken == "" {
			return out, page.NextSyncToken, nil
		}
		token = page.NextPageToken
	}
	return nil, "", &calendar.ProviderError{Provider: provider, Reason: calendar.ReasonProtocol,
		Err: fmt.Errorf("list events: more than %d pages", maxPages)}
}

// maxPages bounds one listing, so a server that keeps handing out page
// tokens cannot hold a sync forever (2500 × 10000 events is far beyond
// any calendar).
const maxPages = 10000
