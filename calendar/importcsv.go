package calendar

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/oneonone/oneonone/internal/errs"
)

// MaxImportRows is the most data rows one CSV import may hold.
const MaxImportRows = 100000

// ImportColumns are the columns an import file may have, in the order of
// INTERFACE.md. The first two are required; any order is accepted.
var importColumns = []string{"manager_email", "report_email", "manager_name", "report_name",
	"team", "start", "timezone", "cadence", "duration", "calendar"}

// ImportColumns returns the columns an import file may have; manager_email
// and report_email are required.
func ImportColumns() []string { return append([]string(nil), importColumns...) }

// ImportRow is one good row of an import file: a normalised series (its ID
// left empty for the caller to assign) and the file line it came from.
type ImportRow struct {
	Line   int
	Series Series
}

// RowError is one bad row of an import file. Field names the column at
// fault ("timezone", "report_email"), "row" for a line that is not valid
// CSV or has the wrong number of cells, and "header" or "file" for the
// errors that stop the whole import.
type RowError struct {
	Line    int
	Field   string
	Message string
}

func (e *RowError) Error() string {
	return fmt.Sprintf("line %d: %s: %s", e.Line, e.Field, e.Message)
}

// Unwrap lets errs.AsInvalid find the field, so a bad header maps to 400.
func (e *RowError) Unwrap() error { return &errs.Invalid{Field: e.Field, Message: e.Message} }

// ImportDefaults fills the cells a row leaves empty.
type ImportDefaults struct {
	// Timezone for rows without one; "" means UTC.
	Timezone string
	// Now anchors the default start: the first Monday after Now's date (in
	// the row's zone) at 10:00. Zero means time.Now().
	Now time.Time
}

// ParseImportCSV reads an import file: a header line naming the columns
// (manager_email and report_email required, the others of ImportColumns
// optional, in any order), then one series per line. Every row is
// normalised; a bad row becomes a RowError carrying its file line (the
// header is line 1, and a quoted cell may span lines), and the good rows
// are still returned. A manager/report pair that appears twice is an error
// on the later line. The returned error is only for an unreadable file, a
// bad header, bad defaults, or more than MaxImportRows rows.
func ParseImportCSV(r io.Reader, defaults ImportDefaults) ([]ImportRow, []RowError, error) {
	now := defaults.Now
	if now.IsZero() {
		now = time.Now()
	}
	defaultZone := strings.TrimSpace(defaults.Timezone)
	if defaultZone == "" {
		defaultZone = "UTC"
	}
	if _, err := LoadLocation(defaultZone); err != nil {
		return nil, nil, fmt.Errorf("import defaults: %w", err)
	}

	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1 // rows are checked against the header below
	cr.ReuseRecord = true

	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, nil, &RowError{Line: 1, Field: "header", Message: "the file is empty; the first line must name the columns, e.g. manager_email,report_email"}
	}
	if err != nil {
		return nil, nil, csvFatal(err, "header")
	}
	headerLine, _ := cr.FieldPos(0)
	col, err := parseImportHeader(header, headerLine)
	if err != nil {
		return nil, nil, err
	}

	var (
		rows    []ImportRow
		bad     []RowError
		seen    = map[string]int{} // manager\x00report → line
		dataRow = 0
	)
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			bad = append(bad, RowError{Line: max(pe.StartLine, 2), Field: "row", Message: pe.Err.Error()})
			if len(bad) > MaxImportRows {
				return nil, nil, &RowError{Line: pe.Line, Field: "file", Message: "too many unreadable rows"}
			}
			continue
		}
		if err != nil {
			return nil, nil, fmt.Errorf("read import file: %w", err)
		}
		line, _ := cr.FieldPos(0)
		line = max(line, 2)
		dataRow++
		if dataRow > MaxImportRows {
			return nil, nil, &RowError{Line: line, Field: "file", Message: fmt.Sprintf("more than %d rows; split the file", MaxImportRows)}
		}
		if blankRecord(rec) {
			continue
		}
		if len(rec) != len(header) {
			bad = append(bad, RowError{Line: line, Field: "row", Message: fmt.Sprintf("has %d cells, the header has %d", len(rec), len(header))})
			continue
		}
		cell := func(name string) string {
			if i, ok := col[name]; ok {
				return strings.TrimSpace(rec[i])
			}
			return ""
		}
		s, rerr := importSeries(cell, defaultZone, now)
		if rerr == nil {
			key := s.Manager.Email + "\x00" + s.Report.Email
			if first, dup := seen[key]; dup {
				rerr = errs.Invalidf("report.email", "%s and %s are already paired on line %d", s.Manager.Email, s.Report.Email, first)
			} else {
				seen[key] = line
			}
		}
		if rerr != nil {
			inv, ok := errs.AsInvalid(rerr)
			if !ok {
				inv = &errs.Invalid{Field: "row", Message: rerr.Error()}
			}
			bad = append(bad, RowError{Line: line, Field: csvField(inv.Field), Message: inv.Message})
			continue
		}
		rows = append(rows, ImportRow{Line: line, Series: s})
	}
	return rows, bad, nil
}

