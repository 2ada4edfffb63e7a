package identity_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/oneonone/oneonone/identity"
)

const clientID, clientSecret = "oneonone-test", "client-secret-for-tests"

// fakeIdP is an OpenID provider in the test: discovery, JWKS with an RSA
// key, an /authorize that approves at once, and a /token that checks the
// PKCE verifier and issues a signed ID token. Its knobs make it misbehave.
type fakeIdP struct {
	t   *testing.T
	srv *httptest.Server
	key *rsa.PrivateKey

	mu            sync.Mutex
	codes         map[string]authRequest
	email         string
	emailVerified any
	audience      string // "" = clientID
	nonce         string // "" = the one asked for
	issued        []string
}

type authRequest struct{ nonce, challenge, redirect string }

func newFakeIdP(t *testing.T) *fakeIdP {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	p := &fakeIdP{t: t, key: key, codes: map[string]authRequest{}, email: "Ren@Example.com", emailVerified: true}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]any{
			"issuer":                                p.srv.URL,
			"authorization_endpoint":                p.srv.URL + "/authorize",
			"token_endpoint":                        p.srv.URL + "/token",
			"jwks_uri":                              p.srv.URL + "/jwks",
			"response_types_supported":              []string{"code"},
			"subject_types_supported":               []string{"public"},
			"id_token_signing_alg_values_supported": []string{"RS256"},
			"code_challenge_methods_supported":      []string{"S256"},
		})
	})
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "k1", Algorithm: "RS256", Use: "sig"}}})
	})
	mux.HandleFunc("GET /authorize", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if q.Get("client_id") != clientID || q.Get("response_type") != "code" || q.Get("code_challenge_method") != "S256" ||
			q.Get("code_challenge") == "" || q.Get("nonce") == "" || q.Get("state") == "" || !strings.Contains(q.Get("scope"), "openid") {
			http.Error(w, "bad authorization request: "+q.Encode(), http.StatusBadRequest)
			return
		}
		code := randomCode()
		p.mu.Lock()
		p.codes[code] = authRequest{nonce: q.Get("nonce"), challenge: q.Get("code_challenge"), redirect: q.Get("redirect_uri")}
		p.mu.Unlock()
		http.Redirect(w, r, q.Get("redirect_uri")+"?code="+code+"&state="+url.QueryEscape(q.Get("state")), http.StatusFound)
	})
	mux.HandleFunc("POST /token", p.token)
	p.srv = httptest.NewServer(mux)
	t.Cleanup(p.srv.Close)
	return p
}

func randomCode() string {
	b := make([]byte, 16)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func (p *fakeIdP) token(w http.ResponseWriter, r *http.Request) {
	r.ParseForm()
	id, sec, ok := r.BasicAuth()
	if !ok {
		id, sec = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if id != clientID || sec != clientSecret {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		io := `{"error":"invalid_client"}`
		w.Write([]byte(io))
		return
	}
	p.mu.Lock()
	req, found := p.codes[r.PostForm.Get("code")]
	delete(p.codes, r.PostForm.Get("code"))
	p.mu.Unlock()
	sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
	if !found || r.PostForm.Get("grant_type") != "authorization_code" || req.redirect != r.PostForm.Get("redirect_uri") ||
		base64.RawURLEncoding.EncodeToString(sum[:]) != req.challenge {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		w.Write([]byte(`{"error":"invalid_grant"}`))
		return
	}
	p.mu.Lock()
	aud, nonce := p.audience, p.nonce
	claims := map[string]any{"iss": p.srv.URL, "sub": "user-1", "email": p.email, "email_verified": p.emailVerified,
		"iat": time.Now().Unix(), "exp": time.Now().Add(time.Hour).Unix()}
	p.mu.Unlock()
	if aud == "" {
		aud = clientID
	}
	if nonce == "" {
		nonce = req.nonce
	}
	claims["aud"], claims["nonce"] = aud, nonce
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: p.key}, (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", "k1"))
	if err != nil {
		p.t.Error(err)
		return
	}
	payload, _ := json.Marshal(claims)
	obj, err := signer.Sign(payload)
	if err != nil {
		p.t.Error(err)
		return
	}
	raw, _ := obj.CompactSerialize()
	p.mu.Lock()
	p.issued = append(p.issued, raw)
	p.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"access_token": "at-" + randomCode(), "token_type": "Bearer", "expires_in": 3600, "id_token": raw})
}

func (p *fakeIdP) set(f func(p *fakeIdP)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	f(p)
}

func oidcEnv(t *testing.T) (*env, *fakeIdP) {
	idp := newFakeIdP(t)
	e := newEnv(t, func(o *identity.Options) {
		o.OIDC = &identity.OIDCOptions{Issuer: idp.srv.URL, ClientID: clientID, ClientSecret: clientSecret}
	})
	return e, idp
}

