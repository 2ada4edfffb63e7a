package calendar

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/oneonone/oneonone/internal/errs"
)

func validSeries() Series {
	return Series{
		Manager:  Person{Email: "  Aiko@Example.COM ", Name: " Aiko "},
		Report:   Person{Email: "ren@example.com", Name: "Ren"},
		Start:    time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC),
		Timezone: "Asia/Tokyo",
		Team:     " platform ",
	}
}

func TestNormalizeDefaults(t *testing.T) {
	s := validSeries()
	if err := s.Normalize(); err != nil {
		t.Fatal(err)
	}
	if s.Manager.Email != "aiko@example.com" || s.Manager.Name != "Aiko" || s.Team != "platform" {
		t.Errorf("not trimmed/lower-cased: %+v", s)
	}
	if s.Duration != DefaultDuration || s.Cadence != CadenceWeekly || s.State != StateActive {
		t.Errorf("defaults: duration %s cadence %q state %q", s.Duration, s.Cadence, s.State)
	}
	// 10:00 wall clock, now in Tokyo.
	if got := s.Start.Format(time.RFC3339); got != "2026-12-01T10:00:00+09:00" || s.Start.Location().String() != "Asia/Tokyo" {
		t.Errorf("Start = %s in %s", got, s.Start.Location())
	}
	// Idempotent.
	before := s
	if err := s.Normalize(); err != nil || s != before {
		t.Errorf("second Normalize changed %+v to %+v (%v)", before, s, err)
	}
}

func TestNormalizeErrorsNameTheField(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(*Series)
		field   string
		message string // a substring
	}{
		{"missing manager", func(s *Series) { s.Manager.Email = " " }, "manager.email", "required"},
		{"display name", func(s *Series) { s.Manager.Email = "Aiko <aiko@example.com>" }, "manager.email", "bare e-mail"},
		{"no at", func(s *Series) { s.Report.Email = "ren" }, "report.email", "not a bare e-mail"},
		{"two addresses", func(s *Series) { s.Report.Email = "a@example.com, b@example.com" }, "report.email", "not a bare"},
		{"quoted local part", func(s *Series) { s.Report.Email = `"ren yamada"@example.com` }, "report.email", "not a bare"},
		{"same person", func(s *Series) { s.Report.Email = "AIKO@example.com" }, "report.email", "also the manager"},
		{"name with newline", func(s *Series) { s.Report.Name = "Ren\nEvil" }, "report.name", "control character"},
		{"person zone", func(s *Series) { s.Report.Timezone = "Mars/Base" }, "report.timezone", "not an IANA zone"},
		{"no timezone", func(s *Series) { s.Timezone = "" }, "timezone", "required"},
		{"Local", func(s *Series) { s.Timezone = "Local" }, "timezone", `"Local" is not an IANA zone`},
		{"typo", func(s *Series) { s.Timezone = "Asia/Tokio" }, "timezone", `timezone "Asia/Tokio" is not an IANA zone`},
		{"path", func(s *Series) { s.Timezone = "../../etc/passwd" }, "timezone", "not an IANA zone"},
		{"no start", func(s *Series) { s.Start = time.Time{} }, "start", "required"},
		{"start in the gap", func(s *Series) {
			s.Timezone = "America/New_York"
			s.Start = time.Date(2027, 3, 14, 2, 30, 0, 0, time.UTC)
		}, "start", "2027-03-14T02:30 does not exist in America/New_York"},
		{"start year", func(s *Series) { s.Start = time.Date(1800, 1, 1, 0, 0, 0, 0, time.UTC) }, "start", "outside"},
		{"negative duration", func(s *Series) { s.Duration = -time.Minute }, "duration", "positive"},
		{"too long", func(s *Series) { s.Duration = 13 * time.Hour }, "duration", "13h is longer than 12h"},
		{"seconds", func(s *Series) { s.Duration = 30*time.Minute + time.Second }, "duration", "whole minutes"},
		{"cadence", func(s *Series) { s.Cadence = "fortnightly" }, "cadence", "fortnightly"},
		{"team too long", func(s *Series) { s.Team = strings.Repeat("x", 65) }, "team", "at most 64"},
		{"team control", func(s *Series) { s.Team = "a\tb" }, "team", "control character"},
		{"team utf-8", func(s *Series) { s.Team = "a\xffb" }, "team", "UTF-8"},
		{"calendar space", func(s *Series) { s.Calendar = "team caldav" }, "calendar", "no spaces"},
		{"state", func(s *Series) { s.State = "archived" }, "state", `"archived" is not a state`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := validSeries()
			tt.mutate(&s)
			err := s.Normalize()
			inv, ok := errs.AsInvalid(err)
			if !ok {
				t.Fatalf("Normalize() = %v, want *errs.Invalid", err)
			}
			if inv.Field != tt.field || !strings.Contains(err.Error(), tt.message) {
				t.Errorf("Normalize() = %q on %q, want field %q and message containing %q", err, inv.Field, tt.field, tt.message)
			}
		})
	}
}

