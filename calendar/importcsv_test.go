package calendar

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/oneonone/oneonone/internal/errs"
)

// A Wednesday; the default start is Monday 2026-12-07 10:00.
var importNow = time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)

func TestParseImportCSV(t *testing.T) {
	f, err := os.Open(filepath.Join("testdata", "import.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, bad, err := ParseImportCSV(f, ImportDefaults{Timezone: "Europe/Berlin", Now: importNow})
	if err != nil {
		t.Fatal(err)
	}

	type good struct {
		line                        int
		manager, report, name, team string
		start, cadence, duration    string
		calendar                    string
	}
	var gotRows []good
	for _, r := range rows {
		s := r.Series
		gotRows = append(gotRows, good{r.Line, s.Manager.Email, s.Report.Email, s.Report.Name, s.Team,
			s.Start.Format(time.RFC3339) + " " + s.Timezone, s.Cadence, FormatDuration(s.Duration), s.Calendar})
	}
	wantRows := []good{
		{2, "aiko@example.com", "ren@example.com", "Ren", "platform", "2026-12-01T10:00:00+09:00 Asia/Tokyo", "weekly", "30m", "team-caldav"},
		{3, "aiko@example.com", "mio@example.com", "Mio", "platform", "2026-12-07T10:00:00+01:00 Europe/Berlin", "biweekly", "45m", ""},
		{6, "kenji@example.com", "sora@example.com", "Sora Yamada", "", "2026-12-08T09:30:00-05:00 America/New_York", "monthly", "1h", ""},
		{8, "kenji@example.com", "yui@example.com", "", "data, science", "2026-12-03T16:00:00+01:00 Europe/Berlin", "FREQ=WEEKLY;INTERVAL=3", "30m", ""},
	}
	if !slices.Equal(gotRows, wantRows) {
		t.Errorf("rows\n got  %+v\n want %+v", gotRows, wantRows)
	}

	var gotBad []string
	for _, e := range bad {
		gotBad = append(gotBad, e.Error())
	}
	wantBad := []string{
		// The quoted name spans lines 4–5: the row is on line 4, and the
		// lines after it keep their file numbers.
		`line 4: report_name: contains a control character`,
		`line 7: timezone: timezone "Asia/Tokio" is not an IANA zone`,
		`line 9: report_email: kenji@example.com and yui@example.com are already paired on line 8`,
		`line 10: report_email: "not-an-address" is not a bare e-mail address (like aiko@example.com)`,
		`line 11: start: 2027-03-14T02:30 does not exist in America/New_York (the clocks skip it for daylight saving time)`,
		`line 12: duration: "forever" is not a length like 30m or 1h`,
		`line 13: cadence: "FREQ=HOURLY" is not weekly, biweekly, monthly or a usable RRULE: FREQ=HOURLY is more often than daily`,
		`line 14: row: has 3 cells, the header has 9`,
		`line 16: manager_email: is required`,
		`line 17: team: is 65 characters long; at most 64`,
	}
	if !slices.Equal(gotBad, wantBad) {
		t.Errorf("row errors\n got  %q\n want %q", gotBad, wantBad)
	}
}

func TestParseImportCSVHeader(t *testing.T) {
	tests := []struct {
		name, file, mention string
	}{
		{"empty", "", "empty"},
		{"unknown column", "manager_email,report_email,room\n", `unknown column "room"`},
		{"missing report", "manager_email,team\n", `"report_email" is required`},
		{"twice", "manager_email,report_email,Team,team\n", `"team" appears twice`},
		{"unnamed", "manager_email,,report_email\n", "column 2 has no name"},
		{"bad quote", "manager_email,\"report_email\n", "extraneous or missing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows, bad, err := ParseImportCSV(strings.NewReader(tt.file), ImportDefaults{Now: importNow})
			var re *RowError
			if !errors.As(err, &re) || re.Line != 1 || !strings.Contains(err.Error(), tt.mention) {
				t.Fatalf("ParseImportCSV = %v, %v, %v; want a line 1 error mentioning %q", rows, bad, err, tt.mention)
			}
			if inv, ok := errs.AsInvalid(err); !ok || inv.Field != "header" {
				t.Errorf("header error %v does not unwrap to *errs.Invalid on header", err)
			}
		})
	}
}

func TestParseImportCSVAnyOrderAndDefaults(t *testing.T) {
	// A BOM, columns in another order, CRLF, and no timezone column: UTC.
	in := "\ufeffReport_Email , manager_email\r\nren@example.com,aiko@example.com\r\n"
	rows, bad, err := ParseImportCSV(strings.NewReader(in), ImportDefaults{Now: importNow})
	if err != nil || len(bad) != 0 || len(rows) != 1 {
		t.Fatalf("ParseImportCSV = %v, %v, %v", rows, bad, err)
	}
	s := rows[0].Series
	if s.Manager.Email != "aiko@example.com" || s.Report.Email != "ren@example.com" || s.Timezone != "UTC" ||
		s.Start.Format(time.RFC3339) != "2026-12-07T10:00:00Z" || s.Cadence != CadenceWeekly || s.Duration != DefaultDuration {
		t.Errorf("series = %+v", s)
	}

	// On a Monday the default is the Monday after, in the row's zone: at
	// 2026-12-06T20:00Z it is already Monday 7 Dec in Tokyo.
	rows, _, _ = ParseImportCSV(strings.NewReader("manager_email,report_email,timezone\na@example.com,b@example.com,Asia/Tokyo\n"),
		ImportDefaults{Now: time.Date(2026, 12, 6, 20, 0, 0, 0, time.UTC)})
	if len(rows) != 1 || rows[0].Series.Start.Format(time.RFC3339) != "2026-12-14T10:00:00+09:00" {
		t.Errorf("default start on a Monday = %v", rows)
	}

	if _, _, err := ParseImportCSV(strings.NewReader(in), ImportDefaults{Timezone: "Mars/Olympus"}); err == nil {
		t.Error("a bad default timezone was accepted")
	}
}

func TestParseImportCSVUnreadable(t *testing.T) {
	r := iotest.TimeoutReader(strings.NewReader("manager_email,report_email\n" + strings.Repeat("a@example.com,b@example.com\n", 1000)))
	_, _, err := ParseImportCSV(r, ImportDefaults{Now: importNow})
	if !errors.Is(err, iotest.ErrTimeout) {
		t.Errorf("err = %v, want the reader's error", err)
	}
}

func TestParseImportCSVRowLimit(t *testing.T) {
	var b strings.Builder
	b.WriteString("manager_email,report_email\n")
	for range MaxImportRows + 1 {
		b.WriteString(",\n") // blank rows are cheap and still count
	}
	_, _, err := ParseImportCSV(strings.NewReader(b.String()), ImportDefaults{Now: importNow})
	var re *RowError
	if !errors.As(err, &re) || re.Field != "file" || re.Line != MaxImportRows+2 {
		t.Errorf("err = %v, want a file error on line %d", err, MaxImportRows+2)
	}
}

func FuzzParseImportCSV(f *testing.F) {
	seed, err := os.ReadFile(filepath.Join("testdata", "import.csv"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(string(seed))
	f.Add("manager_email,report_email\na@example.com,b@example.com\n")
	f.Add("manager_email,report_email,start,timezone\n\"a@example.com\",b@example.com,2026-03-08T02:30,America/New_York\n")
	f.Add("manager_email,report_email\n\"unterminated,\nx\n")
	f.Add("report_email,manager_email,cadence\nb@x.io,a@x.io,\"FREQ=MONTHLY;BYDAY=-1FR\"\n\n\nb@x.io,a@x.io,weekly\n")
	f.Fuzz(func(t *testing.T, in string) {
		rows, bad, err := ParseImportCSV(strings.NewReader(in), ImportDefaults{Timezone: "Asia/Tokyo", Now: importNow})
		if err != nil {
			if rows != nil || bad != nil {
				t.Fatalf("an error with results: %v", err)
			}
			return
		}
		for _, e := range bad {
			if e.Line < 2 || e.Field == "" || e.Message == "" {
				t.Fatalf("row error %+v", e)
			}
		}
		prev := 1
		for _, r := range rows {
			if r.Line <= prev {
				t.Fatalf("row lines not increasing: %d after %d", r.Line, prev)
			}
			prev = r.Line
			s := r.Series
			if err := s.Normalize(); err != nil {
				t.Fatalf("line %d: a returned series does not normalise: %v", r.Line, err)
			}
		}
	})
}
