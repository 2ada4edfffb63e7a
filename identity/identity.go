// Package identity owns who a person in a browser is: the daemon's secret
// key, personal join links (signed with meet/joinlink, expiring, revocable by
// a per-person generation), sessions (a random id in a signed HttpOnly
// cookie, stored hashed so that sign-out works across daemons), OIDC
// sign-in, e-mailed one-time sign-in links, and the small pages those flows
// show (English and Japanese, strict CSP).
//
// It answers "who is this?" and never "may they enter?": rooms, agendas and
// the API decide access from the Identity it returns. It must not log
// tokens, cookies, secrets or codes, and keeps no package-level mutable
// state.
package identity

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/oneonone/oneonone/calendar"
	"github.com/oneonone/oneonone/internal/errs"
	"github.com/oneonone/oneonone/meet/joinlink"
)

// Ways a session was started (Identity.Via, Session.Via).
const (
	ViaLink       = "link"
	ViaOIDC       = "oidc"
	ViaEmail      = "email"
	ViaCapability = "capability"
)

// Defaults for the Options durations left zero.
const (
	DefaultSessionTTL   = 30 * 24 * time.Hour
	DefaultLinkTTL      = 90 * 24 * time.Hour
	DefaultEmailLinkTTL = 15 * time.Minute
	// DefaultEmailRateLimit sign-in mails per address per hour.
	DefaultEmailRateLimit = 5
)

// Identity is who a request comes from.
type Identity struct {
	Email string // lower-case
	Via   string // ViaLink, ViaOIDC, ViaEmail or ViaCapability
}

// Mode is how people who hold no personal link sign in.
type Mode string

// The sign-in modes, chosen by configuration: OIDC when an issuer is set,
// else e-mailed links when SMTP is set, else capability (the zero-config
// default: the room URL itself admits, and the room shows a chooser).
const (
	ModeOIDC       Mode = "oidc"
	ModeEmail      Mode = "email"
	ModeCapability Mode = "capability"
)

// Session is one signed-in browser as stored. The session id itself lives
// only in the browser's cookie; the store keeps its SHA-256.
type Session struct {
	IDHash  string // hex SHA-256 of the random session id
	Email   string
	Via     string
	Created time.Time
	Expires time.Time
}

// SignInToken is an e-mailed one-time sign-in link as stored (hashed).
type SignInToken struct {
	Hash    string // hex SHA-256 of the token
	Email   string
	Next    string // a same-origin path to land on after signing in
	Created time.Time
	Expires time.Time
}

// Store is the storage identity needs; package store implements it for
// SQLite and PostgreSQL. E-mails are compared lower-case.
type Store interface {
	// Generation is the person's current link generation, or
	// errs.ErrNotFound when email is not the manager or report of series
	// (so links die with the series or when the pair changes).
	joinlink.Generations
	// GetSeries returns one series or errs.ErrNotFound.
	GetSeries(ctx context.Context, id string) (calendar.Series, error)
	// GetPerson returns one person or errs.ErrNotFound.
	GetPerson(ctx context.Context, email string) (calendar.Person, error)
	// LinkGeneration is the person's current link generation (0 before
	// the first revocation).
	LinkGeneration(ctx context.Context, email string) (int, error)
	// RevokeLinks bumps the person's link generation and deletes all their
	// sessions, returning the new generation; errs.ErrNotFound for an
	// unknown person.
	RevokeLinks(ctx context.Context, email string) (int, error)
	// CreatePersonSession stores a new session (and may drop expired ones).
	CreatePersonSession(ctx context.Context, s Session) error
	// PersonSession returns a session by id hash, or errs.ErrNotFound.
	PersonSession(ctx context.Context, idHash string) (Session, error)
	// DeletePersonSession removes a session; a missing one is not an error.
	DeletePersonSession(ctx context.Context, idHash string) error
	// CreateSignInToken stores a one-time sign-in token (and may drop
	// expired ones).
	CreateSignInToken(ctx context.Context, t SignInToken) error
	// ConsumeSignInToken deletes the token and returns it; errs.ErrNotFound
	// when it is unknown, already used or expired at now.
	ConsumeSignInToken(ctx context.Context, hash string, now time.Time) (SignInToken, error)
}

