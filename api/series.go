package api

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/oneonone/oneonone/calendar"
	"github.com/oneonone/oneonone/internal/errs"
)

// wallClock is how a series' start is written: local time in the series'
// zone, no offset (the offset changes with DST; the wall clock does not).
const wallClock = "2006-01-02T15:04:05"

const (
	defaultPageSize = 100
	maxPageSize     = 1000
)

type personRef struct {
	Email string `json:"email"`
	Name  string `json:"name"`
}

// seriesJSON is a series as the API shows it (INTERFACE.md).
type seriesJSON struct {
	ID       string    `json:"id"`
	Manager  personRef `json:"manager"`
	Report   personRef `json:"report"`
	Start    string    `json:"start"`
	Timezone string    `json:"timezone"`
	Cadence  string    `json:"cadence"`
	Duration string    `json:"duration"`
	Team     string    `json:"team"`
	Calendar string    `json:"calendar"`
	State    string    `json:"state"`
	RoomURL  string    `json:"room_url"`
	Version  int       `json:"version"`
	Created  string    `json:"created,omitempty"`
	Updated  string    `json:"updated,omitempty"`
}

func (s *Server) seriesJSON(se calendar.Series) seriesJSON {
	out := seriesJSON{
		ID:      se.ID,
		Manager: personRef{Email: se.Manager.Email, Name: se.Manager.Name},
		Report:  personRef{Email: se.Report.Email, Name: se.Report.Name},
		// The store hands Start back in the series' zone (calendar.Store),
		// so no zone lookup per series here.
		Start:    se.Start.Format(wallClock),
		Timezone: se.Timezone,
		Cadence:  se.Cadence,
		Duration: calendar.FormatDuration(se.Duration),
		Team:     se.Team,
		Calendar: se.Calendar,
		State:    string(se.State),
		RoomURL:  s.roomURL(se.ID),
		Version:  se.Version,
	}
	if !se.Created.IsZero() {
		out.Created = se.Created.UTC().Format(time.RFC3339)
	}
	if !se.Updated.IsZero() {
		out.Updated = se.Updated.UTC().Format(time.RFC3339)
	}
	return out
}

// seriesCreate is the body of POST /api/v1/series.
type seriesCreate struct {
	Manager  *personRef `json:"manager"`
	Report   *personRef `json:"report"`
	Start    string     `json:"start"`
	Timezone string     `json:"timezone"`
	Cadence  string     `json:"cadence"`
	Duration string     `json:"duration"`
	Team     string     `json:"team"`
	Calendar string     `json:"calendar"`
	State    string     `json:"state"`
}

// toSeries checks the request and builds a normalised series with a new id.
func (in seriesCreate) toSeries() (calendar.Series, error) {
	if in.Manager == nil {
		return calendar.Series{}, errs.Invalidf("manager.email", "manager is required")
	}
	if in.Report == nil {
		return calendar.Series{}, errs.Invalidf("report.email", "report is required")
	}
	loc, err := calendar.LoadLocation(in.Timezone)
	if err != nil {
		return calendar.Series{}, invalidAt("timezone", err)
	}
	start, err := calendar.ParseStart(in.Start, loc)
	if err != nil {
		return calendar.Series{}, invalidAt("start", err)
	}
	var d time.Duration
	if in.Duration != "" {
		if d, err = calendar.ParseDuration(in.Duration); err != nil {
			return calendar.Series{}, invalidAt("duration", err)
		}
	}
	state := calendar.StateActive
	if in.State != "" {
		if state, err = parseState(in.State); err != nil {
			return calendar.Series{}, err
		}
	}
	se := calendar.Series{
		ID:       calendar.NewSeriesID(),
		Manager:  calendar.Person{Email: in.Manager.Email, Name: in.Manager.Name},
		Report:   calendar.Person{Email: in.Report.Email, Name: in.Report.Name},
		Start:    start,
		Timezone: in.Timezone,
		Cadence:  in.Cadence,
		Duration: d,
		Team:     in.Team,
		Calendar: in.Calendar,
		State:    state,
	}
	if err := se.Normalize(); err != nil {
		return calendar.Series{}, err
	}
	return se, nil
}

