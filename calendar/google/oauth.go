package google

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
	googleoauth "golang.org/x/oauth2/google"

	"github.com/oneonone/oneonone/internal/errs"
)

// CallbackPath is where Google sends the browser back after consent; the
// daemon mounts OAuthFlow there (public_url + CallbackPath must be a
// redirect URI of the OAuth client).
const CallbackPath = "/oauth/google/callback"

// TokenStore keeps one sealed refresh token per calendar. The store
// implements it; the bytes are opaque (AES-GCM sealed here), so it needs
// no secret handling of its own.
type TokenStore interface {
	// Load returns what Save stored, or an error wrapping
	// errs.ErrNotFound when the calendar was never authorised.
	Load(ctx context.Context, calendarID string) ([]byte, error)
	Save(ctx context.Context, calendarID string, sealed []byte) error
}

// OAuthConfig configures the consent flow for small setups (no
// Workspace admin to grant domain-wide delegation).
type OAuthConfig struct {
	// Credentials is the OAuth client JSON ("installed" or "web").
	Credentials []byte
	// RedirectURL is public_url + CallbackPath.
	RedirectURL string
	// Key seals refresh tokens at rest and the flow's state: 32 bytes
	// (AES-256-GCM), from the config's secret file.
	Key   []byte
	Store TokenStore
	// HTTPClient reaches the token endpoint (default: 30 s timeout).
	HTTPClient *http.Client
	Logger     *slog.Logger
	// Now is the clock of state expiry; default time.Now.
	Now func() time.Time
	// OnAuthorized, when set, is called after a calendar's token is
	// saved, so the daemon can clear "needs re-authorisation" at once.
	OnAuthorized func(calendarID string)
}

// OAuthFlow is the three-legged OAuth flow with PKCE: Start (or
// AuthCodeURL) sends an admin to Google's consent page, ServeHTTP is the
// callback that exchanges the code and saves the refresh token sealed,
// and TokenSource gives a Provider access tokens from it. The state
// travels sealed in the URL, so any daemon behind a load balancer can
// serve the callback; a cookie binds it to the browser that started it.
type OAuthFlow struct {
	cfg  OAuthConfig
	oc   *oauth2.Config
	aead cipher.AEAD
	http *http.Client
	log  *slog.Logger
}

// stateTTL is how long a consent may take.
const stateTTL = 10 * time.Minute

const bindCookie = "oneonone_google_oauth"

