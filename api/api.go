// Package api owns the daemon's HTTP surface: the JSON API under /api/v1
// (admin token), the health endpoints, the per-person ICS feeds and the
// mounting of the admin web page. It turns domain errors into HTTP statuses
// and JSON error bodies at the edge. It must not hold domain logic (that is
// package calendar's) nor talk SQL (package store's); it only calls them.
package api

import (
	"context"
	"crypto/subtle"
	_ "embed"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/oneonone/oneonone/calendar"
	"github.com/oneonone/oneonone/web"
)

// Body limits: JSON requests are small; an import CSV of a whole company
// is not.
const (
	DefaultMaxBodyBytes = 1 << 20
	ImportMaxBodyBytes  = 16 << 20
)

// Options configure a Server. Store is required; everything else has a
// usable default.
type Options struct {
	Store calendar.Store
	// AdminToken authorises /api/v1/* (Bearer) and the admin page sign-in.
	// Empty refuses every API call.
	AdminToken string
	// PublicURL is the base of links handed out (feed URLs, room URLs),
	// without a trailing slash, e.g. "http://localhost:8080".
	PublicURL string
	Logger    *slog.Logger
	// Ready reports whether the daemon can serve (store, calendars).
	// Nil checks the store only.
	Ready   func(ctx context.Context) error
	Version string
	// MaxBodyBytes limits JSON request bodies (default 1 MiB). The CSV
	// import always allows ImportMaxBodyBytes.
	MaxBodyBytes int64
	// Now is the clock (default time.Now); tests pin it.
	Now func() time.Time
	// Meet serves the personal-links and attendance endpoints; nil
	// answers them with 503.
	Meet Meet
	// OnSeriesChanged, when set, is told the calendar id of every series
	// the API created, changed or removed (the old and the new one when a
	// series moves), so that calendar's sync runs now instead of at its
	// next interval. "" is the built-in ICS feed. It must not block.
	OnSeriesChanged func(calendarID string)
	// GoogleAuthorize, when set, starts the OAuth consent of a Google
	// calendar (GET /api/v1/calendars/{id}/google/authorize): it sends the
	// browser to Google, or returns an error wrapping errs.ErrNotFound
	// when the calendar has no consent flow. Nil answers 404.
	GoogleAuthorize func(w http.ResponseWriter, r *http.Request, calendarID string) error
	// PersonalLink, when set, returns email's personal join link to the
	// room of seriesID as role ("manager" or "report"); a person's ICS
	// feed then carries their own link instead of the bare room URL.
	PersonalLink func(ctx context.Context, seriesID, email, role string) (string, error)
	// RevokeLinks, when set, revokes every personal link of a person
	// (POST /api/v1/people/{email}/links/revoke); nil answers 503.
	RevokeLinks func(ctx context.Context, email string) error
}

// Server is the daemon's http.Handler.
type Server struct {
	store     calendar.Store
	token     string
	publicURL string
	log       *slog.Logger
	ready     func(ctx context.Context) error
	version   string
	maxBody   int64
	now       func() time.Time
	meet      Meet
	changed   func(calendarID string)
	authorize func(w http.ResponseWriter, r *http.Request, calendarID string) error
	identity  identityHooks
	openapi   []byte
	routes    []route
	mux       *http.ServeMux
	handler   http.Handler
}

// New builds the server and its routes.
func New(opts Options) *Server {
	s := &Server{
		store:     opts.Store,
		token:     opts.AdminToken,
		publicURL: strings.TrimRight(opts.PublicURL, "/"),
		log:       opts.Logger,
		ready:     opts.Ready,
		version:   opts.Version,
		maxBody:   opts.MaxBodyBytes,
		now:       opts.Now,
		meet:      opts.Meet,
		changed:   opts.OnSeriesChanged,
		authorize: opts.GoogleAuthorize,
		identity:  identityHooks{personalLink: opts.PersonalLink, revokeLinks: opts.RevokeLinks},
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.maxBody <= 0 {
		s.maxBody = DefaultMaxBodyBytes
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.ready == nil {
		s.ready = func(ctx context.Context) error {
			if p, ok := s.store.(interface{ Ping(context.Context) error }); ok {
				return p.Ping(ctx)
			}
			_, err := s.store.CountSeries(ctx)
			return err
		}
	}
	s.openapi = openAPIDocument(s.version)

	page := web.New(web.Options{
		Store:      opts.Store,
		AdminToken: opts.AdminToken,
		PublicURL:  s.publicURL,
		Logger:     s.log,
		Now:        s.now,

		GoogleAuthorize: opts.GoogleAuthorize,
	})
	s.routes = s.routeTable(page)
	s.mux = http.NewServeMux()
	for _, rt := range s.routes {
		s.mux.Handle(rt.Method+" "+rt.Pattern, rt.Handler)
	}

	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeErrorCode(w, http.StatusForbidden, "forbidden", "cross-origin request refused", "")
	}))
	s.handler = s.logRequests(cop.Handler(http.HandlerFunc(s.dispatch)))
	return s
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.handler.ServeHTTP(w, r)
}

