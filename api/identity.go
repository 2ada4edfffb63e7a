package api

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/oneonone/oneonone/calendar"
)

// identityHooks are the daemon's identity service, as far as the API
// needs it: personal links for feeds, and their revocation.
type identityHooks struct {
	personalLink func(ctx context.Context, seriesID, email, role string) (string, error)
	revokeLinks  func(ctx context.Context, email string) error
}

var errNoLinks = errors.New("personal links are not enabled on this daemon")

// revokeLinks ends every personal link (and session) of a person, for a
// link that leaked or a person who left.
func (s *Server) revokeLinks(w http.ResponseWriter, r *http.Request) {
	if s.identity.revokeLinks == nil {
		writeErrorCode(w, http.StatusServiceUnavailable, "unavailable", errNoLinks.Error(), "")
		return
	}
	email := strings.ToLower(strings.TrimSpace(r.PathValue("email")))
	if err := s.identity.revokeLinks(r.Context(), email); err != nil {
		s.writeError(w, r, public(err, "no person with e-mail %s", email))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// feedJoinURL is the link a feed owner's event carries: their own
// personal link when the daemon hands them out (the feed is theirs
// alone), "" otherwise (the event then carries the room URL).
func (s *Server) feedJoinURL(ctx context.Context, se calendar.Series, owner string) (string, error) {
	if s.identity.personalLink == nil {
		return "", nil
	}
	role := "report"
	if strings.EqualFold(se.Manager.Email, owner) {
		role = "manager"
	}
	return s.identity.personalLink(ctx, se.ID, owner, role)
}
