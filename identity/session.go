package identity

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/oneonone/oneonone/internal/errs"
)

// SessionCookie is the name of the person session cookie.
const SessionCookie = "oneonone_person"

// sessionIDBytes is the entropy of a session id.
const sessionIDBytes = 32

// sealPrefix versions the signed-value format of cookies.
const sealPrefix = "v1."

// maxSealed bounds the work done on an attacker's cookie.
const maxSealed = 4096

// seal signs payload under key: "v1." base64url(payload) "." base64url(mac).
// It authenticates, it does not hide: put nothing secret from the holder
// in payload.
func seal(key, payload []byte) string {
	signed := sealPrefix + base64.RawURLEncoding.EncodeToString(payload)
	m := hmac.New(sha256.New, key)
	m.Write([]byte(signed))
	return signed + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// unseal returns the payload of a value made by seal under key, or false
// for anything else (malformed, other key, other purpose).
func unseal(key []byte, value string) ([]byte, bool) {
	if len(value) > maxSealed || !strings.HasPrefix(value, sealPrefix) {
		return nil, false
	}
	dot := strings.LastIndexByte(value, '.')
	if dot < len(sealPrefix) {
		return nil, false
	}
	signed, sig := value[:dot], value[dot+1:]
	got, err := base64.RawURLEncoding.Strict().DecodeString(sig)
	if err != nil || len(got) != sha256.Size {
		return nil, false
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte(signed))
	if !hmac.Equal(got, m.Sum(nil)) {
		return nil, false
	}
	payload, err := base64.RawURLEncoding.Strict().DecodeString(signed[len(sealPrefix):])
	if err != nil {
		return nil, false
	}
	return payload, true
}

// parseSessionCookie returns the session id in a session cookie value.
func parseSessionCookie(key []byte, value string) ([]byte, bool) {
	id, ok := unseal(key, value)
	if !ok || len(id) != sessionIDBytes {
		return nil, false
	}
	return id, true
}

func hashHex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// Current returns the person signed in on r's session cookie. The cookie's
// signature is checked first (a forged cookie costs no query); then the
// session must exist in the store (not signed out, not revoked) and not
// have expired.
func (s *Service) Current(r *http.Request) (Identity, bool) {
	sess, ok := s.currentSession(r)
	if !ok {
		return Identity{}, false
	}
	return Identity{Email: sess.Email, Via: sess.Via}, true
}

func (s *Service) currentSession(r *http.Request) (Session, bool) {
	c, err := r.Cookie(SessionCookie)
	if err != nil {
		return Session{}, false
	}
	id, ok := parseSessionCookie(s.sessionKey, c.Value)
	if !ok {
		return Session{}, false
	}
	sess, err := s.store.PersonSession(r.Context(), hashHex(id))
	if err != nil {
		if !errors.Is(err, errs.ErrNotFound) {
			s.log.WarnContext(r.Context(), "identity: read session", "err", err)
		}
		return Session{}, false
	}
	if !s.now().Before(sess.Expires) {
		return Session{}, false
	}
	return sess, true
}

// startSession stores a new session for email and sets its cookie on w,
// ending the session the browser had before (so one browser is one
// person at a time).
func (s *Service) startSession(w http.ResponseWriter, r *http.Request, email, via string) error {
	if old, ok := s.currentSession(r); ok {
		if err := s.store.DeletePersonSession(r.Context(), old.IDHash); err != nil {
			return fmt.Errorf("identity: end previous session: %w", err)
		}
	}
	id := make([]byte, sessionIDBytes)
	if _, err := rand.Read(id); err != nil {
		return fmt.Errorf("identity: session id: %w", err)
	}
	now := s.now()
	sess := Session{IDHash: hashHex(id), Email: normalizeEmail(email), Via: via, Created: now, Expires: now.Add(s.sessionTTL)}
	if err := s.store.CreatePersonSession(r.Context(), sess); err != nil {
		return fmt.Errorf("identity: store session: %w", err)
	}
	http.SetCookie(w, s.sessionCookie(seal(s.sessionKey, id), int(s.sessionTTL/time.Second)))
	s.log.InfoContext(r.Context(), "identity: signed in", "via", via)
	return nil
}

// sessionCookie is the cookie carrying value; maxAge < 0 deletes it.
// SameSite=Lax, not Strict: personal links arrive by top-level navigation
// from a calendar or mail application, which Strict would strip the
// cookie from on the way back.
func (s *Service) sessionCookie(value string, maxAge int) *http.Cookie {
	return &http.Cookie{
		Name:     SessionCookie,
		Value:    value,
		Path:     "/",
		MaxAge:   maxAge,
		HttpOnly: true,
		Secure:   s.secure,
		SameSite: http.SameSiteLaxMode,
	}
}

// logout ends the session server-side (on every daemon at once) and clears
// the cookie. POST only: the daemon's cross-origin protection guards it.
func (s *Service) logout(w http.ResponseWriter, r *http.Request) {
	if sess, ok := s.currentSession(r); ok {
		if err := s.store.DeletePersonSession(r.Context(), sess.IDHash); err != nil {
			s.log.ErrorContext(r.Context(), "identity: sign out", "err", err)
			s.renderMessage(w, r, http.StatusInternalServerError, msgServerError)
			return
		}
	}
	http.SetCookie(w, s.sessionCookie("", -1))
	if next := r.FormValue("next"); next != "" {
		http.Redirect(w, r, SafeNext(next), http.StatusSeeOther)
		return
	}
	s.renderMessage(w, r, http.StatusOK, msgSignedOut)
}
