package identity

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// stateCookie carries the OIDC state, nonce and PKCE verifier between the
// redirect to the provider and the callback; signed, short-lived.
const stateCookie = "oneonone_oidc"

// stateTTL is how long a person has to finish signing in at the provider.
const stateTTL = 10 * time.Minute

// oidcClient talks to one provider, discovered on first use.
type oidcClient struct {
	opts        OIDCOptions
	redirectURL string
	now         func() time.Time

	mu       sync.Mutex
	provider *oidc.Provider // nil until discovery succeeds
}

func newOIDCClient(opts OIDCOptions, redirectURL string, now func() time.Time) *oidcClient {
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	return &oidcClient{opts: opts, redirectURL: redirectURL, now: now}
}

// clientContext makes oauth2 and go-oidc use our HTTP client.
func (o *oidcClient) clientContext(ctx context.Context) context.Context {
	return oidc.ClientContext(context.WithValue(ctx, oauth2.HTTPClient, o.opts.HTTPClient), o.opts.HTTPClient)
}

// config returns the OAuth2 configuration and the ID token verifier,
// discovering the provider if that has not worked yet.
func (o *oidcClient) config(ctx context.Context) (*oauth2.Config, *oidc.IDTokenVerifier, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.provider == nil {
		ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		defer cancel()
		p, err := oidc.NewProvider(o.clientContext(ctx), o.opts.Issuer)
		if err != nil {
			return nil, nil, fmt.Errorf("identity: discover OIDC provider %s: %w", o.opts.Issuer, err)
		}
		o.provider = p
	}
	conf := &oauth2.Config{
		ClientID:     o.opts.ClientID,
		ClientSecret: o.opts.ClientSecret,
		Endpoint:     o.provider.Endpoint(),
		RedirectURL:  o.redirectURL,
		Scopes:       []string{oidc.ScopeOpenID, "email"},
	}
	// The verifier checks the signature, the issuer, the audience (our
	// client id) and expiry.
	v := o.provider.Verifier(&oidc.Config{ClientID: o.opts.ClientID, Now: o.now})
	return conf, v, nil
}

// oidcState is the state cookie's payload.
type oidcState struct {
	State    string `json:"s"`
	Nonce    string `json:"n"`
	Verifier string `json:"v"`
	Next     string `json:"next"`
	Expires  int64  `json:"x"`
}