// Mailer sends one plain-text message. SMTPMailer implements it.
type Mailer interface {
	Send(ctx context.Context, to, subject, textBody string) error
}

// OIDCOptions configure sign-in through an OpenID Connect provider.
type OIDCOptions struct {
	Issuer       string
	ClientID     string
	ClientSecret string
	// HTTPClient talks to the provider (default http.DefaultClient).
	HTTPClient *http.Client
}

// Options configure a Service. Store, Secret and PublicURL are required.
type Options struct {
	Store Store
	// Secret keys every MAC (links, session cookies, OIDC state): at least
	// 32 random bytes, the same for every daemon sharing one database.
	Secret []byte
	// PublicURL is the base of links, without a trailing slash; an https
	// URL makes cookies Secure.
	PublicURL string
	Logger    *slog.Logger
	// Now is the clock (default time.Now); tests move it.
	Now func() time.Time

	SessionTTL   time.Duration // default DefaultSessionTTL
	LinkTTL      time.Duration // default DefaultLinkTTL
	EmailLinkTTL time.Duration // default DefaultEmailLinkTTL

	// OIDC, when set, makes the mode ModeOIDC.
	OIDC *OIDCOptions
	// Mailer, when set and OIDC is not, makes the mode ModeEmail.
	Mailer Mailer
	// EmailRateLimit caps sign-in mails per address per hour (default
	// DefaultEmailRateLimit).
	EmailRateLimit int
}

// Route is one HTTP route the Service serves; the daemon mounts them.
type Route struct {
	Method  string
	Pattern string // a net/http ServeMux path pattern
	Handler http.Handler
}

// Service is the identity of people in browsers. Safe for concurrent use.
type Service struct {
	store     Store
	publicURL string
	secure    bool
	log       *slog.Logger
	now       func() time.Time

	sessionTTL, linkTTL, emailLinkTTL time.Duration

	links      *joinlink.Signer
	sessionKey []byte // MAC key of session cookies
	stateKey   []byte // MAC key of the OIDC state cookie

	mode   Mode
	oidc   *oidcClient
	mailer Mailer
	limit  *rateLimiter

	// Background mail sends: owned by the Service, stopped by Close.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.Mutex // guards closed, so no send starts once Close waits
	closed bool
}

// New builds the Service. It does no network I/O: the OIDC provider is
// discovered on the first sign-in (and retried until it answers), so a
// provider that is down at start-up does not stop the daemon. ctx bounds
// the Service's background work (sign-in mails); Close also stops it.
func New(ctx context.Context, opts Options) (*Service, error) {
	if opts.Store == nil {
		return nil, errors.New("identity: no store")
	}
	if len(opts.Secret) < joinlink.MinKeySize {
		return nil, errs.Invalidf("auth.secret", "must be at least %d bytes, got %d", joinlink.MinKeySize, len(opts.Secret))
	}
	if opts.PublicURL == "" {
		return nil, errs.Invalidf("public_url", "is required")
	}
	signer, err := joinlink.NewSigner(opts.Secret)
	if err != nil {
		return nil, fmt.Errorf("identity: %w", err)
	}
	s := &Service{
		store:        opts.Store,
		publicURL:    strings.TrimRight(opts.PublicURL, "/"),
		log:          opts.Logger,
		now:          opts.Now,
		sessionTTL:   orDefault(opts.SessionTTL, DefaultSessionTTL),
		linkTTL:      orDefault(opts.LinkTTL, DefaultLinkTTL),
		emailLinkTTL: orDefault(opts.EmailLinkTTL, DefaultEmailLinkTTL),
		links:        signer,
		sessionKey:   deriveKey(opts.Secret, "oneonone person session v1"),
		stateKey:     deriveKey(opts.Secret, "oneonone oidc state v1"),
		mode:         ModeCapability,
	}
	s.secure = strings.HasPrefix(strings.ToLower(s.publicURL), "https://")
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	switch {
	case opts.OIDC != nil && opts.OIDC.Issuer != "":
		if opts.OIDC.ClientID == "" {
			return nil, errs.Invalidf("auth.oidc.client_id", "is required when auth.oidc.issuer is set")
		}
		s.mode = ModeOIDC
		s.oidc = newOIDCClient(*opts.OIDC, s.publicURL+"/auth/oidc/callback", s.now)
	case opts.Mailer != nil:
		s.mode = ModeEmail
		s.mailer = opts.Mailer
		n := opts.EmailRateLimit
		if n <= 0 {
			n = DefaultEmailRateLimit
		}
		s.limit = newRateLimiter(n, time.Hour)
	}
	s.ctx, s.cancel = context.WithCancel(ctx)
	return s, nil
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// deriveKey binds the daemon secret to one purpose, so that a MAC made
// for one kind of token never verifies as another.
func deriveKey(secret []byte, purpose string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(purpose))
	return m.Sum(nil)
}

