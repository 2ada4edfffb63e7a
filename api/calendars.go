package api

import (
	"net/http"

	"github.com/oneonone/oneonone/internal/errs"
)

// authorizeGoogle starts the consent flow of a Google calendar that uses
// an OAuth client: the admin's browser goes to Google and comes back to
// the daemon's callback, which stores the refresh token.
func (s *Server) authorizeGoogle(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if s.authorize == nil {
		s.writeError(w, r, public(errs.ErrNotFound, "calendar %s has no Google consent flow", id))
		return
	}
	if err := s.authorize(w, r, id); err != nil {
		s.writeError(w, r, public(err, "calendar %s has no Google consent flow (it is not a Google calendar with an OAuth client)", id))
	}
}