// parseState decodes a state cookie value signed under key, valid at now.
func parseState(key []byte, value string, now time.Time) (oidcState, bool) {
	payload, ok := unseal(key, value)
	if !ok {
		return oidcState{}, false
	}
	var st oidcState
	dec := json.NewDecoder(strings.NewReader(string(payload)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&st); err != nil || dec.More() {
		return oidcState{}, false
	}
	if st.State == "" || st.Nonce == "" || st.Verifier == "" || now.Unix() >= st.Expires {
		return oidcState{}, false
	}
	return st, true
}

func randomString() string {
	b := make([]byte, 32)
	rand.Read(b) // never fails (crypto/rand panics instead)
	return base64.RawURLEncoding.EncodeToString(b)
}

func (s *Service) stateCookie(value string, maxAge int) *http.Cookie {
	return &http.Cookie{
		Name:     stateCookie,
		Value:    value,
		Path:     "/auth/oidc/",
		MaxAge:   maxAge,
		HttpOnly: true,
		Secure:   s.secure,
		// Lax: the provider sends the browser back with a top-level GET.
		SameSite: http.SameSiteLaxMode,
	}
}

// oidcLogin starts the authorization code flow with PKCE, state and nonce.
func (s *Service) oidcLogin(w http.ResponseWriter, r *http.Request) {
	conf, _, err := s.oidc.config(r.Context())
	if err != nil {
		s.log.ErrorContext(r.Context(), "identity: OIDC login", "err", err)
		s.renderMessage(w, r, http.StatusBadGateway, msgSignInFailed)
		return
	}
	st := oidcState{
		State:    randomString(),
		Nonce:    randomString(),
		Verifier: oauth2.GenerateVerifier(),
		Next:     SafeNext(r.URL.Query().Get("next")),
		Expires:  s.now().Add(stateTTL).Unix(),
	}
	payload, _ := json.Marshal(st)
	http.SetCookie(w, s.stateCookie(seal(s.stateKey, payload), int(stateTTL/time.Second)))
	http.Redirect(w, r, conf.AuthCodeURL(st.State, oidc.Nonce(st.Nonce), oauth2.S256ChallengeOption(st.Verifier)), http.StatusFound)
}

// errUnverified marks an ID token whose e-mail the provider did not verify.
var errUnverified = errors.New("e-mail not verified")

// oidcCallback finishes the flow: state, code exchange with the PKCE
// verifier, ID token verification (signature, issuer, audience, expiry,
// nonce), a verified e-mail, then a session and the way back to next.
func (s *Service) oidcCallback(w http.ResponseWriter, r *http.Request) {
	// The state cookie is single use, whatever happens next.
	http.SetCookie(w, s.stateCookie("", -1))
	email, next, err := s.finishOIDC(r)
	if err != nil {
		if errors.Is(err, errUnverified) {
			s.log.InfoContext(r.Context(), "identity: OIDC sign-in refused", "reason", "email not verified")
			s.renderMessage(w, r, http.StatusForbidden, msgUnverified)
			return
		}
		s.log.InfoContext(r.Context(), "identity: OIDC sign-in failed", "err", err)
		s.renderMessage(w, r, http.StatusForbidden, msgSignInFailed)
		return
	}
	if err := s.startSession(w, r, email, ViaOIDC); err != nil {
		s.log.ErrorContext(r.Context(), "identity: OIDC session", "err", err)
		s.renderMessage(w, r, http.StatusInternalServerError, msgServerError)
		return
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (s *Service) finishOIDC(r *http.Request) (email, next string, err error) {
	c, err := r.Cookie(stateCookie)
	if err != nil {
		return "", "", errors.New("no state cookie")
	}
	st, ok := parseState(s.stateKey, c.Value, s.now())
	if !ok {
		return "", "", errors.New("bad or expired state cookie")
	}
	q := r.URL.Query()
	if subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(st.State)) != 1 {
		return "", "", errors.New("state mismatch")
	}
	if e := q.Get("error"); e != "" {
		// The provider's error code is a fixed vocabulary, safe to log.
		return "", "", fmt.Errorf("provider refused: %.64q", e)
	}
	code := q.Get("code")
	if code == "" {
		return "", "", errors.New("no code")
	}
	conf, verifier, err := s.oidc.config(r.Context())
	if err != nil {
		return "", "", err
	}
	ctx := s.oidc.clientContext(r.Context())
	tok, err := conf.Exchange(ctx, code, oauth2.VerifierOption(st.Verifier))
	if err != nil {
		return "", "", fmt.Errorf("exchange code: %w", redactOAuthError(err))
	}
	raw, ok := tok.Extra("id_token").(string)
	if !ok || raw == "" {
		return "", "", errors.New("no id_token in token response")
	}
	idt, err := verifier.Verify(ctx, raw)
	if err != nil {
		return "", "", fmt.Errorf("verify ID token: %w", err)
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(st.Nonce)) != 1 {
		return "", "", errors.New("nonce mismatch")
	}
	var claims struct {
		Email         string `json:"email"`
		EmailVerified any    `json:"email_verified"`
	}
	if err := idt.Claims(&claims); err != nil {
		return "", "", fmt.Errorf("ID token claims: %w", err)
	}
	// Some providers send the boolean as a string.
	verified := claims.EmailVerified == true || claims.EmailVerified == "true"
	if claims.Email == "" || !verified {
		return "", "", errUnverified
	}
	return normalizeEmail(claims.Email), st.Next, nil
}

// redactOAuthError keeps the provider's error code and drops the raw
// response body, which may echo the code or tokens.
func redactOAuthError(err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		status := 0
		if re.Response != nil {
			status = re.Response.StatusCode
		}
		return fmt.Errorf("token endpoint answered %d %.64q", status, re.ErrorCode)
	}
	return err
}
