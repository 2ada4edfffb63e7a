package web

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"net/http"
	"strings"
	"sync"
	"time"
)

const sessionCookie = "oneonone_session"

// sessions are signed-in admin browsers. A session cookie is an expiry
// and a random id, signed with a key derived from the admin token (so a
// new token ends every session); the token itself never leaves the form
// post. Sign-out revokes the id until it would have expired anyway.
type sessions struct {
	token   string
	key     []byte
	ttl     time.Duration
	now     func() time.Time
	mu      sync.Mutex
	revoked map[string]time.Time // session id → its expiry
}

func newSessions(adminToken string, ttl time.Duration, now func() time.Time) *sessions {
	mac := hmac.New(sha256.New, []byte(adminToken))
	mac.Write([]byte("oneonone admin page session key v1"))
	return &sessions{token: adminToken, key: mac.Sum(nil), ttl: ttl, now: now, revoked: map[string]time.Time{}}
}

// checkToken compares a pasted token with the admin token in constant time.
// An empty admin token admits nobody.
func (s *sessions) checkToken(pasted string) bool {
	if s.token == "" {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(strings.TrimSpace(pasted)), []byte(s.token)) == 1
}

func (s *sessions) sign(payload []byte) []byte {
	mac := hmac.New(sha256.New, s.key)
	mac.Write(payload)
	return mac.Sum(nil)
}

// cookie starts a new session.
func (s *sessions) cookie(secure bool) *http.Cookie {
	payload := make([]byte, 8+16)
	exp := s.now().Add(s.ttl)
	binary.BigEndian.PutUint64(payload, uint64(exp.Unix()))
	rand.Read(payload[8:])
	enc := base64.RawURLEncoding
	return &http.Cookie{
		Name:     sessionCookie,
		Value:    enc.EncodeToString(payload) + "." + enc.EncodeToString(s.sign(payload)),
		Path:     "/",
		MaxAge:   int(s.ttl / time.Second),
		HttpOnly: true,
		Secure:   secure,
		SameSite: http.SameSiteStrictMode,
	}
}

func (s *sessions) clearCookie(secure bool) *http.Cookie {
	return &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: secure, SameSite: http.SameSiteStrictMode}
}

// parse returns the session id and expiry of a well-signed, unexpired
// cookie.
func (s *sessions) parse(r *http.Request) (id string, exp time.Time, ok bool) {
	c, err := r.Cookie(sessionCookie)
	if err != nil || s.token == "" {
		return "", time.Time{}, false
	}
	p, sig, found := strings.Cut(c.Value, ".")
	if !found {
		return "", time.Time{}, false
	}
	enc := base64.RawURLEncoding
	payload, err1 := enc.DecodeString(p)
	mac, err2 := enc.DecodeString(sig)
	if err1 != nil || err2 != nil || len(payload) != 24 || !hmac.Equal(mac, s.sign(payload)) {
		return "", time.Time{}, false
	}
	exp = time.Unix(int64(binary.BigEndian.Uint64(payload)), 0)
	if !s.now().Before(exp) {
		return "", time.Time{}, false
	}
	return p, exp, true
}

func (s *sessions) valid(r *http.Request) bool {
	id, _, ok := s.parse(r)
	if !ok {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	_, revoked := s.revoked[id]
	return !revoked
}

func (s *sessions) revoke(r *http.Request) {
	id, exp, ok := s.parse(r)
	if !ok {
		return
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, e := range s.revoked {
		if !now.Before(e) {
			delete(s.revoked, k)
		}
	}
	s.revoked[id] = exp
}
