package api

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/oneonone/oneonone/calendar/icsfeed"
	"github.com/oneonone/oneonone/internal/errs"
)

type personJSON struct {
	Email    string `json:"email"`
	Name     string `json:"name"`
	Timezone string `json:"timezone"`
	FeedURL  string `json:"feed_url"`
}

type peopleList struct {
	People []personJSON `json:"people"`
}

func (s *Server) listPeople(w http.ResponseWriter, r *http.Request) {
	// E-mails are stored lower-cased (calendar.Series.Normalize).
	email := strings.ToLower(strings.TrimSpace(r.URL.Query().Get("email")))
	people, err := s.store.ListPeople(r.Context(), email)
	if err != nil {
		s.writeError(w, r, fmt.Errorf("list people: %w", err))
		return
	}
	out := peopleList{People: make([]personJSON, 0, len(people))}
	for _, p := range people {
		token, err := s.store.FeedToken(r.Context(), p.Email)
		if err != nil {
			s.writeError(w, r, fmt.Errorf("feed token: %w", err))
			return
		}
		out.People = append(out.People, personJSON{Email: p.Email, Name: p.Name, Timezone: p.Timezone, FeedURL: s.feedURL(token)})
	}
	writeJSON(w, http.StatusOK, out)
}

// rotateFeed revokes a person's feed URL and hands out a new one, for a
// URL that leaked.
func (s *Server) rotateFeed(w http.ResponseWriter, r *http.Request) {
	email := r.PathValue("email")
	p, err := s.store.GetPerson(r.Context(), email)
	if err != nil {
		s.writeError(w, r, public(err, "no person with e-mail %s", email))
		return
	}
	token, err := s.store.RotateFeedToken(r.Context(), p.Email)
	if err != nil {
		s.writeError(w, r, public(err, "no person with e-mail %s", p.Email))
		return
	}
	writeJSON(w, http.StatusOK, personJSON{Email: p.Email, Name: p.Name, Timezone: p.Timezone, FeedURL: s.feedURL(token)})
}

// serveFeed serves a person's ICS feed. The token in the path is the only
// credential, so every failure to resolve it is the same 404.
func (s *Server) serveFeed(w http.ResponseWriter, r *http.Request) {
	token, ok := strings.CutSuffix(r.PathValue("feed"), ".ics")
	if !ok || token == "" {
		http.NotFound(w, r)
		return
	}
	p, err := s.store.PersonByFeedToken(r.Context(), token)
	if errors.Is(err, errs.ErrNotFound) {
		http.NotFound(w, r)
		return
	}
	if err != nil {
		s.writeError(w, r, fmt.Errorf("resolve feed token: %w", err))
		return
	}
	series, err := s.store.SeriesOf(r.Context(), p.Email)
	if err != nil {
		s.writeError(w, r, fmt.Errorf("series of feed owner: %w", err))
		return
	}
	now := s.now()
	entries := make([]icsfeed.Entry, 0, len(series))
	for _, se := range series {
		// Every override: the feed is one recurring event per series, and
		// its exceptions may lie anywhere in its history.
		ovs, err := s.store.ListOverrides(r.Context(), se.ID, se.Start.Add(-24*time.Hour), now.AddDate(10, 0, 0))
		if err != nil {
			s.writeError(w, r, fmt.Errorf("overrides of %s: %w", se.ID, err))
			return
		}
		join, err := s.feedJoinURL(r.Context(), se, p.Email)
		if err != nil {
			s.writeError(w, r, fmt.Errorf("personal link for %s: %w", se.ID, err))
			return
		}
		entries = append(entries, icsfeed.Entry{Series: se, Overrides: ovs, RoomURL: s.roomURL(se.ID), JoinURL: join})
	}
	var buf bytes.Buffer
	if err := icsfeed.Write(&buf, p, entries, now); err != nil {
		s.writeError(w, r, fmt.Errorf("write feed: %w", err))
		return
	}
	w.Header().Set("Content-Type", "text/calendar; charset=utf-8")
	w.Header().Set("Cache-Control", "private, no-cache")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Referrer-Policy", "no-referrer")
	w.Write(buf.Bytes())
}
