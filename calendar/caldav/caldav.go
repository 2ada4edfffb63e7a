// Package caldav is the CalDAV calendar provider (RFC 4791): it keeps each
// series as one recurring event in a calendar collection and reads back
// what people changed there. It owns the wire protocol only — discovery,
// MKCALENDAR, conditional PUT/DELETE, change detection (RFC 6578
// sync-collection, else getctag + an ETag listing) and parsing objects into
// calendar.Event. It must not read or write the store, decide statuses,
// retry, or expand recurrence (never the server's <C:expand> either): the
// reconciler does that.
//
// go-webdav does discovery; the requests it lacks or cannot report on
// (conditional writes and their status codes, sync-collection for
// calendars, MKCALENDAR, listings that survive one bad object) are small
// raw requests through the same http.Client.
package caldav

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	webdav "github.com/emersion/go-webdav"
	gocaldav "github.com/emersion/go-webdav/caldav"

	"github.com/oneonone/oneonone/calendar"
	"github.com/oneonone/oneonone/calendar/icsfeed"
	"github.com/oneonone/oneonone/internal/errs"
)

// Config names one CalDAV calendar entry of the daemon's config.
type Config struct {
	// URL is a calendar collection, or any URL on the server from which
	// to discover one (a principal, the server root). It may hold {user}
	// and {email}, filled per organizer (one delegated account writing
	// into each organizer's calendar).
	URL      string
	Username string
	Password string
	// Create makes the calendar with MKCALENDAR when it does not exist.
	Create bool
	// DisplayName picks the calendar during discovery and names the one
	// Create makes; default "1on1".
	DisplayName string
	// HTTPClient carries every request (default: 30 s timeout).
	HTTPClient *http.Client
	// NoSyncCollection forces getctag + ETag listings even where the
	// server offers sync-collection (for servers whose sync is broken).
	NoSyncCollection bool
	Logger           *slog.Logger
	// Now stamps DTSTAMP; default time.Now.
	Now func() time.Time
}

// CalendarURL fills the URL template for an organizer: {email} is the
// address, {user} its local part, both percent-encoded as a path segment.
func (cfg Config) CalendarURL(organizerEmail string) (string, error) {
	raw := cfg.URL
	if strings.Contains(raw, "{user}") || strings.Contains(raw, "{email}") {
		email := strings.TrimSpace(organizerEmail)
		user, _, ok := strings.Cut(email, "@")
		if !ok || user == "" {
			return "", errs.Invalidf("caldav.url", "the URL template needs an organizer e-mail, got %q", organizerEmail)
		}
		raw = strings.NewReplacer("{user}", url.PathEscape(user), "{email}", url.PathEscape(email)).Replace(raw)
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", errs.Invalidf("caldav.url", "%q is not an http(s) URL", cfg.URL)
	}
	return u.String(), nil
}

// Calendar is one CalDAV calendar collection; it implements
// calendar.Provider and is safe for concurrent use.
type Calendar struct {
	cfg  Config
	http *http.Client
	base *url.URL // the collection, path ending in "/"
	// sync is whether the collection answers sync-collection.
	sync bool
	log  *slog.Logger
}

var _ calendar.Provider = (*Calendar)(nil)

