package google_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oneonone/oneonone/calendar"
	"github.com/oneonone/oneonone/calendar/google"
	"github.com/oneonone/oneonone/internal/errs"
)

// memStore is a TokenStore in memory.
type memStore struct {
	mu sync.Mutex
	m  map[string][]byte
}

func (s *memStore) Load(_ context.Context, id string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.m[id]
	if !ok {
		return nil, fmt.Errorf("token of %s: %w", id, errs.ErrNotFound)
	}
	return bytes.Clone(b), nil
}

func (s *memStore) Save(_ context.Context, id string, b []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string][]byte{}
	}
	s.m[id] = bytes.Clone(b)
	return nil
}

// tokenEndpoint is a tiny OAuth 2.0 token endpoint: it checks PKCE on
// the code exchange, hands out a refresh token, and refuses revoked ones.
type tokenEndpoint struct {
	mu        sync.Mutex
	challenge string // code_challenge of the last consent URL
	refresh   string // the refresh token handed out next
	revoked   map[string]bool
	calls     int
}

func (te *tokenEndpoint) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	te.mu.Lock()
	defer te.mu.Unlock()
	te.calls++
	_ = r.ParseForm()
	w.Header().Set("Content-Type", "application/json")
	fail := func(code string) {
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `{"error":%q,"error_description":"refused"}`, code)
	}
	switch r.PostForm.Get("grant_type") {
	case "authorization_code":
		sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
		if r.PostForm.Get("code") != "the-code" || base64.RawURLEncoding.EncodeToString(sum[:]) != te.challenge {
			fail("invalid_grant")
			return
		}
		fmt.Fprintf(w, `{"access_token":"at-1","refresh_token":%q,"expires_in":3600,"token_type":"Bearer"}`, te.refresh)
	case "refresh_token":
		if te.revoked[r.PostForm.Get("refresh_token")] {
			fail("invalid_grant")
			return
		}
		fmt.Fprint(w, `{"access_token":"at-2","expires_in":3600,"token_type":"Bearer"}`)
	default:
		fail("unsupported_grant_type")
	}
}

type oauthEnv struct {
	flow  *google.OAuthFlow
	store *memStore
	te    *tokenEndpoint
	now   *time.Time
}

func newOAuth(t *testing.T, key []byte) oauthEnv {
	t.Helper()
	te := &tokenEndpoint{refresh: "rt-secret-4711", revoked: map[string]bool{}}
	ts := httptest.NewServer(te)
	t.Cleanup(ts.Close)
	creds := fmt.Sprintf(`{"web":{"client_id":"cid.apps.googleusercontent.com","client_secret":"shh",
		"auth_uri":"https://accounts.example.com/o/oauth2/auth","token_uri":%q,
		"redirect_uris":["https://1on1.example.com/oauth/google/callback"]}}`, ts.URL+"/token")
	store := &memStore{}
	now := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	e := oauthEnv{store: store, te: te, now: &now}
	flow, err := google.NewOAuthFlow(google.OAuthConfig{Credentials: []byte(creds),
		RedirectURL: "https://1on1.example.com" + google.CallbackPath, Key: key, Store: store,
		Now: func() time.Time { return *e.now }})
	if err != nil {
		t.Fatal(err)
	}
	e.flow = flow
	return e
}

func testKey(b byte) []byte { return bytes.Repeat([]byte{b}, 32) }

// consent runs the browser's part: Start, then the callback with the
// state and cookie it got.
func (e oauthEnv) consent(t *testing.T, calendarID string, tamper func(q url.Values, r *http.Request)) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	e.flow.Start(rec, httptest.NewRequest("GET", "/oauth/google/start", nil), calendarID)
	if rec.Code != http.StatusFound {
		t.Fatalf("Start: HTTP %d", rec.Code)
	}
	loc, err := url.Parse(rec.Header().Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	q := loc.Query()
	e.te.mu.Lock()
	e.te.challenge = q.Get("code_challenge")
	e.te.mu.Unlock()
	back := url.Values{"state": {q.Get("state")}, "code": {"the-code"}}
	req := httptest.NewRequest("GET", google.CallbackPath, nil)
	for _, c := range rec.Result().Cookies() {
		req.AddCookie(c)
	}
	if tamper != nil {
		tamper(back, req)
	}
	req.URL.RawQuery = back.Encode()
	out := httptest.NewRecorder()
	e.flow.ServeHTTP(out, req)
	return out
}