// NewOAuthFlow checks cfg and builds the flow.
func NewOAuthFlow(cfg OAuthConfig) (*OAuthFlow, error) {
	if len(cfg.Key) != 32 {
		return nil, errs.Invalidf("google.token_key", "the token key must be 32 bytes, got %d", len(cfg.Key))
	}
	if cfg.Store == nil {
		return nil, errors.New("google: OAuth flow without a token store")
	}
	if !strings.HasSuffix(cfg.RedirectURL, CallbackPath) {
		return nil, errs.Invalidf("public_url", "the OAuth redirect URL %q must end in %s", cfg.RedirectURL, CallbackPath)
	}
	oc, err := googleoauth.ConfigFromJSON(cfg.Credentials, Scope)
	if err != nil {
		return nil, errs.Invalidf("google.credentials_file", "OAuth client: %v", err)
	}
	oc.RedirectURL = cfg.RedirectURL
	block, err := aes.NewCipher(cfg.Key)
	if err != nil {
		return nil, fmt.Errorf("google: token key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("google: token key: %w", err)
	}
	f := &OAuthFlow{cfg: cfg, oc: oc, aead: aead, http: cfg.HTTPClient, log: cfg.Logger}
	if f.http == nil {
		f.http = &http.Client{Timeout: 30 * time.Second}
	}
	if f.log == nil {
		f.log = slog.New(slog.DiscardHandler)
	}
	if f.cfg.Now == nil {
		f.cfg.Now = time.Now
	}
	return f, nil
}

// Additional data of the two kinds of sealed blobs, so one can never be
// passed off as the other, nor a token as another calendar's.
const (
	adState = "oneonone/google/oauth-state/v1"
	adToken = "oneonone/google/refresh-token/v1\x00"
)

func (f *OAuthFlow) seal(plain []byte, ad string) []byte {
	nonce := make([]byte, f.aead.NonceSize(), f.aead.NonceSize()+len(plain)+f.aead.Overhead()+1)
	_, _ = rand.Read(nonce) // crypto/rand.Read never fails
	return append([]byte{1}, f.aead.Seal(nonce, nonce, plain, []byte(ad))...)
}

func (f *OAuthFlow) open(sealed []byte, ad string) ([]byte, error) {
	n := f.aead.NonceSize()
	if len(sealed) < 1+n || sealed[0] != 1 {
		return nil, errors.New("not a sealed blob of version 1")
	}
	return f.aead.Open(nil, sealed[1:1+n], sealed[1+n:], []byte(ad))
}

type flowState struct {
	Calendar string `json:"c"`
	Verifier string `json:"v"`
	Bind     string `json:"b"`
	Expires  int64  `json:"e"`
}

// AuthCodeURL returns Google's consent URL for calendarID (PKCE S256,
// offline access, consent prompted so a refresh token always comes back)
// and the cookie that binds the callback to this browser: set it on the
// response that sends the browser to the URL. Start does both.
func (f *OAuthFlow) AuthCodeURL(calendarID string) (string, *http.Cookie, error) {
	if strings.TrimSpace(calendarID) == "" {
		return "", nil, errs.Invalidf("calendar", "which calendar to authorise is missing")
	}
	bind := make([]byte, 16)
	_, _ = rand.Read(bind)
	st := flowState{Calendar: calendarID, Verifier: oauth2.GenerateVerifier(),
		Bind: base64.RawURLEncoding.EncodeToString(bind), Expires: f.cfg.Now().Add(stateTTL).Unix()}
	plain, err := json.Marshal(st)
	if err != nil {
		return "", nil, fmt.Errorf("google: oauth state: %w", err)
	}
	state := base64.RawURLEncoding.EncodeToString(f.seal(plain, adState))
	opts := []oauth2.AuthCodeOption{oauth2.AccessTypeOffline, oauth2.S256ChallengeOption(st.Verifier),
		oauth2.SetAuthURLParam("prompt", "consent")}
	if strings.Contains(calendarID, "@") {
		opts = append(opts, oauth2.SetAuthURLParam("login_hint", calendarID))
	}
	cookie := &http.Cookie{Name: bindCookie, Value: st.Bind, Path: CallbackPath, MaxAge: int(stateTTL.Seconds()),
		HttpOnly: true, Secure: strings.HasPrefix(f.cfg.RedirectURL, "https:"), SameSite: http.SameSiteLaxMode}
	return f.oc.AuthCodeURL(state, opts...), cookie, nil
}

// Start sends the browser to Google's consent page for calendarID. Mount
// it behind admin authentication.
func (f *OAuthFlow) Start(w http.ResponseWriter, r *http.Request, calendarID string) {
	u, cookie, err := f.AuthCodeURL(calendarID)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	http.SetCookie(w, cookie)
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, u, http.StatusFound)
}

// ServeHTTP is the callback at CallbackPath: it checks the state and the
// binding cookie, exchanges the code with the PKCE verifier, and saves
// the refresh token sealed.
func (f *OAuthFlow) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if r.Method != http.MethodGet {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	q := r.URL.Query()
	if e := q.Get("error"); e != "" {
		f.log.WarnContext(r.Context(), "google: consent refused", "error", e)
		http.Error(w, "Google did not authorise the calendar: "+oneLine(e), http.StatusBadRequest)
		return
	}
	st, err := f.openState(q.Get("state"))
	if err != nil {
		http.Error(w, "this authorisation link is invalid or expired; start again", http.StatusBadRequest)
		return
	}
	c, err := r.Cookie(bindCookie)
	if err != nil || subtle.ConstantTimeCompare([]byte(c.Value), []byte(st.Bind)) != 1 {
		// Another browser (or a forged link) cannot finish a flow it did
		// not start, so nobody can slip their own account in.
		http.Error(w, "this authorisation was started in another browser; start again here", http.StatusBadRequest)
		return
	}
	code := q.Get("code")
	if code == "" {
		http.Error(w, "the answer from Google has no code", http.StatusBadRequest)
		return
	}
	ctx := context.WithValue(r.Context(), oauth2.HTTPClient, f.http)
	tok, err := f.oc.Exchange(ctx, code, oauth2.VerifierOption(st.Verifier))
	if err != nil {
		f.log.WarnContext(r.Context(), "google: code exchange failed", "calendar", st.Calendar, "err", exchangeErr(err))
		http.Error(w, "Google refused the authorisation code; start again", http.StatusBadGateway)
		return
	}
	if tok.RefreshToken == "" {
		http.Error(w, "Google gave no refresh token; remove this app's access in the Google account and start again", http.StatusBadGateway)
		return
	}
	if err := f.saveToken(r.Context(), st.Calendar, tok.RefreshToken); err != nil {
		f.log.ErrorContext(r.Context(), "google: saving the token failed", "calendar", st.Calendar, "err", err)
		http.Error(w, "the token could not be saved", http.StatusInternalServerError)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: bindCookie, Value: "", Path: CallbackPath, MaxAge: -1, HttpOnly: true})
	f.log.InfoContext(r.Context(), "google: calendar authorised", "calendar", st.Calendar)
	if f.cfg.OnAuthorized != nil {
		f.cfg.OnAuthorized(st.Calendar)
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintf(w, "Calendar %s is authorised. You can close this page.\n", st.Calendar)
}