func TestNormalizeAccepts(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Series)
		check  func(Series) bool
	}{
		{"team of 64 runes", func(s *Series) { s.Team = strings.Repeat("開", 64) }, func(s Series) bool { return true }},
		{"12h", func(s *Series) { s.Duration = 12 * time.Hour }, func(s Series) bool { return s.Duration == 12*time.Hour }},
		{"paused, any case", func(s *Series) { s.State = "Paused" }, func(s Series) bool { return s.State == StatePaused }},
		{"detached, as the reconciler stores it", func(s *Series) { s.State = StateDetached }, func(s Series) bool { return s.State == StateDetached }},
		{"UTC", func(s *Series) { s.Timezone = "UTC" }, func(s Series) bool { return s.Start.Location() == time.UTC }},
		{"ambiguous start takes the first", func(s *Series) {
			s.Timezone = "Europe/Berlin"
			s.Start = time.Date(2026, 10, 25, 2, 30, 0, 0, time.UTC)
		}, func(s Series) bool { _, off := s.Start.Zone(); return s.Start.Hour() == 2 && off == 7200 }},
		{"nanoseconds dropped", func(s *Series) { s.Start = s.Start.Add(5) }, func(s Series) bool { return s.Start.Nanosecond() == 0 }},
		{"plus addressing", func(s *Series) { s.Report.Email = "ren+1on1@example.com" }, func(s Series) bool { return s.Report.Email == "ren+1on1@example.com" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := validSeries()
			tt.mutate(&s)
			if err := s.Normalize(); err != nil {
				t.Fatal(err)
			}
			if !tt.check(s) {
				t.Errorf("unexpected result %+v", s)
			}
		})
	}
}

func TestParseStart(t *testing.T) {
	ny, tokyo := mustLoc(t, "America/New_York"), mustLoc(t, "Asia/Tokyo")
	tests := []struct {
		in      string
		loc     *time.Location
		want    string // RFC 3339, "" = error
		mention string
	}{
		{"2026-12-01T10:00", tokyo, "2026-12-01T10:00:00+09:00", ""},
		{"2026-12-01T10:00:30", tokyo, "2026-12-01T10:00:30+09:00", ""},
		{" 2026-12-01 10:00 ", ny, "2026-12-01T10:00:00-05:00", ""},
		{"2026-07-01T10:00", ny, "2026-07-01T10:00:00-04:00", ""},
		{"2026-03-08T02:30", ny, "", "2026-03-08T02:30 does not exist in America/New_York"},
		{"2026-12-01", tokyo, "", "not a local date and time"},
		{"2026-12-01T10:00:00Z", tokyo, "", "not a local date and time"},
		{"2026-13-01T10:00", tokyo, "", "not a local date and time"},
		{"", tokyo, "", "not a local date and time"},
	}
	for _, tt := range tests {
		got, err := ParseStart(tt.in, tt.loc)
		if tt.want == "" {
			inv, ok := errs.AsInvalid(err)
			if !ok || inv.Field != "start" || !strings.Contains(inv.Message, tt.mention) {
				t.Errorf("ParseStart(%q) = %v, %v; want error on start mentioning %q", tt.in, got, err, tt.mention)
			}
			continue
		}
		if err != nil || got.Format(time.RFC3339) != tt.want || got.Location() != tt.loc {
			t.Errorf("ParseStart(%q) = %v, %v; want %s", tt.in, got, err, tt.want)
		}
	}
}

