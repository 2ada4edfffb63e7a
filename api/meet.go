package api

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/oneonone/oneonone/calendar"
	"github.com/oneonone/oneonone/internal/errs"
)

// Meet is what the API needs from the rooms (package meet, adapted by the
// daemon): the pair's personal join links and the stored attendance.
type Meet interface {
	// Links returns the personal join links of a series' manager and
	// report; errs.ErrNotFound for an unknown series.
	Links(ctx context.Context, seriesID string) (manager, report string, err error)
	// Attendance returns the stays of a series that began in [from, to).
	Attendance(ctx context.Context, seriesID string, from, to time.Time) ([]Attendance, error)
}

// Attendance is one stay of one participant in a series' room.
type Attendance struct {
	Occurrence string // occurrence key; "" for a meeting outside every window
	Email      string
	Role       string
	Joined     time.Time
	Left       time.Time // zero while in the room
}

type linksJSON struct {
	Manager string `json:"manager"`
	Report  string `json:"report"`
}

type attendanceJSON struct {
	Occurrence string  `json:"occurrence"`
	Email      string  `json:"email"`
	Role       string  `json:"role"`
	Joined     string  `json:"joined"`
	Left       *string `json:"left"`
}

type attendanceList struct {
	Attendance []attendanceJSON `json:"attendance"`
}

// defaultAttendanceDays is how far back ?from= reaches when omitted.
const defaultAttendanceDays = 90

var errNoRooms = errors.New("rooms are not enabled on this daemon")

func (s *Server) seriesLinks(w http.ResponseWriter, r *http.Request) {
	if s.meet == nil {
		writeErrorCode(w, http.StatusServiceUnavailable, "unavailable", errNoRooms.Error(), "")
		return
	}
	id := r.PathValue("id")
	manager, report, err := s.meet.Links(r.Context(), id)
	if err != nil {
		s.writeError(w, r, public(err, "series %s not found", id))
		return
	}
	writeJSON(w, http.StatusOK, linksJSON{Manager: manager, Report: report})
}

func (s *Server) seriesAttendance(w http.ResponseWriter, r *http.Request) {
	if s.meet == nil {
		writeErrorCode(w, http.StatusServiceUnavailable, "unavailable", errNoRooms.Error(), "")
		return
	}
	id := r.PathValue("id")
	se, err := s.store.GetSeries(r.Context(), id)
	if err != nil {
		s.writeError(w, r, public(err, "series %s not found", id))
		return
	}
	loc, err := calendar.LoadLocation(se.Timezone)
	if err != nil {
		loc = time.UTC
	}
	// Attendance looks back: by default the last 90 days up to the end
	// of today in the series' zone.
	q := r.URL.Query()
	y, m, d := s.now().In(loc).Date()
	to := time.Date(y, m, d+1, 0, 0, 0, 0, loc)
	if v := q.Get("to"); v != "" {
		if to, err = parseInstant("to", v, loc); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	from := to.AddDate(0, 0, -defaultAttendanceDays)
	if v := q.Get("from"); v != "" {
		if from, err = parseInstant("from", v, loc); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	if !to.After(from) {
		s.writeError(w, r, errs.Invalidf("to", "to must be after from"))
		return
	}
	rows, err := s.meet.Attendance(r.Context(), id, from, to)
	if err != nil {
		s.writeError(w, r, public(err, "series %s not found", id))
		return
	}
	out := attendanceList{Attendance: make([]attendanceJSON, 0, len(rows))}
	for _, a := range rows {
		j := attendanceJSON{Occurrence: a.Occurrence, Email: a.Email, Role: a.Role, Joined: a.Joined.In(loc).Format(time.RFC3339)}
		if !a.Left.IsZero() {
			left := a.Left.In(loc).Format(time.RFC3339)
			j.Left = &left
		}
		out.Attendance = append(out.Attendance, j)
	}
	writeJSON(w, http.StatusOK, out)
}
