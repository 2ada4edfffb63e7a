package api

import (
	"fmt"
	"net/http"
	"time"

	"github.com/oneonone/oneonone/calendar"
	"github.com/oneonone/oneonone/internal/errs"
)

const (
	defaultOccurrenceWindow = 90 // days
	maxOccurrenceYears      = 2
	// overrideMargin widens the override query so that an occurrence
	// moved across the window's edge still finds its override.
	overrideMargin = 62 * 24 * time.Hour
)

type occurrenceJSON struct {
	Key           string `json:"key"`
	Start         string `json:"start"`
	End           string `json:"end"`
	OriginalStart string `json:"original_start"`
	Status        string `json:"status"`
}

type occurrenceList struct {
	Occurrences []occurrenceJSON `json:"occurrences"`
}

// parseInstant reads a query bound: a date (midnight in loc) or RFC 3339.
func parseInstant(field, v string, loc *time.Location) (time.Time, error) {
	if t, err := time.ParseInLocation(time.DateOnly, v, loc); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	return time.Time{}, errs.Invalidf(field, "%s %q is neither a date (2026-12-01) nor an RFC 3339 time (2026-12-01T10:00:00+09:00)", field, v)
}

// occurrenceWindow resolves ?from=&to= for a series in loc.
func occurrenceWindow(q map[string][]string, loc *time.Location, now time.Time) (from, to time.Time, err error) {
	get := func(k string) string {
		if v := q[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	if v := get("from"); v != "" {
		if from, err = parseInstant("from", v, loc); err != nil {
			return
		}
	} else {
		y, m, d := now.In(loc).Date()
		from = time.Date(y, m, d, 0, 0, 0, 0, loc)
	}
	if v := get("to"); v != "" {
		if to, err = parseInstant("to", v, loc); err != nil {
			return
		}
	} else {
		to = from.AddDate(0, 0, defaultOccurrenceWindow)
	}
	if !to.After(from) {
		err = errs.Invalidf("to", "to must be after from")
		return
	}
	if to.After(from.AddDate(maxOccurrenceYears, 0, 0)) {
		err = errs.Invalidf("to", "the range from..to may span at most %d years", maxOccurrenceYears)
		return
	}
	return from, to, nil
}

func (s *Server) listOccurrences(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	se, err := s.store.GetSeries(r.Context(), id)
	if err != nil {
		s.writeError(w, r, public(err, "series %s not found", id))
		return
	}
	loc, err := calendar.LoadLocation(se.Timezone)
	if err != nil {
		s.writeError(w, r, fmt.Errorf("stored series %s has timezone %q: %w", id, se.Timezone, err))
		return
	}
	now := s.now()
	from, to, err := occurrenceWindow(r.URL.Query(), loc, now)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	overrides, err := s.store.ListOverrides(r.Context(), id, from.Add(-overrideMargin), to.Add(overrideMargin))
	if err != nil {
		s.writeError(w, r, fmt.Errorf("list overrides of %s: %w", id, err))
		return
	}
	occs, err := se.Occurrences(from, to, overrides, now)
	if err != nil {
		s.writeError(w, r, fmt.Errorf("expand series %s: %w", id, err))
		return
	}
	out := occurrenceList{Occurrences: make([]occurrenceJSON, 0, len(occs))}
	for _, o := range occs {
		out.Occurrences = append(out.Occurrences, occurrenceJSON{
			Key:           o.Key,
			Start:         o.Start.In(loc).Format(time.RFC3339),
			End:           o.End.In(loc).Format(time.RFC3339),
			OriginalStart: o.OriginalStart.In(loc).Format(time.RFC3339),
			Status:        string(o.Status),
		})
	}
	writeJSON(w, http.StatusOK, out)
}