// Open finds the calendar of organizerEmail (ignored unless the URL is a
// template): the URL itself when it is a calendar collection, else by
// discovery (current-user-principal → calendar-home-set → calendars);
// with cfg.Create it makes the calendar when there is none.
func Open(ctx context.Context, cfg Config, organizerEmail string) (*Calendar, error) {
	raw, err := cfg.CalendarURL(organizerEmail)
	if err != nil {
		return nil, err
	}
	c := &Calendar{cfg: cfg, http: cfg.HTTPClient, log: cfg.Logger}
	if c.http == nil {
		c.http = &http.Client{Timeout: 30 * time.Second}
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.cfg.DisplayName == "" {
		c.cfg.DisplayName = "1on1"
	}
	if c.cfg.Now == nil {
		c.cfg.Now = time.Now
	}
	u, _ := url.Parse(raw)
	p, status, err := c.probe(ctx, u)
	if err != nil {
		return nil, err
	}
	switch {
	case status == http.StatusNotFound && cfg.Create:
		if err := c.mkcalendar(ctx, withSlash(u)); err != nil {
			return nil, err
		}
		if p, status, err = c.probe(ctx, withSlash(u)); err != nil {
			return nil, err
		}
		if !isCalendar(p) {
			return nil, protocolError("caldav: %s: MKCALENDAR succeeded but the collection is not a calendar", u.Path)
		}
		u = withSlash(u)
	case status == http.StatusNotFound:
		return nil, fmt.Errorf("caldav: %s does not exist (set create to make it): %w", u.Path, errs.ErrNotFound)
	case !isCalendar(p):
		if u, err = c.discover(ctx, u); err != nil {
			return nil, err
		}
		if p, _, err = c.probe(ctx, u); err != nil {
			return nil, err
		}
	}
	c.base = withSlash(u)
	c.sync = p.supportsSyncCollection() && !cfg.NoSyncCollection
	c.log = c.log.With("calendar_path", c.base.Path)
	return c, nil
}

// URL is the calendar collection's URL.
func (c *Calendar) URL() string { return c.base.String() }

// SyncCollection reports whether changes are read with sync-collection
// (else getctag + ETag listing).
func (c *Calendar) SyncCollection() bool { return c.sync }

func isCalendar(p prop) bool { return p.ResourceType != nil && p.ResourceType.Calendar != nil }

func withSlash(u *url.URL) *url.URL {
	v := *u
	if !strings.HasSuffix(v.Path, "/") {
		v.Path += "/"
		v.RawPath = ""
	}
	return &v
}

// probe reads a resource's type and sync abilities (PROPFIND depth 0).
// A 404 is returned as status, not as an error.
func (c *Calendar) probe(ctx context.Context, u *url.URL) (prop, int, error) {
	r, err := c.do(ctx, "PROPFIND", u, http.Header{"Depth": {"0"}, "Content-Type": {"application/xml; charset=utf-8"}}, []byte(propfindCollection))
	if err != nil {
		return prop{}, 0, err
	}
	if r.status == http.StatusNotFound {
		return prop{}, r.status, nil
	}
	if r.status != http.StatusMultiStatus {
		return prop{}, r.status, statusError("PROPFIND", u, r)
	}
	ms, err := parseMultistatus(r.body)
	if err != nil {
		return prop{}, r.status, protocolError("caldav: PROPFIND %s: %w", u.Path, err)
	}
	for _, resp := range ms.Responses {
		if code := statusCode(resp.Status); code == http.StatusNotFound {
			// Xandikos answers 207 with a 404 inside for a missing resource.
			return prop{}, code, nil
		}
		if p, ok := resp.okProp(); ok {
			return p, r.status, nil
		}
	}
	return prop{}, r.status, nil
}

// discover walks from u to a calendar: go-webdav's principal and home-set
// look-ups, then the calendar named DisplayName (or the first that takes
// VEVENTs), made with MKCALENDAR when there is none and Create is set.
func (c *Calendar) discover(ctx context.Context, u *url.URL) (*url.URL, error) {
	hc := webdav.HTTPClientWithBasicAuth(c.http, c.cfg.Username, c.cfg.Password)
	wc, err := gocaldav.NewClient(hc, u.String())
	if err != nil {
		return nil, fmt.Errorf("caldav: discover from %s: %w", u.Path, err)
	}
	principal, err := wc.FindCurrentUserPrincipal(ctx)
	if err != nil {
		return nil, &calendar.ProviderError{Provider: "caldav", Reason: calendar.ReasonProtocol,
			Err: fmt.Errorf("discover current-user-principal from %s: %w", u.Path, err)}
	}
	home, err := wc.FindCalendarHomeSet(ctx, principal)
	if err != nil {
		return nil, &calendar.ProviderError{Provider: "caldav", Reason: calendar.ReasonProtocol,
			Err: fmt.Errorf("discover calendar-home-set of %s: %w", principal, err)}
	}
	cals, err := wc.FindCalendars(ctx, home)
	if err != nil {
		return nil, &calendar.ProviderError{Provider: "caldav", Reason: calendar.ReasonProtocol,
			Err: fmt.Errorf("list calendars in %s: %w", home, err)}
	}
	var pick *gocaldav.Calendar
	for i, cal := range cals {
		if len(cal.SupportedComponentSet) > 0 && !slices.Contains(cal.SupportedComponentSet, "VEVENT") {
			continue
		}
		if cal.Name == c.cfg.DisplayName {
			pick = &cals[i]
			break
		}
		if pick == nil {
			pick = &cals[i]
		}
	}
	if pick != nil && (!c.cfg.Create || pick.Name == c.cfg.DisplayName) {
		return u.ResolveReference(&url.URL{Path: withSlash(&url.URL{Path: pick.Path}).Path}), nil
	}
	if !c.cfg.Create {
		return nil, fmt.Errorf("caldav: no calendar under %s (set create to make one): %w", home, errs.ErrNotFound)
	}
	target := u.ResolveReference(&url.URL{Path: withSlash(&url.URL{Path: home}).Path + objectName(c.cfg.DisplayName) + "/"})
	if err := c.mkcalendar(ctx, target); err != nil {
		return nil, err
	}
	return target, nil
}

// mkcalendar makes a calendar collection that takes VEVENTs.
func (c *Calendar) mkcalendar(ctx context.Context, u *url.URL) error {
	r, err := c.do(ctx, "MKCALENDAR", u, http.Header{"Content-Type": {"application/xml; charset=utf-8"}}, mkcalendarBody(c.cfg.DisplayName))
	if err != nil {
		return err
	}
	if r.status != http.StatusCreated && r.status != http.StatusOK {
		return statusError("MKCALENDAR", u, r)
	}
	c.log.InfoContext(ctx, "caldav: calendar created", "path", u.Path)
	return nil
}

// objectName is the resource name for a UID: the UID itself when it is
// plain (ours are), else its hash, so no UID can escape the collection.
func objectName(uid string) string {
	plain := uid != "" && len(uid) <= 200 && !strings.HasPrefix(uid, ".") && strings.IndexFunc(uid, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("@._-", r))
	}) < 0
	if plain {
		return uid
	}
	sum := sha256.Sum256([]byte(uid))
	return hex.EncodeToString(sum[:16])
}