// dispatch authenticates the API (fail closed, by prefix, so a new route
// cannot be forgotten) and gives API clients JSON for unknown paths and
// wrong methods instead of the mux's plain text.
func (s *Server) dispatch(w http.ResponseWriter, r *http.Request) {
	if !strings.HasPrefix(r.URL.Path, "/api/") {
		s.mux.ServeHTTP(w, r)
		return
	}
	if !s.authorised(r) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="oneonone"`)
		if r.Header.Get("Authorization") != "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="oneonone", error="invalid_token"`)
		}
		writeErrorCode(w, http.StatusUnauthorized, "unauthenticated", "a valid admin token is required (Authorization: Bearer …)", "")
		return
	}
	h, pattern := s.mux.Handler(r)
	if pattern != "" {
		s.mux.ServeHTTP(w, r)
		return
	}
	// No route: let the mux decide between 404 and 405 (and the Allow
	// header), then answer in JSON.
	rec := &codeRecorder{header: http.Header{}}
	h.ServeHTTP(rec, r)
	if allow := rec.header.Get("Allow"); allow != "" {
		w.Header().Set("Allow", allow)
	}
	if rec.code == http.StatusMethodNotAllowed {
		writeErrorCode(w, rec.code, "method_not_allowed", fmt.Sprintf("method %s is not allowed here", r.Method), "")
		return
	}
	writeErrorCode(w, http.StatusNotFound, "not_found", "no such endpoint", "")
}

func (s *Server) authorised(r *http.Request) bool {
	if s.token == "" {
		return false
	}
	scheme, cred, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(strings.TrimSpace(cred)), []byte(s.token)) == 1
}

// seriesChanged nudges the sync of the calendars a write touched.
func (s *Server) seriesChanged(calendarIDs ...string) {
	if s.changed == nil {
		return
	}
	seen := map[string]bool{}
	for _, id := range calendarIDs {
		if !seen[id] {
			seen[id] = true
			s.changed(id)
		}
	}
}

// roomURL is where the pair of a series meets. It is the one place that
// knows how rooms are addressed, so the meet work can change it alone.
func (s *Server) roomURL(seriesID string) string {
	return s.publicURL + "/r/" + seriesID
}

// feedURL is the subscription address of a person's ICS feed.
func (s *Server) feedURL(token string) string {
	return s.publicURL + "/ical/" + token + ".ics"
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	fmt.Fprint(w, "ok")
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	if err := s.ready(ctx); err != nil {
		s.log.WarnContext(ctx, "not ready", "err", err)
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintf(w, "not ready: %v", err)
		return
	}
	fmt.Fprint(w, "ready")
}

func (s *Server) serveOpenAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Write(s.openapi)
}

//go:embed openapi.json
var openAPISource []byte

// openAPIDocument returns the embedded document with the build version
// recorded, leaving the API's own version (info.version) alone.
func openAPIDocument(version string) []byte {
	if version == "" {
		return openAPISource
	}
	var doc map[string]any
	if err := json.Unmarshal(openAPISource, &doc); err != nil {
		// The embedded document is checked by the tests; serve it as is.
		return openAPISource
	}
	if info, ok := doc["info"].(map[string]any); ok {
		info["x-build-version"] = version
	}
	out, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return openAPISource
	}
	return out
}

// logRequests writes one line per request. Paths that carry a secret
// (feed tokens) are redacted; query strings are never logged.
func (s *Server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		status := sw.status
		if status == 0 {
			status = http.StatusOK
		}
		s.log.LogAttrs(r.Context(), slog.LevelInfo, "http request",
			slog.String("method", r.Method),
			slog.String("path", logPath(r.URL.Path)),
			slog.Int("status", status),
			slog.Duration("duration", time.Since(start)),
		)
	})
}

func logPath(p string) string {
	if strings.HasPrefix(p, "/ical/") {
		return "/ical/[redacted].ics"
	}
	return p
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the real writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// codeRecorder keeps the status and headers of the mux's own 404/405
// handlers and drops their plain-text body.
type codeRecorder struct {
	header http.Header
	code   int
}

func (c *codeRecorder) Header() http.Header { return c.header }
func (c *codeRecorder) Write(b []byte) (int, error) {
	if c.code == 0 {
		c.code = http.StatusOK
	}
	return len(b), nil
}
func (c *codeRecorder) WriteHeader(code int) {
	if c.code == 0 {
		c.code = code
	}
}