func parseImportHeader(header []string, line int) (map[string]int, error) {
	known := make(map[string]bool, len(importColumns))
	for _, c := range importColumns {
		known[c] = true
	}
	col := make(map[string]int, len(header))
	for i, h := range header {
		name := strings.ToLower(strings.TrimSpace(h))
		if i == 0 {
			name = strings.TrimPrefix(name, "\ufeff") // a BOM from spreadsheet exports
		}
		switch {
		case name == "":
			return nil, &RowError{Line: line, Field: "header", Message: fmt.Sprintf("column %d has no name", i+1)}
		case !known[name]:
			return nil, &RowError{Line: line, Field: "header", Message: fmt.Sprintf("unknown column %q; known columns: %s", h, strings.Join(importColumns, ","))}
		}
		if _, dup := col[name]; dup {
			return nil, &RowError{Line: line, Field: "header", Message: fmt.Sprintf("column %q appears twice", name)}
		}
		col[name] = i
	}
	for _, req := range importColumns[:2] {
		if _, ok := col[req]; !ok {
			return nil, &RowError{Line: line, Field: "header", Message: fmt.Sprintf("column %q is required", req)}
		}
	}
	return col, nil
}

// importSeries builds and normalises the series of one row.
func importSeries(cell func(string) string, defaultZone string, now time.Time) (Series, error) {
	s := Series{
		Manager:  Person{Email: cell("manager_email"), Name: cell("manager_name")},
		Report:   Person{Email: cell("report_email"), Name: cell("report_name")},
		Team:     cell("team"),
		Timezone: cell("timezone"),
		Cadence:  cell("cadence"),
		Calendar: cell("calendar"),
	}
	if s.Timezone == "" {
		s.Timezone = defaultZone
	}
	loc, err := LoadLocation(s.Timezone)
	if err != nil {
		return s, err
	}
	if v := cell("start"); v != "" {
		if s.Start, err = ParseStart(v, loc); err != nil {
			return s, err
		}
	} else {
		s.Start = nextMondayAtTen(now, loc)
	}
	if v := cell("duration"); v != "" {
		if s.Duration, err = ParseDuration(v); err != nil {
			return s, err
		}
	}
	if err := s.Normalize(); err != nil {
		return s, err
	}
	return s, nil
}

// nextMondayAtTen is the first Monday after now's date in loc, at 10:00.
func nextMondayAtTen(now time.Time, loc *time.Location) time.Time {
	local := now.In(loc)
	days := (int(time.Monday) - int(local.Weekday()) + 7) % 7
	if days == 0 {
		days = 7
	}
	y, m, d := local.Date()
	return resolveWall(time.Date(y, m, d+days, 10, 0, 0, 0, time.UTC), loc)
}

// csvField maps a series field to the CSV column a user would fix.
func csvField(field string) string {
	switch field {
	case "manager.email", "report.email", "manager.name", "report.name":
		return strings.Replace(field, ".", "_", 1)
	}
	return field
}

func blankRecord(rec []string) bool {
	for _, c := range rec {
		if strings.TrimSpace(c) != "" {
			return false
		}
	}
	return true
}

func csvFatal(err error, field string) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return &RowError{Line: pe.StartLine, Field: field, Message: pe.Err.Error()}
	}
	return fmt.Errorf("read import file: %w", err)
}