func TestOIDCSignIn(t *testing.T) {
	e, _ := oidcEnv(t)
	c := e.client(false)
	a := get(t, c, e.srv.URL+"/auth/oidc/login?next=/r/s_1")
	if a.status != http.StatusOK || a.body != "room s_1: ren@example.com via oidc" {
		t.Fatalf("after sign-in: %d %q at %s", a.status, a.body, a.url)
	}
	// The state cookie is gone and a replayed callback does not sign in.
	u, _ := url.Parse(e.srv.URL + "/auth/oidc/callback")
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == "oneonone_oidc" {
			t.Error("state cookie left behind")
		}
	}
}

func TestOIDCRefusals(t *testing.T) {
	tests := []struct {
		name   string
		idp    func(p *fakeIdP)
		status int
		text   string
	}{
		{"unverified e-mail", func(p *fakeIdP) { p.emailVerified = false }, http.StatusForbidden, "did not confirm your e-mail"},
		{"no email_verified claim", func(p *fakeIdP) { p.emailVerified = nil }, http.StatusForbidden, "did not confirm your e-mail"},
		{"no e-mail", func(p *fakeIdP) { p.email = "" }, http.StatusForbidden, "did not confirm your e-mail"},
		{"wrong nonce", func(p *fakeIdP) { p.nonce = "replayed-nonce" }, http.StatusForbidden, "Sign-in failed"},
		{"wrong audience", func(p *fakeIdP) { p.audience = "some-other-client" }, http.StatusForbidden, "Sign-in failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, idp := oidcEnv(t)
			idp.set(tt.idp)
			c := e.client(false)
			a := get(t, c, e.srv.URL+"/auth/oidc/login?next=/r/s_1")
			if a.status != tt.status || !strings.Contains(a.body, tt.text) {
				t.Errorf("got %d %q, want %d with %q", a.status, a.body, tt.status, tt.text)
			}
			if got := e.whoami(c); got != "" {
				t.Errorf("signed in anyway: %q", got)
			}
		})
	}
	t.Run("string true is verified", func(t *testing.T) {
		e, idp := oidcEnv(t)
		idp.set(func(p *fakeIdP) { p.emailVerified = "true" })
		if a := get(t, e.client(false), e.srv.URL+"/auth/oidc/login?next=/r/s_1"); a.status != http.StatusOK {
			t.Errorf("got %d %q", a.status, a.body)
		}
	})
}

func TestOIDCStateAndNext(t *testing.T) {
	e, idp := oidcEnv(t)
	// An open redirect in next lands on our own home page instead.
	for _, next := range []string{"//evil.example/", "https://evil.example/", "/\\evil.example"} {
		a := get(t, e.client(false), e.srv.URL+"/auth/oidc/login?next="+url.QueryEscape(next))
		if a.status != http.StatusOK || a.body != "home" || !strings.HasPrefix(a.url, e.srv.URL+"/") {
			t.Errorf("next=%s: ended at %s with %d %q", next, a.url, a.status, a.body)
		}
	}
	// A callback without our state cookie (login CSRF), or with a state
	// that does not match it, is refused.
	nf := e.client(true)
	a := get(t, nf, e.srv.URL+"/auth/oidc/login?next=/r/s_1")
	authURL := a.header.Get("Location")
	if !strings.HasPrefix(authURL, idp.srv.URL+"/authorize?") {
		t.Fatalf("login redirected to %q", authURL)
	}
	a = get(t, nf, authURL)
	callback, _ := url.Parse(a.header.Get("Location"))
	stranger := e.client(true)
	if a := get(t, stranger, callback.String()); a.status != http.StatusForbidden || sessionCookie(a.header) != nil {
		t.Errorf("callback without the state cookie: %d", a.status)
	}
	q := callback.Query()
	q.Set("state", "forged")
	callback.RawQuery = q.Encode()
	if a := get(t, nf, callback.String()); a.status != http.StatusForbidden || sessionCookie(a.header) != nil {
		t.Errorf("callback with a forged state: %d", a.status)
	}
	// The provider's error is a refusal too.
	if a := get(t, e.client(false), e.srv.URL+"/auth/oidc/callback?error=access_denied&state=x"); a.status != http.StatusForbidden {
		t.Errorf("error callback: %d", a.status)
	}
}

func TestOIDCProviderDownIsNotFatal(t *testing.T) {
	idp := newFakeIdP(t)
	issuer := idp.srv.URL
	idp.srv.Close()
	e := newEnv(t, func(o *identity.Options) {
		o.OIDC = &identity.OIDCOptions{Issuer: issuer, ClientID: clientID, ClientSecret: clientSecret}
	})
	a := get(t, e.client(false), e.srv.URL+"/auth/oidc/login")
	if a.status != http.StatusBadGateway || !strings.Contains(a.body, "Sign-in failed") {
		t.Errorf("provider down: %d %q", a.status, a.body)
	}
}