func TestAuthCodeURL(t *testing.T) {
	e := newOAuth(t, testKey(1))
	raw, cookie, err := e.flow.AuthCodeURL(calID)
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	for k, want := range map[string]string{"code_challenge_method": "S256", "access_type": "offline", "prompt": "consent",
		"response_type": "code", "client_id": "cid.apps.googleusercontent.com", "login_hint": calID,
		"redirect_uri": "https://1on1.example.com/oauth/google/callback", "scope": google.Scope} {
		if q.Get(k) != want {
			t.Errorf("%s = %q, want %q", k, q.Get(k), want)
		}
	}
	if len(q.Get("code_challenge")) != 43 || q.Get("state") == "" || strings.Contains(q.Get("state"), calID) {
		t.Errorf("code_challenge %q, state %q: want a S256 challenge and an opaque state", q.Get("code_challenge"), q.Get("state"))
	}
	if cookie == nil || !cookie.HttpOnly || !cookie.Secure || cookie.Path != google.CallbackPath || cookie.SameSite != http.SameSiteLaxMode {
		t.Errorf("binding cookie = %+v", cookie)
	}
}

func TestOAuthCallback(t *testing.T) {
	e := newOAuth(t, testKey(1))
	rec := e.consent(t, calID, nil)
	if rec.Code != http.StatusOK {
		t.Fatalf("callback: HTTP %d: %s", rec.Code, rec.Body)
	}
	sealed, err := e.store.Load(context.Background(), calID)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, []byte("rt-secret-4711")) || bytes.Contains(sealed, []byte("4711")) {
		t.Fatal("the stored bytes hold the refresh token in clear")
	}
	// The token source uses it: a provider on the fake works with it.
	ts := e.flow.TokenSource(context.Background(), calID)
	tok, err := ts.Token()
	if err != nil || tok.AccessToken != "at-2" {
		t.Fatalf("Token() = %v, %v", tok, err)
	}
	env := newEnv(t, func(c *google.Config) { c.TokenSource = ts })
	if _, err := env.p.Changes(context.Background(), ""); err != nil {
		t.Fatalf("Changes with the flow's tokens: %v", err)
	}
}

func TestOAuthCallbackRefused(t *testing.T) {
	for _, tc := range []struct {
		name   string
		tamper func(q url.Values, r *http.Request)
		status int
	}{
		{"no cookie", func(q url.Values, r *http.Request) { r.Header.Del("Cookie") }, http.StatusBadRequest},
		{"other browser's cookie", func(q url.Values, r *http.Request) {
			r.Header.Del("Cookie")
			r.AddCookie(&http.Cookie{Name: "oneonone_google_oauth", Value: "x"})
		}, http.StatusBadRequest},
		{"tampered state", func(q url.Values, r *http.Request) { q.Set("state", q.Get("state")[:20]+"AAAA"+q.Get("state")[24:]) }, http.StatusBadRequest},
		{"no code", func(q url.Values, r *http.Request) { q.Del("code") }, http.StatusBadRequest},
		{"consent denied", func(q url.Values, r *http.Request) { q.Set("error", "access_denied") }, http.StatusBadRequest},
		{"wrong code", func(q url.Values, r *http.Request) { q.Set("code", "stolen") }, http.StatusBadGateway},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newOAuth(t, testKey(1))
			rec := e.consent(t, calID, tc.tamper)
			if rec.Code != tc.status {
				t.Fatalf("HTTP %d, want %d: %s", rec.Code, tc.status, rec.Body)
			}
			if _, err := e.store.Load(context.Background(), calID); !errors.Is(err, errs.ErrNotFound) {
				t.Fatal("a refused callback saved a token")
			}
		})
	}
	t.Run("expired", func(t *testing.T) {
		e := newOAuth(t, testKey(1))
		rec := e.consent(t, calID, func(url.Values, *http.Request) { *e.now = e.now.Add(11 * time.Minute) })
		if rec.Code != http.StatusBadRequest {
			t.Fatalf("HTTP %d after 11 minutes, want 400", rec.Code)
		}
	})
}