// Href returns the object path (percent-decoded) an event with uid is
// stored at by PutEvent.
func (c *Calendar) Href(uid string) string { return c.base.Path + objectName(uid) + ".ics" }

// objectURL is the URL of ref: its Href when set, else derived from UID.
func (c *Calendar) objectURL(ref calendar.EventRef) (*url.URL, string, error) {
	href := ref.Href
	if href == "" {
		if ref.UID == "" {
			return nil, "", errs.Invalidf("href", "an event reference needs an href or a UID")
		}
		href = c.Href(ref.UID)
	}
	p, err := normalizeHref(c.base, href)
	if err != nil {
		return nil, "", errs.Invalidf("href", "%v", err)
	}
	if !strings.HasPrefix(p, c.base.Path) || p == c.base.Path {
		return nil, "", errs.Invalidf("href", "%q is not an object of calendar %s", href, c.base.Path)
	}
	return c.base.ResolveReference(&url.URL{Path: p}), p, nil
}

// PutEvent writes e with If-None-Match: * (ifMatch "") or If-Match.
func (c *Calendar) PutEvent(ctx context.Context, e calendar.Event, ifMatch string) (calendar.EventRef, error) {
	u, href, err := c.objectURL(e.Ref())
	if err != nil {
		return calendar.EventRef{}, err
	}
	cal, err := icsfeed.EventCalendar(e, c.cfg.Now())
	if err != nil {
		return calendar.EventRef{}, fmt.Errorf("caldav: put %s: %w", href, err)
	}
	var body bytes.Buffer
	if err := icsfeed.Encode(&body, cal); err != nil {
		return calendar.EventRef{}, fmt.Errorf("caldav: put %s: %w", href, err)
	}
	h := http.Header{"Content-Type": {"text/calendar; charset=utf-8"}}
	if ifMatch == "" {
		h.Set("If-None-Match", "*")
	} else {
		h.Set("If-Match", quoteETag(ifMatch))
	}
	r, err := c.do(ctx, http.MethodPut, u, h, body.Bytes())
	if err != nil {
		return calendar.EventRef{}, err
	}
	switch {
	case r.status/100 == 2:
	case ifMatch == "" && (r.status == http.StatusPreconditionFailed ||
		(r.status/100 == 4 && bytes.Contains(r.body, []byte("no-uid-conflict")))):
		// Someone (an earlier attempt of ours) already wrote it.
		return calendar.EventRef{}, fmt.Errorf("caldav: create %s: %w", href, calendar.ErrEventExists)
	case ifMatch != "" && r.status == http.StatusNotFound:
		// If-Match on a missing resource is 412 by RFC 9110; some
		// servers say 404. Either way the event is gone.
		return calendar.EventRef{}, fmt.Errorf("caldav: update %s: %w", href, errs.ErrNotFound)
	default:
		return calendar.EventRef{}, statusError(http.MethodPut, u, r)
	}
	return calendar.EventRef{UID: e.UID, Href: href, ETag: etagValue(r.header.Get("ETag"))}, nil
}

