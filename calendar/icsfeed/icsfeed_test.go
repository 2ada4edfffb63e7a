package icsfeed

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-ical"

	"github.com/oneonone/oneonone/calendar"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

var feedNow = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

func mustSeries(t testing.TB, id, tz, start, cadence string, manager, report calendar.Person) calendar.Series {
	t.Helper()
	loc, err := calendar.LoadLocation(tz)
	if err != nil {
		t.Fatal(err)
	}
	st, err := calendar.ParseStart(start, loc)
	if err != nil {
		t.Fatal(err)
	}
	s := calendar.Series{ID: id, Manager: manager, Report: report, Start: st, Timezone: tz, Cadence: cadence}
	if err := s.Normalize(); err != nil {
		t.Fatal(err)
	}
	return s
}

func at(t testing.TB, tz, local string) time.Time {
	t.Helper()
	loc, err := calendar.LoadLocation(tz)
	if err != nil {
		t.Fatal(err)
	}
	v, err := calendar.ParseStart(local, loc)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// fixture is Aiko's feed: series in New York, Berlin, Tokyo and UTC, with
// cancelled and moved occurrences on both sides of the DST changes, one
// paused series, and names that need escaping.
func fixture(t testing.TB) (calendar.Person, []Entry) {
	aiko := calendar.Person{Email: "aiko@example.com", Name: "Aiko Tanaka", Timezone: "Asia/Tokyo"}
	ny := mustSeries(t, "s_a1", "America/New_York", "2026-10-20T10:00", "weekly", aiko, calendar.Person{Email: "ren@example.com", Name: "Ren"})
	ny.Version = 3
	ny.Created = time.Date(2026, 10, 1, 9, 0, 0, 0, time.UTC)
	ny.Updated = time.Date(2026, 10, 15, 9, 0, 0, 0, time.UTC)
	ny.Duration = 45 * time.Minute
	berlin := mustSeries(t, "s_b2", "Europe/Berlin", "2026-12-29T09:00", "monthly", aiko, calendar.Person{Email: "max@example.com", Name: `Müller, "Max"; Jr.`})
	tokyo := mustSeries(t, "s_c3", "Asia/Tokyo", "2026-12-01T10:00", "biweekly", aiko, calendar.Person{Email: "mio@example.com"})
	paused := mustSeries(t, "s_d4", "Asia/Tokyo", "2026-12-01T11:00", "weekly", aiko, calendar.Person{Email: "sora@example.com"})
	paused.State = calendar.StatePaused
	utc := mustSeries(t, "s_e5", "UTC", "2026-12-02T15:00", "FREQ=WEEKLY;BYDAY=MO,WE", aiko, calendar.Person{Email: "kai@example.com", Name: "Kai"})

	room := "http://localhost:8080/r/rm_0123456789abcdefghijklmnopqrstuvwxyz"
	nyAt := func(s string) time.Time { return at(t, "America/New_York", s) }
	beAt := func(s string) time.Time { return at(t, "Europe/Berlin", s) }
	return aiko, []Entry{
		// Out of order on purpose: the feed sorts by series id.
		{Series: tokyo, RoomURL: room + "3"},
		{Series: ny, RoomURL: room + "1", Overrides: []calendar.Override{
			{OriginalStart: nyAt("2026-11-10T10:00"), Start: nyAt("2026-11-12T14:00"), End: nyAt("2026-11-12T15:00")},
			{OriginalStart: nyAt("2026-10-20T10:00"), Held: true},
			{OriginalStart: nyAt("2026-11-03T10:00"), Cancelled: true, CancelledBy: "report"},
			{OriginalStart: nyAt("2026-11-04T10:00"), Cancelled: true}, // no such occurrence
		}},
		{Series: berlin, RoomURL: room + "2", Overrides: []calendar.Override{
			{OriginalStart: beAt("2027-03-30T09:00"), Cancelled: true},
			{OriginalStart: beAt("2027-01-26T09:00"), Start: beAt("2027-01-27T16:30"), End: beAt("2027-01-27T17:00")},
		}},
		{Series: paused, RoomURL: room + "4"},
		{Series: utc, Overrides: []calendar.Override{{OriginalStart: at(t, "UTC", "2026-12-07T15:00"), Cancelled: true}}},
	}
}

func writeFeed(t testing.TB, owner calendar.Person, entries []Entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := Write(&buf, owner, entries, feedNow); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestWriteGolden(t *testing.T) {
	owner, entries := fixture(t)
	got := writeFeed(t, owner, entries)
	golden := filepath.Join("testdata", "feed.golden.ics")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("feed differs from %s (go test -update rewrites it):\n%s", golden, got)
	}
}

func TestWriteShape(t *testing.T) {
	owner, entries := fixture(t)
	feed := string(writeFeed(t, owner, entries))
	if !strings.HasSuffix(feed, "END:VCALENDAR\r\n") {
		t.Error("feed does not end with END:VCALENDAR CRLF")
	}
	lines := strings.Split(strings.TrimSuffix(feed, "\r\n"), "\r\n")
	long := 0
	for i, l := range lines {
		if len(l) > 75 {
			t.Errorf("line %d has %d octets: %q", i+1, len(l), l)
		}
		if strings.ContainsAny(l, "\r\n") {
			t.Errorf("line %d has a bare CR or LF: %q", i+1, l)
		}
		if strings.Contains(l, "VALUE=TEXT") {
			t.Errorf("line %d: %q", i+1, l)
		}
		if len(l) == 75 {
			long++
		}
	}
	if long == 0 {
		t.Error("the fixture should exercise folding")
	}
	for _, want := range []string{
		"PRODID:-//oneonone//EN", "VERSION:2.0", "CALSCALE:GREGORIAN", "METHOD:PUBLISH", "X-WR-CALNAME:1on1s",
		"REFRESH-INTERVAL;VALUE=DURATION:PT1H", "X-PUBLISHED-TTL:PT1H", "X-WR-TIMEZONE:Asia/Tokyo",
		"EXDATE;TZID=America/New_York:20261103T100000", "RECURRENCE-ID;TZID=America/New_York:20261110T100000",
		"DTSTART;TZID=Europe/Berlin:20261229T090000", "RRULE:FREQ=MONTHLY;BYDAY=-1TU", "SEQUENCE:3", "DURATION:PT45M",
		"EXDATE:20261207T150000Z", "DTSTART:20261202T150000Z",
	} {
		if !strings.Contains(feed, want+"\r\n") {
			t.Errorf("feed lacks the line %q", want)
		}
	}
	if strings.Contains(feed, "sora@example.com") || strings.Contains(feed, "20261104T100000") || strings.Contains(feed, "TZID:UTC") {
		t.Error("feed holds the paused series, an override of no occurrence, or a VTIMEZONE for UTC")
	}
	// One VTIMEZONE per zone used, and a zone without DST has a single STANDARD.
	if n := strings.Count(feed, "BEGIN:VTIMEZONE"); n != 3 {
		t.Errorf("%d VTIMEZONEs, want 3", n)
	}
	tokyo := feed[strings.Index(feed, "TZID:Asia/Tokyo"):]
	tokyo = tokyo[:strings.Index(tokyo, "END:VTIMEZONE")]
	if strings.Count(tokyo, "BEGIN:STANDARD") != 1 || strings.Contains(tokyo, "DAYLIGHT") || !strings.Contains(tokyo, "TZOFFSETTO:+0900") {
		t.Errorf("Asia/Tokyo VTIMEZONE:\n%s", tokyo)
	}
}

func TestWriteParsesBackWithGoICal(t *testing.T) {
	owner, entries := fixture(t)
	cal, err := ical.NewDecoder(bytes.NewReader(writeFeed(t, owner, entries))).Decode()
	if err != nil {
		t.Fatal(err)
	}
	type ev struct {
		uid, rrule, recurrenceID, start, end string
		exdates                              []string
	}
	var got []ev
	for _, e := range cal.Events() {
		var x ev
		x.uid, _ = e.Props.Text(ical.PropUID)
		if p := e.Props.Get(ical.PropRecurrenceRule); p != nil {
			x.rrule = p.Value
		}
		if p := e.Props.Get(ical.PropRecurrenceID); p != nil {
			rid, err := p.DateTime(nil)
			if err != nil {
				t.Fatal(err)
			}
			x.recurrenceID = rid.UTC().Format(time.RFC3339)
		}
		start, err := e.DateTimeStart(nil)
		if err != nil {
			t.Fatal(err)
		}
		end, err := e.DateTimeEnd(nil)
		if err != nil {
			t.Fatal(err)
		}
		x.start, x.end = start.UTC().Format(time.RFC3339), end.UTC().Format(time.RFC3339)
		for _, p := range e.Props.Values(ical.PropExceptionDates) {
			d, err := p.DateTime(nil)
			if err != nil {
				t.Fatal(err)
			}
			x.exdates = append(x.exdates, d.UTC().Format(time.RFC3339))
		}
		got = append(got, x)
	}
	want := []ev{
		{uid: "s_a1@oneonone", rrule: "FREQ=WEEKLY", start: "2026-10-20T14:00:00Z", end: "2026-10-20T14:45:00Z", exdates: []string{"2026-11-03T15:00:00Z"}},
		{uid: "s_a1@oneonone", recurrenceID: "2026-11-10T15:00:00Z", start: "2026-11-12T19:00:00Z", end: "2026-11-12T20:00:00Z"},
		{uid: "s_b2@oneonone", rrule: "FREQ=MONTHLY;BYDAY=-1TU", start: "2026-12-29T08:00:00Z", end: "2026-12-29T08:30:00Z", exdates: []string{"2027-03-30T07:00:00Z"}},
		{uid: "s_b2@oneonone", recurrenceID: "2027-01-26T08:00:00Z", start: "2027-01-27T15:30:00Z", end: "2027-01-27T16:00:00Z"},
		{uid: "s_c3@oneonone", rrule: "FREQ=WEEKLY;INTERVAL=2", start: "2026-12-01T01:00:00Z", end: "2026-12-01T01:30:00Z"},
		{uid: "s_e5@oneonone", rrule: "FREQ=WEEKLY;BYDAY=MO,WE", start: "2026-12-02T15:00:00Z", end: "2026-12-02T15:30:00Z", exdates: []string{"2026-12-07T15:00:00Z"}},
	}
	if !slices.EqualFunc(got, want, func(a, b ev) bool {
		return a.uid == b.uid && a.rrule == b.rrule && a.recurrenceID == b.recurrenceID && a.start == b.start && a.end == b.end && slices.Equal(a.exdates, b.exdates)
	}) {
		t.Errorf("events\n got  %+v\n want %+v", got, want)
	}

	berlin := cal.Events()[2]
	if s, _ := berlin.Props.Text(ical.PropSummary); s != `1on1: Aiko Tanaka / Müller, "Max"; Jr.` {
		t.Errorf("SUMMARY = %q", s)
	}
	att := berlin.Props.Get(ical.PropAttendee)
	if att.Value != "mailto:max@example.com" || att.Params.Get("CN") != `Müller, 'Max'; Jr.` || att.Params.Get("PARTSTAT") != "ACCEPTED" || att.Params.Get("ROLE") != "REQ-PARTICIPANT" {
		t.Errorf("ATTENDEE = %+v", att)
	}
	if org := berlin.Props.Get(ical.PropOrganizer); org.Value != "mailto:aiko@example.com" || org.Params.Get("CN") != "Aiko Tanaka" {
		t.Errorf("ORGANIZER = %+v", org)
	}
	if d, _ := berlin.Props.Text(ical.PropDescription); !strings.HasSuffix(d, "\nhttp://localhost:8080/r/rm_0123456789abcdefghijklmnopqrstuvwxyz2") {
		t.Errorf("DESCRIPTION = %q", d)
	}
	if l, _ := berlin.Props.Text(ical.PropLocation); l != "http://localhost:8080/r/rm_0123456789abcdefghijklmnopqrstuvwxyz2" {
		t.Errorf("LOCATION = %q", l)
	}
}

func TestWriteEmptyFeed(t *testing.T) {
	for _, owner := range []calendar.Person{{Email: "ren@example.com"}, {Email: "ren@example.com", Timezone: "Europe/Berlin"}} {
		feed := writeFeed(t, owner, nil)
		cal, err := ical.NewDecoder(bytes.NewReader(feed)).Decode()
		if err != nil {
			t.Fatalf("empty feed does not parse: %v\n%s", err, feed)
		}
		if len(cal.Events()) != 0 || len(cal.Children) != 1 {
			t.Errorf("empty feed:\n%s", feed)
		}
	}
}

func TestFold(t *testing.T) {
	for _, in := range []string{
		strings.Repeat("a", 75),
		strings.Repeat("a", 76),
		strings.Repeat("a", 300),
		"DESCRIPTION:" + strings.Repeat("日本語", 40),
		"SUMMARY:" + strings.Repeat("é", 100),
	} {
		var buf bytes.Buffer
		f := &folder{out: &buf}
		// Written in odd pieces, as an encoder may.
		for p := range slices.Chunk([]byte(in+"\r\n"), 7) {
			if _, err := f.Write(p); err != nil {
				t.Fatal(err)
			}
		}
		out := buf.String()
		for _, l := range strings.Split(strings.TrimSuffix(out, "\r\n"), "\r\n") {
			if len(l) > 75 || !strings.ContainsFunc(l, func(rune) bool { return true }) {
				t.Errorf("folded line of %d octets", len(l))
			}
			if !utf8Valid(l) {
				t.Errorf("fold split a UTF-8 sequence: %q", l)
			}
		}
		if unfolded := strings.ReplaceAll(out, "\r\n ", ""); unfolded != in+"\r\n" {
			t.Errorf("unfolding does not give back the line:\n%q\n%q", unfolded, in)
		}
	}
}

func utf8Valid(s string) bool { return strings.ToValidUTF8(s, "\uFFFD") == s }

func TestUTCOffset(t *testing.T) {
	for sec, want := range map[int]string{0: "+0000", 9 * 3600: "+0900", -5 * 3600: "-0500", 5*3600 + 1800: "+0530", -(3600 + 45*60): "-0145", 4*3600 + 27*60 + 50: "+042750"} {
		if got := utcOffset(sec); got != want {
			t.Errorf("utcOffset(%d) = %q, want %q", sec, got, want)
		}
	}
}

func TestICSDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{30 * time.Minute: "PT30M", time.Hour: "PT1H", 90 * time.Minute: "PT1H30M", 12 * time.Hour: "PT12H", 0: "PT0S"} {
		if got := icsDuration(d); got != want {
			t.Errorf("icsDuration(%v) = %q, want %q", d, got, want)
		}
	}
}