func TestReauthorize(t *testing.T) {
	ctx := context.Background()
	t.Run("never authorised", func(t *testing.T) {
		e := newOAuth(t, testKey(1))
		env := newEnv(t, func(c *google.Config) { c.TokenSource = e.flow.TokenSource(ctx, calID) })
		_, err := env.p.Changes(ctx, "")
		assertReauthorize(t, err)
		if n := total(env.fake.Requests()); n != 0 {
			t.Fatalf("%d requests reached Google without a token", n)
		}
	})
	t.Run("invalid_grant", func(t *testing.T) {
		e := newOAuth(t, testKey(1))
		if rec := e.consent(t, calID, nil); rec.Code != http.StatusOK {
			t.Fatal(rec.Body)
		}
		e.te.mu.Lock()
		e.te.revoked["rt-secret-4711"] = true
		e.te.mu.Unlock()
		env := newEnv(t, func(c *google.Config) { c.TokenSource = e.flow.TokenSource(ctx, calID) })
		_, err := env.p.Changes(ctx, "")
		assertReauthorize(t, err)
		e.te.mu.Lock()
		calls := e.te.calls
		e.te.mu.Unlock()
		_, err = env.p.PutEvent(ctx, seriesEvent(t, "s_x"), "")
		assertReauthorize(t, err)
		e.te.mu.Lock()
		again := e.te.calls
		e.te.mu.Unlock()
		if again != calls {
			t.Error("a refused token was offered to Google again")
		}
		// A new consent heals it without a restart.
		e.te.mu.Lock()
		e.te.refresh = "rt-new"
		e.te.mu.Unlock()
		if rec := e.consent(t, calID, nil); rec.Code != http.StatusOK {
			t.Fatal(rec.Body)
		}
		if _, err := env.p.Changes(ctx, ""); err != nil {
			t.Fatalf("after a new consent: %v", err)
		}
	})
	t.Run("key changed", func(t *testing.T) {
		e := newOAuth(t, testKey(1))
		if rec := e.consent(t, calID, nil); rec.Code != http.StatusOK {
			t.Fatal(rec.Body)
		}
		other := newOAuth(t, testKey(2))
		other.store.m = e.store.m
		_, err := other.flow.TokenSource(ctx, calID).Token()
		if !errors.Is(err, google.ErrReauthorize) {
			t.Fatalf("token sealed with another key: %v, want ErrReauthorize", err)
		}
		// Nor can one calendar's token be used for another.
		e.store.m["other@example.com"] = e.store.m[calID]
		if _, err := e.flow.TokenSource(ctx, "other@example.com").Token(); !errors.Is(err, google.ErrReauthorize) {
			t.Fatalf("a token moved to another calendar: %v, want ErrReauthorize", err)
		}
	})
}

func assertReauthorize(t *testing.T, err error) {
	t.Helper()
	if !errors.Is(err, google.ErrReauthorize) || !errors.Is(err, errs.ErrUnauthorized) {
		t.Fatalf("%v, want ErrReauthorize", err)
	}
	pe, ok := calendar.AsProviderError(err)
	if !ok || pe.Reason != calendar.ReasonUnauthorized || pe.Retryable() {
		t.Fatalf("%#v, want a non-retryable unauthorized ProviderError", pe)
	}
}

// TestServiceAccount: a service account key with a subject signs a JWT
// that impersonates the organizer (domain-wide delegation), and Google's
// invalid_grant (delegation not granted) is ErrReauthorize.
func TestServiceAccount(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})

	var mu sync.Mutex
	var claims map[string]any
	grant := true
	tokenSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		parts := strings.Split(r.PostForm.Get("assertion"), ".")
		mu.Lock()
		defer mu.Unlock()
		claims = nil
		if len(parts) == 3 {
			b, _ := base64.RawURLEncoding.DecodeString(parts[1])
			_ = json.Unmarshal(b, &claims)
		}
		w.Header().Set("Content-Type", "application/json")
		if !grant {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"error":"invalid_grant","error_description":"Client is unauthorized to retrieve access tokens using this method."}`)
			return
		}
		fmt.Fprint(w, `{"access_token":"sa-token","expires_in":3600,"token_type":"Bearer"}`)
	}))
	t.Cleanup(tokenSrv.Close)
	creds, _ := json.Marshal(map[string]string{"type": "service_account", "client_email": "sync@proj.iam.gserviceaccount.com",
		"private_key_id": "k1", "private_key": string(keyPEM), "token_uri": tokenSrv.URL})

	ctx := context.Background()
	env := newEnv(t, func(c *google.Config) { c.TokenSource, c.Credentials, c.Subject = nil, creds, calID })
	if _, err := env.p.Changes(ctx, ""); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	if claims["sub"] != calID || claims["iss"] != "sync@proj.iam.gserviceaccount.com" || claims["scope"] != google.Scope {
		t.Errorf("JWT claims = %v", claims)
	}
	grant = false
	mu.Unlock()

	denied := newEnv(t, func(c *google.Config) { c.TokenSource, c.Credentials, c.Subject = nil, creds, "ren@example.com" })
	_, err = denied.p.Changes(ctx, "")
	assertReauthorize(t, err)
}

func TestNewOAuthFlow(t *testing.T) {
	good := []byte(`{"installed":{"client_id":"c","client_secret":"s","auth_uri":"https://a/auth","token_uri":"https://a/token"}}`)
	for _, tc := range []struct {
		name string
		cfg  google.OAuthConfig
	}{
		{"short key", google.OAuthConfig{Credentials: good, Key: testKey(1)[:16], Store: &memStore{}, RedirectURL: "https://x" + google.CallbackPath}},
		{"no store", google.OAuthConfig{Credentials: good, Key: testKey(1), RedirectURL: "https://x" + google.CallbackPath}},
		{"other redirect", google.OAuthConfig{Credentials: good, Key: testKey(1), Store: &memStore{}, RedirectURL: "https://x/cb"}},
		{"service account", google.OAuthConfig{Credentials: []byte(`{"type":"service_account"}`), Key: testKey(1), Store: &memStore{}, RedirectURL: "https://x" + google.CallbackPath}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := google.NewOAuthFlow(tc.cfg); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}