// DeleteEvent removes the event, with If-Match when ifMatch is set.
func (c *Calendar) DeleteEvent(ctx context.Context, ref calendar.EventRef, ifMatch string) error {
	u, _, err := c.objectURL(ref)
	if err != nil {
		return err
	}
	h := http.Header{}
	if ifMatch != "" {
		h.Set("If-Match", quoteETag(ifMatch))
	}
	r, err := c.do(ctx, http.MethodDelete, u, h, nil)
	if err != nil {
		return err
	}
	if r.status/100 != 2 {
		return statusError(http.MethodDelete, u, r)
	}
	return nil
}

// GetEvent reads and parses one event.
func (c *Calendar) GetEvent(ctx context.Context, ref calendar.EventRef) (calendar.Event, error) {
	u, href, err := c.objectURL(ref)
	if err != nil {
		return calendar.Event{}, err
	}
	r, err := c.do(ctx, http.MethodGet, u, http.Header{"Accept": {"text/calendar"}}, nil)
	if err != nil {
		return calendar.Event{}, err
	}
	if r.status != http.StatusOK {
		return calendar.Event{}, statusError(http.MethodGet, u, r)
	}
	ev, err := ParseEvent(r.body)
	if err != nil {
		return calendar.Event{}, &calendar.ProviderError{Provider: "caldav", Reason: calendar.ReasonProtocol,
			Err: fmt.Errorf("event %s: %w", href, err)}
	}
	ev.Href, ev.ETag = href, etagValue(r.header.Get("ETag"))
	return ev, nil
}

// isSyncTokenError reports whether a failed sync-collection means "this
// token is no good" (RFC 6578 403/409 valid-sync-token; Xandikos 0.2
// answers 500 to a token it does not know) rather than "no access".
func isSyncTokenError(r *response) bool {
	switch {
	case r.status == http.StatusUnauthorized || r.status == http.StatusTooManyRequests:
		return false
	case bytes.Contains(r.body, []byte("valid-sync-token")):
		return true
	case r.status == http.StatusForbidden:
		return false
	}
	return r.status/100 == 4 || r.status/100 == 5
}

var errNoData = errors.New("no calendar-data in the answer")