// exchangeErr is what may be logged of a failed exchange: the error code,
// never the body (which could echo the code).
func exchangeErr(err error) string {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		if re.ErrorCode != "" {
			return re.ErrorCode
		}
		if re.Response != nil {
			return re.Response.Status
		}
	}
	return "no answer from the token endpoint"
}

func (f *OAuthFlow) openState(s string) (flowState, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return flowState{}, err
	}
	plain, err := f.open(b, adState)
	if err != nil {
		return flowState{}, err
	}
	var st flowState
	if err := json.Unmarshal(plain, &st); err != nil {
		return flowState{}, err
	}
	if st.Calendar == "" || st.Verifier == "" || f.cfg.Now().Unix() > st.Expires {
		return flowState{}, errors.New("state expired")
	}
	return st, nil
}

type storedToken struct {
	Refresh string `json:"r"`
}

func (f *OAuthFlow) saveToken(ctx context.Context, calendarID, refresh string) error {
	plain, err := json.Marshal(storedToken{Refresh: refresh})
	if err != nil {
		return err
	}
	return f.cfg.Store.Save(ctx, calendarID, f.seal(plain, adToken+calendarID))
}

// TokenSource gives access tokens for calendarID from its stored refresh
// token; pass it as Config.TokenSource. Until the calendar is authorised,
// or once Google refuses the grant, Token fails with ErrReauthorize. A
// token saved later by the callback is picked up without a restart.
func (f *OAuthFlow) TokenSource(ctx context.Context, calendarID string) oauth2.TokenSource {
	return &storedSource{f: f, ctx: context.WithValue(context.WithoutCancel(ctx), oauth2.HTTPClient, f.http), calendar: calendarID}
}

type storedSource struct {
	f        *OAuthFlow
	ctx      context.Context
	calendar string

	mu      sync.Mutex
	sealed  []byte // the blob cur was built from
	refused []byte // a blob Google refused: not offered to it again
	refresh string
	cur     oauth2.TokenSource
}

func (s *storedSource) Token() (*oauth2.Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur == nil {
		blob, err := s.f.cfg.Store.Load(s.ctx, s.calendar)
		if errors.Is(err, errs.ErrNotFound) {
			return nil, fmt.Errorf("google: calendar %s was never authorised: %w", s.calendar, ErrReauthorize)
		}
		if err != nil {
			return nil, fmt.Errorf("google: load the token of %s: %w", s.calendar, err)
		}
		if s.refused != nil && bytes.Equal(blob, s.refused) {
			return nil, fmt.Errorf("google: Google refused the grant of %s: %w", s.calendar, ErrReauthorize)
		}
		plain, err := s.f.open(blob, adToken+s.calendar)
		var st storedToken
		if err == nil {
			err = json.Unmarshal(plain, &st)
		}
		if err != nil || st.Refresh == "" {
			// Typically the key changed: the old token is lost for good.
			return nil, fmt.Errorf("google: the stored token of %s cannot be opened (was the key changed?): %w", s.calendar, ErrReauthorize)
		}
		s.sealed, s.refresh = blob, st.Refresh
		s.cur = s.f.oc.TokenSource(s.ctx, &oauth2.Token{RefreshToken: st.Refresh})
	}
	t, err := s.cur.Token()
	if err != nil {
		if isInvalidGrant(err) {
			s.refused, s.cur = s.sealed, nil
			s.f.log.Warn("google: grant refused, the calendar needs authorising again", "calendar", s.calendar)
			return nil, fmt.Errorf("%w: %w", ErrReauthorize, err)
		}
		return nil, err
	}
	if t.RefreshToken != "" && t.RefreshToken != s.refresh {
		// Google rotated the refresh token: keep the new one.
		if err := s.f.saveToken(s.ctx, s.calendar, t.RefreshToken); err != nil {
			s.f.log.Error("google: saving a rotated token failed", "calendar", s.calendar, "err", err)
		} else {
			s.refresh = t.RefreshToken
		}
	}
	return t, nil
}