func TestDurations(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want time.Duration
	}{{"30m", 30 * time.Minute}, {"1h", time.Hour}, {"45m", 45 * time.Minute}, {" 1h30m ", 90 * time.Minute}} {
		got, err := ParseDuration(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
		if back, _ := ParseDuration(FormatDuration(got)); back != got {
			t.Errorf("FormatDuration(%v) = %q does not parse back", got, FormatDuration(got))
		}
	}
	for _, in := range []string{"", "30", "half an hour", "-30m", "0m"} {
		if _, err := ParseDuration(in); err == nil {
			t.Errorf("ParseDuration(%q) succeeded", in)
		} else if inv, ok := errs.AsInvalid(err); !ok || inv.Field != "duration" {
			t.Errorf("ParseDuration(%q) = %v, want *errs.Invalid on duration", in, err)
		}
	}
	for d, want := range map[time.Duration]string{30 * time.Minute: "30m", time.Hour: "1h", 90 * time.Minute: "1h30m", 12 * time.Hour: "12h", 90 * time.Second: "1m30s"} {
		if got := FormatDuration(d); got != want {
			t.Errorf("FormatDuration(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestNewSeriesID(t *testing.T) {
	re := regexp.MustCompile(`^s_[a-z2-7]{20}$`)
	seen := map[string]bool{}
	for range 1000 {
		id := NewSeriesID()
		if !re.MatchString(id) || seen[id] {
			t.Fatalf("NewSeriesID() = %q (seen before: %v)", id, seen[id])
		}
		seen[id] = true
	}
}

func TestLoadLocation(t *testing.T) {
	if loc, err := LoadLocation("Europe/Berlin"); err != nil || loc.String() != "Europe/Berlin" {
		t.Errorf("LoadLocation(Europe/Berlin) = %v, %v", loc, err)
	}
	_, err := LoadLocation("Asia/Tokio")
	if err == nil || err.(*errs.Invalid).Message != `timezone "Asia/Tokio" is not an IANA zone` {
		t.Errorf("LoadLocation(Asia/Tokio) = %v", err)
	}
}

// FuzzRRule checks that any cadence either is rejected with an *errs.Invalid
// or yields a normal form that is accepted again and expands without panic.
func FuzzRRule(f *testing.F) {
	for _, seed := range []string{"weekly", "monthly", "FREQ=WEEKLY;INTERVAL=3;BYDAY=TU", "RRULE:FREQ=MONTHLY;BYSETPOS=-1;BYDAY=MO,TU",
		"FREQ=YEARLY;BYWEEKNO=53", "FREQ=DAILY;UNTIL=20270101", "FREQ=WEEKLY;BYDAY=+9MO", "FREQ=MONTHLY;BYMONTHDAY=-31;COUNT=3"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, cadence string) {
		s := validSeries()
		s.Cadence = cadence
		if err := s.Normalize(); err != nil {
			if _, ok := errs.AsInvalid(err); !ok {
				t.Fatalf("Normalize(%q) = %v, not *errs.Invalid", cadence, err)
			}
			return
		}
		norm := s.Cadence
		if err := s.Normalize(); err != nil || s.Cadence != norm {
			t.Fatalf("normal form %q of %q: %q, %v", norm, cadence, s.Cadence, err)
		}
		if _, err := s.Occurrences(s.Start, s.Start.AddDate(1, 0, 0), nil, s.Start); err != nil {
			t.Fatalf("Occurrences(%q): %v", norm, err)
		}
	})
}