// parseState reads a state asked for by a client. "detached" is output
// only: the daemon sets it when someone deletes the event in the
// calendar, and "active" undoes it.
func parseState(v string) (calendar.State, error) {
	switch calendar.State(v) {
	case calendar.StateActive, calendar.StatePaused:
		return calendar.State(v), nil
	case calendar.StateDetached:
		return "", errs.Invalidf("state", "%q is set by the daemon when the calendar event is deleted; send %q to recreate the event, or %q", v, calendar.StateActive, calendar.StatePaused)
	}
	return "", errs.Invalidf("state", "state must be %q or %q, not %q", calendar.StateActive, calendar.StatePaused, v)
}

func (s *Server) createSeries(w http.ResponseWriter, r *http.Request) {
	var in seriesCreate
	if err := decodeJSON(http.MaxBytesReader(w, r.Body, s.maxBody), &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	se, err := in.toSeries()
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.store.CreateSeries(r.Context(), se); err != nil {
		s.writeError(w, r, public(err, "manager %s and report %s already have a series", se.Manager.Email, se.Report.Email))
		return
	}
	// Read back what was stored (version, timestamps).
	stored, err := s.store.GetSeries(r.Context(), se.ID)
	if err != nil {
		s.writeError(w, r, fmt.Errorf("read back series %s: %w", se.ID, err))
		return
	}
	s.seriesChanged(stored.Calendar)
	w.Header().Set("Location", "/api/v1/series/"+se.ID)
	writeJSON(w, http.StatusCreated, s.seriesJSON(stored))
}

func (s *Server) getSeries(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	se, err := s.store.GetSeries(r.Context(), id)
	if err != nil {
		s.writeError(w, r, public(err, "series %s not found", id))
		return
	}
	writeJSON(w, http.StatusOK, s.seriesJSON(se))
}

func (s *Server) deleteSeries(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	// Read first only to know whose calendar to nudge; a series gone
	// meanwhile is the delete's 404 below.
	old, getErr := s.store.GetSeries(r.Context(), id)
	if err := s.store.DeleteSeries(r.Context(), id); err != nil {
		s.writeError(w, r, public(err, "series %s not found", id))
		return
	}
	if getErr == nil {
		s.seriesChanged(old.Calendar)
	}
	w.WriteHeader(http.StatusNoContent)
}

type seriesList struct {
	Series     []seriesJSON `json:"series"`
	NextCursor string       `json:"next_cursor,omitempty"`
}

func (s *Server) listSeries(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit := defaultPageSize
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxPageSize {
			s.writeError(w, r, errs.Invalidf("limit", "limit must be a whole number from 1 to %d", maxPageSize))
			return
		}
		limit = n
	}
	after := ""
	if v := q.Get("cursor"); v != "" {
		b, err := base64.RawURLEncoding.DecodeString(v)
		if err != nil || len(b) == 0 {
			s.writeError(w, r, errs.Invalidf("cursor", "cursor is not one this server handed out"))
			return
		}
		after = string(b)
	}
	// One extra row says whether another page exists, so the last page
	// carries no cursor.
	list, err := s.store.ListSeries(r.Context(), calendar.ListOptions{Team: q.Get("team"), After: after, Limit: limit + 1})
	if err != nil {
		s.writeError(w, r, fmt.Errorf("list series: %w", err))
		return
	}
	out := seriesList{Series: make([]seriesJSON, 0, min(len(list), limit))}
	if len(list) > limit {
		list = list[:limit]
		out.NextCursor = base64.RawURLEncoding.EncodeToString([]byte(list[len(list)-1].ID))
	}
	for _, se := range list {
		out.Series = append(out.Series, s.seriesJSON(se))
	}
	writeJSON(w, http.StatusOK, out)
}