// closeGrace is how long Close lets sign-in mails in flight finish
// before cancelling them.
const closeGrace = 5 * time.Second

// Close waits for sign-in mails in flight (cancelling them after a few
// seconds) and stops background work.
func (s *Service) Close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(closeGrace):
		s.cancel()
		<-done
	}
	s.cancel()
}

// goBackground runs f in a goroutine that Close waits for; false when
// the Service is closed.
func (s *Service) goBackground(f func(ctx context.Context)) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		f(s.ctx)
	}()
	return true
}

// Mode reports how people without a personal link sign in.
func (s *Service) Mode() Mode { return s.mode }

// SignIn sends a person who has no session to sign in, coming back to next
// (a same-origin path; anything else becomes "/") afterwards: in ModeOIDC a
// redirect to /auth/oidc/login, in ModeEmail a redirect to the /auth/email
// form. In ModeCapability there is nobody to ask, so it writes nothing and
// the caller (the room) shows its own chooser.
func (s *Service) SignIn(w http.ResponseWriter, r *http.Request, next string) {
	next = SafeNext(next)
	switch s.mode {
	case ModeOIDC:
		http.Redirect(w, r, "/auth/oidc/login?next="+urlQueryEscape(next), http.StatusSeeOther)
	case ModeEmail:
		http.Redirect(w, r, "/auth/email?next="+urlQueryEscape(next), http.StatusSeeOther)
	}
}

// RevokeLinks invalidates every personal link handed out to email so far
// and signs the person out everywhere. New links carry the new generation.
func (s *Service) RevokeLinks(ctx context.Context, email string) error {
	if _, err := s.store.RevokeLinks(ctx, normalizeEmail(email)); err != nil {
		return fmt.Errorf("identity: revoke links: %w", err)
	}
	return nil
}

// Routes are the sign-in routes of the current mode, plus sign-out:
// POST /auth/logout always; in ModeOIDC GET /auth/oidc/login and
// GET /auth/oidc/callback; in ModeEmail GET|POST /auth/email and
// GET|POST /auth/email/verify. Each sets the page security headers.
func (s *Service) Routes() []Route {
	h := func(m, p string, f http.HandlerFunc) Route { return Route{Method: m, Pattern: p, Handler: secured(f)} }
	rs := []Route{h("POST", "/auth/logout", s.logout)}
	switch s.mode {
	case ModeOIDC:
		rs = append(rs,
			h("GET", "/auth/oidc/login", s.oidcLogin),
			h("GET", "/auth/oidc/callback", s.oidcCallback))
	case ModeEmail:
		rs = append(rs,
			h("GET", "/auth/email", s.emailForm),
			h("POST", "/auth/email", s.emailRequest),
			h("GET", "/auth/email/verify", s.emailVerifyForm),
			h("POST", "/auth/email/verify", s.emailVerify))
	}
	return rs
}

// Handler serves Routes on their own mux, for tests and simple wiring.
func (s *Service) Handler() http.Handler {
	mux := http.NewServeMux()
	for _, rt := range s.Routes() {
		mux.Handle(rt.Method+" "+rt.Pattern, rt.Handler)
	}
	return mux
}

func normalizeEmail(email string) string { return strings.ToLower(strings.TrimSpace(email)) }
