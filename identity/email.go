package identity

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"net/http"
	"net/mail"
	"strconv"
	"sync"
	"time"

	"github.com/oneonone/oneonone/internal/errs"
)

// maxEmailForm bounds the sign-in form body.
const maxEmailForm = 4 << 10

// sendTimeout bounds one sign-in mail.
const sendTimeout = time.Minute

// emailForm shows the "send me a sign-in link" form.
func (s *Service) emailForm(w http.ResponseWriter, r *http.Request) {
	lang := language(r)
	t, l := messages[lang]["email_title"], messages[lang]["email_label"]
	s.render(w, r, http.StatusOK, pageData{Lang: lang, Title: t.Title, Body: t.Body, Form: "email",
		Label: l.Title, Button: l.Body, Next: SafeNext(r.URL.Query().Get("next"))})
}

// emailRequest sends a one-time sign-in link when the address belongs to
// a person in the store. The answer is the same page whether or not it
// does, and the mail goes out in the background so that the response time
// does not tell either.
func (s *Service) emailRequest(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxEmailForm)
	if err := r.ParseForm(); err != nil {
		s.renderMessage(w, r, http.StatusBadRequest, msgBadRequest)
		return
	}
	lang := language(r)
	addr, err := mail.ParseAddress(r.PostForm.Get("email"))
	if err != nil {
		s.renderMessage(w, r, http.StatusOK, msgCheckInbox)
		return
	}
	email := normalizeEmail(addr.Address)
	next := SafeNext(r.PostForm.Get("next"))
	if !s.limit.allow(email, s.now()) {
		s.log.InfoContext(r.Context(), "identity: sign-in mail rate-limited")
		s.renderMessage(w, r, http.StatusOK, msgCheckInbox)
		return
	}
	s.goBackground(func(ctx context.Context) {
		ctx, cancel := context.WithTimeout(ctx, sendTimeout)
		defer cancel()
		if err := s.sendSignInLink(ctx, email, next, lang); err != nil {
			s.log.WarnContext(ctx, "identity: sign-in mail", "err", err)
		}
	})
	s.renderMessage(w, r, http.StatusOK, msgCheckInbox)
}

func (s *Service) sendSignInLink(ctx context.Context, email, next, lang string) error {
	if _, err := s.store.GetPerson(ctx, email); err != nil {
		if errors.Is(err, errs.ErrNotFound) {
			return nil // nobody to write to, and nobody is told
		}
		return err
	}
	raw := make([]byte, 32)
	rand.Read(raw)
	token := base64.RawURLEncoding.EncodeToString(raw)
	now := s.now()
	if err := s.store.CreateSignInToken(ctx, SignInToken{
		Hash: hashHex([]byte(token)), Email: email, Next: next, Created: now, Expires: now.Add(s.emailLinkTTL),
	}); err != nil {
		return err
	}
	link := s.publicURL + "/auth/email/verify?token=" + token
	subject, body := signInMail(lang, link, s.emailLinkTTL)
	return s.mailer.Send(ctx, email, subject, body)
}

func signInMail(lang, link string, ttl time.Duration) (subject, body string) {
	mins := int(ttl / time.Minute)
	if lang == "ja" {
		return "1on1へのサインインリンク",
			"次のリンクを開いてサインインしてください（" + strconv.Itoa(mins) + "分間、1回だけ有効です）:\n\n" + link +
				"\n\n心当たりがない場合は、このメールを無視してください。\n"
	}
	return "Your sign-in link for 1on1",
		"Open this link to sign in (it works once, for " + strconv.Itoa(mins) + " minutes):\n\n" + link +
			"\n\nIf you did not ask for it, ignore this message.\n"
}

// emailVerifyForm shows a button that posts the token: opening the link
// changes nothing, so mail scanners that fetch links do not use it up.
func (s *Service) emailVerifyForm(w http.ResponseWriter, r *http.Request) {
	token := r.URL.Query().Get("token")
	if token == "" || len(token) > 256 {
		s.renderMessage(w, r, http.StatusBadRequest, msgBadRequest)
		return
	}
	lang := language(r)
	t, b := messages[lang]["verify_title"], messages[lang]["verify_button"]
	s.render(w, r, http.StatusOK, pageData{Lang: lang, Title: t.Title, Body: t.Body, Form: "verify", Button: b.Title, Token: token})
}

// emailVerify uses up a sign-in token and starts a session.
func (s *Service) emailVerify(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxEmailForm)
	if err := r.ParseForm(); err != nil {
		s.renderMessage(w, r, http.StatusBadRequest, msgBadRequest)
		return
	}
	token := r.PostForm.Get("token")
	if token == "" || len(token) > 256 {
		s.renderMessage(w, r, http.StatusGone, msgEmailExpired)
		return
	}
	t, err := s.store.ConsumeSignInToken(r.Context(), hashHex([]byte(token)), s.now())
	if err != nil {
		if errors.Is(err, errs.ErrNotFound) {
			s.log.InfoContext(r.Context(), "identity: sign-in link refused", "reason", "unknown, used or expired")
			s.renderMessage(w, r, http.StatusGone, msgEmailExpired)
			return
		}
		s.log.ErrorContext(r.Context(), "identity: sign-in link", "err", err)
		s.renderMessage(w, r, http.StatusInternalServerError, msgServerError)
		return
	}
	if err := s.startSession(w, r, t.Email, ViaEmail); err != nil {
		s.log.ErrorContext(r.Context(), "identity: e-mail session", "err", err)
		s.renderMessage(w, r, http.StatusInternalServerError, msgServerError)
		return
	}
	http.Redirect(w, r, SafeNext(t.Next), http.StatusSeeOther)
}

// rateLimiter allows n events per key per window, in memory: enough to
// stop one daemon from mail-bombing an address. Several daemons each
// allow n.
type rateLimiter struct {
	n      int
	window time.Duration
	mu     sync.Mutex
	seen   map[string][]time.Time
}

// maxTracked bounds the limiter's memory against requests for many
// different addresses.
const maxTracked = 10000

func newRateLimiter(n int, window time.Duration) *rateLimiter {
	return &rateLimiter{n: n, window: window, seen: map[string][]time.Time{}}
}

func (l *rateLimiter) allow(key string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.seen) >= maxTracked {
		for k, ts := range l.seen {
			if len(recent(ts, now, l.window)) == 0 {
				delete(l.seen, k)
			}
		}
		if len(l.seen) >= maxTracked {
			return false
		}
	}
	ts := recent(l.seen[key], now, l.window)
	if len(ts) >= l.n {
		l.seen[key] = ts
		return false
	}
	l.seen[key] = append(ts, now)
	return true
}

func recent(ts []time.Time, now time.Time, window time.Duration) []time.Time {
	i := 0
	for i < len(ts) && !now.Before(ts[i].Add(window)) {
		i++
	}
	return ts[i:]
}
