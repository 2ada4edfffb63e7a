package imip_test

import (
	"bytes"
	"encoding/base64"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-ical"

	"github.com/oneonone/oneonone/calendar"
	"github.com/oneonone/oneonone/calendar/icsfeed"
)

// parsed is an iMIP mail taken apart with the standard library's MIME
// readers and go-ical, the way a mail client would.
type parsed struct {
	Header     mail.Header
	Subject    string
	Text       string
	CalParams  map[string]string // of the text/calendar part
	CalRaw     string
	Cal        *ical.Calendar
	Attachment string // invite.ics
}

func parseMail(t testing.TB, data []byte) parsed {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("net/mail: %v", err)
	}
	var p parsed
	p.Header = m.Header
	dec := new(mime.WordDecoder)
	if p.Subject, err = dec.DecodeHeader(m.Header.Get("Subject")); err != nil {
		t.Fatalf("subject: %v", err)
	}
	mt, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/mixed" {
		t.Fatalf("Content-Type %q: %v", m.Header.Get("Content-Type"), err)
	}
	walk(t, &p, multipart.NewReader(m.Body, params["boundary"]))
	if p.CalRaw == "" {
		t.Fatal("no text/calendar part")
	}
	if p.Cal, err = ical.NewDecoder(strings.NewReader(p.CalRaw)).Decode(); err != nil {
		t.Fatalf("go-ical: %v\n%s", err, p.CalRaw)
	}
	return p
}

func walk(t testing.TB, p *parsed, r *multipart.Reader) {
	t.Helper()
	for {
		part, err := r.NextRawPart()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatalf("multipart: %v", err)
		}
		mt, params, err := mime.ParseMediaType(part.Header.Get("Content-Type"))
		if err != nil {
			t.Fatalf("part Content-Type: %v", err)
		}
		if strings.HasPrefix(mt, "multipart/") {
			walk(t, p, multipart.NewReader(part, params["boundary"]))
			continue
		}
		var body io.Reader = part
		switch part.Header.Get("Content-Transfer-Encoding") {
		case "base64":
			body = base64.NewDecoder(base64.StdEncoding, part)
		case "quoted-printable":
			body = quotedprintable.NewReader(part)
		}
		b, err := io.ReadAll(body)
		if err != nil {
			t.Fatalf("part %s: %v", mt, err)
		}
		switch mt {
		case "text/plain":
			p.Text = string(b)
		case "text/calendar":
			p.CalParams, p.CalRaw = params, string(b)
		case "application/ics":
			_, dp, _ := mime.ParseMediaType(part.Header.Get("Content-Disposition"))
			if dp["filename"] != "invite.ics" {
				t.Errorf("attachment filename = %q", dp["filename"])
			}
			p.Attachment = string(b)
		default:
			t.Errorf("unexpected part %s", mt)
		}
	}
}

// event is the first VEVENT without RECURRENCE-ID.
func (p parsed) event(t testing.TB) *ical.Component {
	t.Helper()
	for _, c := range p.Cal.Children {
		if c.Name == ical.CompEvent && c.Props.Get(ical.PropRecurrenceID) == nil {
			return c
		}
	}
	t.Fatal("no master VEVENT")
	return nil
}

func (p parsed) method() string {
	if m := p.Cal.Props.Get(ical.PropMethod); m != nil {
		return m.Value
	}
	return ""
}

func propValue(c *ical.Component, name string) string {
	if p := c.Props.Get(name); p != nil {
		return p.Value
	}
	return ""
}

func sequence(t testing.TB, c *ical.Component) int {
	t.Helper()
	n, err := c.Props.Get(ical.PropSequence).Int()
	if err != nil {
		t.Fatalf("SEQUENCE: %v", err)
	}
	return n
}

var tokyo = func() *time.Location {
	l, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		panic(err)
	}
	return l
}()

// testSeries is a weekly Tuesday 10:00 Tokyo 1on1 of Aiko and Ren.
func testSeries() calendar.Series {
	return calendar.Series{ID: "s_imip", Manager: calendar.Person{Email: "aiko@example.com", Name: "相川 愛子"},
		Report: calendar.Person{Email: "ren@example.com", Name: "Ren Ota"}, Start: time.Date(2026, 12, 1, 10, 0, 0, 0, tokyo),
		Timezone: "Asia/Tokyo", Cadence: calendar.CadenceWeekly, Duration: 30 * time.Minute, State: calendar.StateActive, Version: 3}
}

func testEvent(t testing.TB) calendar.Event {
	t.Helper()
	ev, err := icsfeed.SeriesEvent(icsfeed.Entry{Series: testSeries(), RoomURL: "https://1on1.example.com/r/s_imip"},
		time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	return ev
}
