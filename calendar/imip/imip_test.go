package imip_test

import (
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-ical"

	"github.com/oneonone/oneonone/calendar"
	"github.com/oneonone/oneonone/calendar/imip"
)

var now = time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)

func TestRequestMessage(t *testing.T) {
	ev := testEvent(t)
	// Whatever sits in the event's description stays out of the text part.
	ev.Description = "private agenda: salary review"
	ev.Attendees[0].PartStat = calendar.PartStatAccepted
	msgs, err := imip.Messages(imip.MethodRequest, ev, imip.Options{From: "1on1 bot <bot@example.com>", Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 1 {
		t.Fatalf("%d messages, want 1 (the report; the organizer's calendar holds the event)", len(msgs))
	}
	m := msgs[0]
	if m.From != "bot@example.com" || m.To != "ren@example.com" || m.Method != imip.MethodRequest || m.UID != "s_imip@oneonone" {
		t.Errorf("envelope = %+v", m)
	}
	if strings.Contains(string(m.Data), "\n") && strings.Count(string(m.Data), "\r\n") != strings.Count(string(m.Data), "\n") {
		t.Error("message has bare LF line endings")
	}
	p := parseMail(t, m.Data)

	from, _ := p.Header.AddressList("From")
	to, _ := p.Header.AddressList("To")
	replyTo, _ := p.Header.AddressList("Reply-To")
	if len(from) != 1 || from[0].Address != "bot@example.com" || from[0].Name != "1on1 bot" {
		t.Errorf("From = %v", from)
	}
	if len(to) != 1 || to[0].Address != "ren@example.com" || to[0].Name != "Ren Ota" {
		t.Errorf("To = %v", to)
	}
	if len(replyTo) != 1 || replyTo[0].Address != "aiko@example.com" || replyTo[0].Name != "相川 愛子" {
		t.Errorf("Reply-To = %v", replyTo)
	}
	if p.Subject != "1on1: 相川 愛子 / Ren Ota" {
		t.Errorf("Subject = %q", p.Subject)
	}
	if d, err := p.Header.Date(); err != nil || !d.Equal(now) {
		t.Errorf("Date = %v, %v", d, err)
	}
	if id := p.Header.Get("Message-ID"); !strings.HasPrefix(id, "<") || !strings.HasSuffix(id, "@example.com>") {
		t.Errorf("Message-ID = %q", id)
	}
	if p.Header.Get("MIME-Version") != "1.0" {
		t.Errorf("MIME-Version = %q", p.Header.Get("MIME-Version"))
	}

	if p.CalParams["method"] != "REQUEST" || !strings.EqualFold(p.CalParams["charset"], "UTF-8") {
		t.Errorf("text/calendar params = %v", p.CalParams)
	}
	if p.Attachment != p.CalRaw {
		t.Error("invite.ics differs from the text/calendar part")
	}
	if p.method() != "REQUEST" {
		t.Errorf("METHOD = %q", p.method())
	}
	ve := p.event(t)
	if got := propValue(ve, ical.PropUID); got != "s_imip@oneonone" {
		t.Errorf("UID = %q", got)
	}
	if got := sequence(t, ve); got != ev.Sequence {
		t.Errorf("SEQUENCE = %d, want %d", got, ev.Sequence)
	}
	if org := ve.Props.Get(ical.PropOrganizer); org == nil || org.Value != "mailto:aiko@example.com" {
		t.Errorf("ORGANIZER = %v", org)
	}
	att := ve.Props.Get(ical.PropAttendee)
	if att == nil || att.Value != "mailto:ren@example.com" || att.Params.Get("RSVP") != "TRUE" ||
		att.Params.Get(ical.ParamParticipationStatus) != "NEEDS-ACTION" {
		t.Errorf("ATTENDEE = %+v (a REQUEST asks again, even after an earlier ACCEPTED)", att)
	}
	start := ve.Props.Get(ical.PropDateTimeStart)
	if start == nil || start.Params.Get(ical.PropTimezoneID) != "Asia/Tokyo" || start.Value != "20261201T100000" {
		t.Errorf("DTSTART = %+v", start)
	}
	if propValue(ve, ical.PropRecurrenceRule) == "" {
		t.Error("no RRULE")
	}
	if !strings.Contains(propValue(ve, ical.PropURL), "/r/s_imip") {
		t.Errorf("URL = %q", propValue(ve, ical.PropURL))
	}
	hasTZ := false
	for _, c := range p.Cal.Children {
		hasTZ = hasTZ || (c.Name == ical.CompTimezone && propValue(c, ical.PropTimezoneID) == "Asia/Tokyo")
	}
	if !hasTZ {
		t.Error("no VTIMEZONE for Asia/Tokyo")
	}

	if !strings.Contains(p.Text, "https://1on1.example.com/r/s_imip") || !strings.Contains(p.Text, "2026-12-01 10:00") {
		t.Errorf("text part lacks the time or the room link:\n%s", p.Text)
	}
	if strings.Contains(p.Text, "agenda") || strings.Contains(p.Text, "salary") {
		t.Errorf("text part holds event text:\n%s", p.Text)
	}
}

func TestCancelMessage(t *testing.T) {
	ev := testEvent(t)
	ev.Sequence = 7
	ev.Status = calendar.EventCancelled
	moved := time.Date(2026, 12, 8, 10, 0, 0, 0, tokyo)
	ev.Exceptions = []calendar.Exception{{RecurrenceID: moved, Start: moved.Add(24 * time.Hour), End: moved.Add(24*time.Hour + 30*time.Minute)}}
	ev.ExDates = []time.Time{moved.Add(7 * 24 * time.Hour)}
	msgs, err := imip.Messages(imip.MethodCancel, ev, imip.Options{From: "bot@example.com", Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 1 {
		t.Fatalf("%d messages", len(msgs))
	}
	p := parseMail(t, msgs[0].Data)
	if p.method() != "CANCEL" || p.CalParams["method"] != "CANCEL" {
		t.Errorf("METHOD = %q, params %v", p.method(), p.CalParams)
	}
	events := 0
	for _, c := range p.Cal.Children {
		if c.Name == ical.CompEvent {
			events++
		}
	}
	if events != 1 {
		t.Errorf("%d VEVENTs, want the master only (a RECURRENCE-ID would cancel one occurrence)", events)
	}
	ve := p.event(t)
	if propValue(ve, ical.PropStatus) != "CANCELLED" || sequence(t, ve) != 7 || propValue(ve, ical.PropUID) != "s_imip@oneonone" {
		t.Errorf("STATUS %q SEQUENCE %d UID %q", propValue(ve, ical.PropStatus), sequence(t, ve), propValue(ve, ical.PropUID))
	}
	if att := ve.Props.Get(ical.PropAttendee); att == nil || att.Params.Get("RSVP") != "" {
		t.Errorf("ATTENDEE = %+v, want the report without RSVP", att)
	}
	if !strings.HasPrefix(p.Subject, "1on1: ") || !strings.Contains(p.Subject, "cancelled") {
		t.Errorf("Subject = %q", p.Subject)
	}
}

func TestMessagesRecipients(t *testing.T) {
	tests := []struct {
		name      string
		attendees []calendar.Attendee
		from      string
		want      []string
		wantErr   bool
	}{
		{"report", []calendar.Attendee{{Email: "ren@example.com"}}, "bot@example.com", []string{"ren@example.com"}, false},
		{"organizer is not mailed", []calendar.Attendee{{Email: "AIKO@example.com"}, {Email: "ren@example.com"}},
			"bot@example.com", []string{"ren@example.com"}, false},
		{"empty address skipped", []calendar.Attendee{{Email: ""}}, "bot@example.com", nil, false},
		{"bad from", []calendar.Attendee{{Email: "ren@example.com"}}, "not an address", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := testEvent(t)
			ev.Attendees = tt.attendees
			msgs, err := imip.Messages(imip.MethodRequest, ev, imip.Options{From: tt.from, Now: now})
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v", err)
			}
			var got []string
			for _, m := range msgs {
				got = append(got, m.To)
			}
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Errorf("recipients = %v, want %v", got, tt.want)
			}
		})
	}
}

// Names and summaries come from people: whatever they hold, the message
// parses, its headers stay single lines, and the calendar part decodes.
func FuzzMessages(f *testing.F) {
	f.Add("Ren Ota", "1on1: A / B", "ren@example.com")
	f.Add("相川\r\nBcc: x@evil.example", "x\r\nSubject: hi", "ren@example.com")
	f.Add("\"quoted\" <name>", "", "a+b@example.com")
	f.Fuzz(func(t *testing.T, name, summary, email string) {
		if _, err := mail.ParseAddress(email); err != nil || strings.ContainsAny(email, "\r\n<> ") {
			return
		}
		ev := testEvent(t)
		ev.Summary = summary
		ev.Attendees = []calendar.Attendee{{Email: email, Name: name}}
		ev.Organizer.Name = name
		msgs, err := imip.Messages(imip.MethodRequest, ev, imip.Options{From: "bot@example.com", Now: now})
		if err != nil {
			return
		}
		for _, m := range msgs {
			p := parseMail(t, m.Data)
			if len(p.Header["Bcc"]) > 0 || len(p.Header["Subject"]) != 1 || len(p.Header["To"]) != 1 {
				t.Fatalf("header injected: %v", p.Header)
			}
			if to, err := p.Header.AddressList("To"); err != nil || len(to) != 1 || !strings.EqualFold(to[0].Address, email) {
				t.Fatalf("To = %v, %v", to, err)
			}
		}
	})
}
