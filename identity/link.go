package identity

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/oneonone/oneonone/internal/errs"
	"github.com/oneonone/oneonone/meet/joinlink"
)

// LinkParam is the query parameter that carries a personal link token.
const LinkParam = "t"

// linkBucket returns how far the expiry of links handed out at nearby
// times is rounded up: links handed out within one bucket are identical,
// so a feed polled every few minutes does not rewrite its events each time.
func (s *Service) linkBucket() time.Duration {
	if s.linkTTL >= 14*24*time.Hour {
		return 7 * 24 * time.Hour
	}
	return time.Hour
}

// PersonalLink returns email's personal join link to the room of seriesID
// as role (joinlink.RoleManager or RoleReport): PublicURL/r/{series}?t=…,
// valid for at least the link TTL and until RevokeLinks. Hand it only to
// where that person alone sees it (their feed, their mail, the admin API).
// A person who is not that series' role is errs.Invalid; an unknown series
// errs.ErrNotFound.
func (s *Service) PersonalLink(ctx context.Context, seriesID, email, role string) (string, error) {
	email = normalizeEmail(email)
	ser, err := s.store.GetSeries(ctx, seriesID)
	if err != nil {
		return "", fmt.Errorf("identity: personal link: %w", err)
	}
	switch {
	case role == joinlink.RoleManager && normalizeEmail(ser.Manager.Email) == email,
		role == joinlink.RoleReport && normalizeEmail(ser.Report.Email) == email:
	default:
		return "", errs.Invalidf("email", "is not the %s of series %s", role, seriesID)
	}
	gen, err := s.store.LinkGeneration(ctx, email)
	if err != nil {
		return "", fmt.Errorf("identity: personal link: %w", err)
	}
	b := s.linkBucket()
	token := s.links.Sign(joinlink.Claims{
		Series:     seriesID,
		Email:      email,
		Role:       role,
		Expires:    s.now().Truncate(b).Add(b + s.linkTTL),
		Generation: gen,
	})
	return s.publicURL + "/r/" + url.PathEscape(seriesID) + "?" + LinkParam + "=" + token, nil
}

// ConsumeLink handles a request that carries a personal link token (?t=).
// It returns false, having written nothing, when there is none. Otherwise it
// returns true having answered: for a valid link (signature, expiry,
// current generation, still in the series) it starts a session for the
// link's person and redirects (303) to the same URL without the token; for
// a bad one it writes an error page — 410 for an expired or revoked link
// ("ask for a new one"), 403 for a malformed or forged one — and starts no
// session. The token is never logged.
func (s *Service) ConsumeLink(w http.ResponseWriter, r *http.Request) bool {
	q := r.URL.Query()
	if !q.Has(LinkParam) {
		return false
	}
	setPageHeaders(w.Header())
	c, err := s.links.VerifyCurrent(r.Context(), q.Get(LinkParam), s.now(), s.store)
	if err != nil {
		var reason *joinlink.Error
		switch {
		case errors.Is(err, joinlink.ErrExpired), errors.Is(err, joinlink.ErrRevoked):
			s.log.InfoContext(r.Context(), "identity: personal link refused", "reason", reasonOf(err))
			s.renderMessage(w, r, http.StatusGone, msgLinkExpired)
		case errors.As(err, &reason):
			s.log.InfoContext(r.Context(), "identity: personal link refused", "reason", reasonOf(err))
			s.renderMessage(w, r, http.StatusForbidden, msgLinkInvalid)
		default:
			s.log.ErrorContext(r.Context(), "identity: check personal link", "err", err)
			s.renderMessage(w, r, http.StatusInternalServerError, msgServerError)
		}
		return true
	}
	if err := s.startSession(w, r, c.Email, ViaLink); err != nil {
		s.log.ErrorContext(r.Context(), "identity: personal link session", "err", err)
		s.renderMessage(w, r, http.StatusInternalServerError, msgServerError)
		return true
	}
	q.Del(LinkParam)
	target := r.URL.EscapedPath()
	if enc := q.Encode(); enc != "" {
		target += "?" + enc
	}
	http.Redirect(w, r, SafeNext(target), http.StatusSeeOther)
	return true
}

// reasonOf names a joinlink refusal for logs, without the token.
func reasonOf(err error) string {
	for _, e := range []error{joinlink.ErrExpired, joinlink.ErrRevoked, joinlink.ErrBadSignature, joinlink.ErrMalformed} {
		if errors.Is(err, e) {
			return strings.TrimPrefix(e.Error(), "joinlink: ")
		}
	}
	return "other"
}

// SafeNext returns next when it is a same-origin path ("/r/abc?x=1") and
// "/" otherwise, so that a sign-in can never be turned into a redirect to
// another site ("//evil.example", "/\evil.example", "https://…").
func SafeNext(next string) string {
	if next == "" || len(next) > 2048 || next[0] != '/' {
		return "/"
	}
	if len(next) > 1 && (next[1] == '/' || next[1] == '\\') {
		return "/"
	}
	for i := 0; i < len(next); i++ {
		// Control characters (a browser drops tab/CR/LF, turning "/\t/x"
		// into "//x") and backslashes (read as "/" by browsers).
		if c := next[i]; c < 0x20 || c == 0x7f || c == '\\' {
			return "/"
		}
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
		return "/"
	}
	return next
}
