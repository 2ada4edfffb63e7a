package api

import (
	"errors"
	"fmt"
	"net/http"
	"sort"

	"github.com/oneonone/oneonone/calendar"
	"github.com/oneonone/oneonone/internal/errs"
)

// defaultImportTimezone applies to rows without a timezone column when the
// request names none (?timezone=Asia/Tokyo).
const defaultImportTimezone = "UTC"

type importCreated struct {
	Line int    `json:"line"`
	ID   string `json:"id"`
}

type importSkipped struct {
	Line   int    `json:"line"`
	Reason string `json:"reason"`
}

type importError struct {
	Line    int    `json:"line"`
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
}

type importReport struct {
	Created []importCreated `json:"created"`
	Skipped []importSkipped `json:"skipped"`
	Errors  []importError   `json:"errors"`
}

// importSeries creates the good rows of an import CSV, one store call per
// row, so that a bad row never blocks the others and a re-import of the
// same file only reports what already exists.
func (s *Server) importSeries(w http.ResponseWriter, r *http.Request) {
	tz := r.URL.Query().Get("timezone")
	if tz == "" {
		tz = defaultImportTimezone
	}
	if _, err := calendar.LoadLocation(tz); err != nil {
		s.writeError(w, r, invalidAt("timezone", err))
		return
	}
	body := http.MaxBytesReader(w, r.Body, ImportMaxBodyBytes)
	rows, rowErrs, err := calendar.ParseImportCSV(body, calendar.ImportDefaults{Timezone: tz, Now: s.now()})
	if err != nil {
		var tooBig *http.MaxBytesError
		if !errors.As(err, &tooBig) && !isInvalid(err) {
			// The parser fails whole only on a bad file, never on our side.
			err = &errs.Invalid{Message: err.Error()}
		}
		s.writeError(w, r, err)
		return
	}
	rep := importReport{Created: []importCreated{}, Skipped: []importSkipped{}, Errors: []importError{}}
	for _, re := range rowErrs {
		rep.Errors = append(rep.Errors, importError{Line: re.Line, Field: re.Field, Message: re.Message})
	}
	for _, row := range rows {
		se := row.Series
		if se.ID == "" {
			se.ID = calendar.NewSeriesID()
		}
		err := s.store.CreateSeries(r.Context(), se)
		switch {
		case err == nil:
			rep.Created = append(rep.Created, importCreated{Line: row.Line, ID: se.ID})
			s.seriesChanged(se.Calendar)
		case errors.Is(err, errs.ErrConflict):
			rep.Skipped = append(rep.Skipped, importSkipped{Line: row.Line, Reason: "already exists"})
		case isInvalid(err):
			inv, _ := errs.AsInvalid(err)
			rep.Errors = append(rep.Errors, importError{Line: row.Line, Field: inv.Field, Message: inv.Message})
		default:
			s.writeError(w, r, fmt.Errorf("import line %d: %w", row.Line, err))
			return
		}
	}
	sort.SliceStable(rep.Errors, func(i, j int) bool { return rep.Errors[i].Line < rep.Errors[j].Line })
	writeJSON(w, http.StatusOK, rep)
}