// seriesPatch is a JSON merge patch of the fields an admin may change.
// The pair itself (the e-mails) is the identity of a series and cannot be
// patched: create a new series instead.
type seriesPatch struct {
	Start    optString   `json:"start"`
	Timezone optString   `json:"timezone"`
	Cadence  optString   `json:"cadence"`
	Duration optString   `json:"duration"`
	Team     optString   `json:"team"`
	Calendar optString   `json:"calendar"`
	State    optString   `json:"state"`
	Manager  *namesPatch `json:"manager"`
	Report   *namesPatch `json:"report"`
	Version  *int        `json:"version"`
}

type namesPatch struct {
	Name optString `json:"name"`
}

// apply merges p into se. Null clears optional fields and is refused for
// required ones.
func (p seriesPatch) apply(se *calendar.Series) error {
	required := func(field string, o optString) error {
		if o.Null {
			return errs.Invalidf(field, "%s cannot be null", field)
		}
		return nil
	}
	for _, f := range []struct {
		name string
		o    optString
	}{{"start", p.Start}, {"timezone", p.Timezone}, {"cadence", p.Cadence}, {"duration", p.Duration}, {"state", p.State}} {
		if err := required(f.name, f.o); err != nil {
			return err
		}
	}
	oldLoc, err := calendar.LoadLocation(se.Timezone)
	if err != nil {
		return fmt.Errorf("stored series %s has timezone %q: %w", se.ID, se.Timezone, err)
	}
	wall := se.Start.In(oldLoc).Format(wallClock)
	loc := oldLoc
	if p.Timezone.Set {
		if loc, err = calendar.LoadLocation(p.Timezone.Value); err != nil {
			return invalidAt("timezone", err)
		}
		se.Timezone = p.Timezone.Value
	}
	if p.Start.Set {
		wall = p.Start.Value
	}
	if p.Start.Set || p.Timezone.Set {
		// A new zone keeps the wall-clock time: 10:00 stays 10:00.
		if se.Start, err = calendar.ParseStart(wall, loc); err != nil {
			return invalidAt("start", err)
		}
	}
	if p.Cadence.Set {
		se.Cadence = p.Cadence.Value
	}
	if p.Duration.Set {
		if se.Duration, err = calendar.ParseDuration(p.Duration.Value); err != nil {
			return invalidAt("duration", err)
		}
	}
	if p.State.Set {
		if se.State, err = parseState(p.State.Value); err != nil {
			return err
		}
	}
	if p.Team.Set {
		se.Team = p.Team.Value
	}
	if p.Calendar.Set {
		se.Calendar = p.Calendar.Value
	}
	if p.Manager != nil && p.Manager.Name.Set {
		se.Manager.Name = p.Manager.Name.Value
	}
	if p.Report != nil && p.Report.Name.Set {
		se.Report.Name = p.Report.Name.Value
	}
	se.Version = 0 // no optimistic check unless the client asks for one
	if p.Version != nil {
		if *p.Version < 1 {
			return errs.Invalidf("version", "version must be a positive number")
		}
		se.Version = *p.Version
	}
	return se.Normalize()
}

func (s *Server) patchSeries(w http.ResponseWriter, r *http.Request) {
	var p seriesPatch
	if err := decodeJSON(http.MaxBytesReader(w, r.Body, s.maxBody), &p); err != nil {
		s.writeError(w, r, err)
		return
	}
	id := r.PathValue("id")
	se, err := s.store.GetSeries(r.Context(), id)
	if err != nil {
		s.writeError(w, r, public(err, "series %s not found", id))
		return
	}
	oldCalendar := se.Calendar
	if err := p.apply(&se); err != nil {
		s.writeError(w, r, err)
		return
	}
	updated, err := s.store.UpdateSeries(r.Context(), se)
	if err != nil {
		if errors.Is(err, errs.ErrConflict) {
			err = public(err, "version %d of series %s is not the stored one (it changed since it was read); read it again and retry", se.Version, id)
		} else {
			err = public(err, "series %s not found", id)
		}
		s.writeError(w, r, err)
		return
	}
	s.seriesChanged(oldCalendar, updated.Calendar)
	writeJSON(w, http.StatusOK, s.seriesJSON(updated))
}
