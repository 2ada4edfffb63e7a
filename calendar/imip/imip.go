// Package imip sends calendar invitations by e-mail (iMIP, RFC 6047) for
// calendars whose server does not schedule by itself (Radicale,
// Xandikos): METHOD:REQUEST when a series' event is created or changed,
// METHOD:CANCEL when it is removed, to each attendee, through the
// configured SMTP relay.
//
// It owns the message (the event rendered by icsfeed, so the mail carries
// the same text as the calendar; MIME; headers) and its submission
// (STARTTLS, AUTH PLAIN). It must not decide when attendees are told —
// the calendar reconciler does, through calendar.Notifier — and must never
// put agenda or note text into a message, nor log a password or a body.
package imip

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"net/textproto"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/emersion/go-ical"

	"github.com/oneonone/oneonone/calendar"
	"github.com/oneonone/oneonone/calendar/icsfeed"
)

// Method is the iTIP method of a message (RFC 5546).
type Method string

const (
	MethodRequest Method = "REQUEST"
	MethodCancel  Method = "CANCEL"
)

// Message is one e-mail ready for the relay.
type Message struct {
	// From and To are the envelope addresses (bare addresses).
	From string
	To   string
	// UID, Method and Sequence say what the message is, for logs.
	UID      string
	Method   Method
	Sequence int
	// Data is the whole RFC 5322 message, CRLF line endings.
	Data []byte
}

// Options are what a message needs beyond the event.
type Options struct {
	// From is the From header: "Name <addr@example.com>" or a bare
	// address (config smtp.from).
	From string
	// Now is the Date header and the DTSTAMP; zero = time.Now().
	Now time.Time
}

// Messages returns one message per attendee of ev (the organizer is not
// mailed: their calendar holds the event). A REQUEST carries the whole
// event with its exceptions, every attendee asked to answer; a CANCEL
// carries the master only, STATUS:CANCELLED, with ev's Sequence (the
// caller bumps it).
func Messages(method Method, ev calendar.Event, opt Options) ([]Message, error) {
	from, err := mail.ParseAddress(opt.From)
	if err != nil {
		return nil, fmt.Errorf("imip: from address: %w", err)
	}
	now := opt.Now
	if now.IsZero() {
		now = time.Now()
	}
	ics, err := calendarText(method, ev, now)
	if err != nil {
		return nil, err
	}
	var out []Message
	for _, a := range ev.Attendees {
		if a.Email == "" || strings.EqualFold(a.Email, ev.Organizer.Email) {
			continue
		}
		to := &mail.Address{Name: headerText(a.Name), Address: a.Email}
		data, err := compose(method, ev, from, to, ics, now)
		if err != nil {
			return nil, err
		}
		out = append(out, Message{From: from.Address, To: a.Email, UID: ev.UID, Method: method,
			Sequence: ev.Sequence, Data: data})
	}
	return out, nil
}

// calendarText renders the iCalendar object of a message.
func calendarText(method Method, ev calendar.Event, now time.Time) ([]byte, error) {
	switch method {
	case MethodRequest:
		if ev.Status == "" || ev.Status == calendar.EventCancelled {
			ev.Status = calendar.EventConfirmed
		}
		// Every change asks again: a new time needs a new answer.
		ev.Attendees = append([]calendar.Attendee(nil), ev.Attendees...)
		for i := range ev.Attendees {
			ev.Attendees[i].PartStat = calendar.PartStatNeedsAction
		}
	case MethodCancel:
		// The whole series goes: no RECURRENCE-ID components, which would
		// cancel single occurrences only.
		ev.Status = calendar.EventCancelled
		ev.Exceptions, ev.ExDates = nil, nil
	default:
		return nil, fmt.Errorf("imip: unknown method %q", method)
	}
	cal, err := icsfeed.EventCalendar(ev, now)
	if err != nil {
		return nil, fmt.Errorf("imip: %w", err)
	}
	cal.Props.Set(&ical.Prop{Name: ical.PropMethod, Params: ical.Params{}, Value: string(method)})
	if method == MethodCancel {
		for _, c := range cal.Children {
			if c.Name != ical.CompEvent {
				continue
			}
			atts := c.Props[ical.PropAttendee]
			for i := range atts {
				delete(atts[i].Params, "RSVP")
			}
		}
	}
	var buf bytes.Buffer
	if err := icsfeed.Encode(&buf, cal); err != nil {
		return nil, fmt.Errorf("imip: %w", err)
	}
	return buf.Bytes(), nil
}

// compose writes the MIME message: multipart/mixed of a
// multipart/alternative (a short text, the text/calendar with its method)
// and the same object as an invite.ics attachment, which is how common
// clients (Outlook, Gmail, Apple Mail, Thunderbird) expect invitations.
func compose(method Method, ev calendar.Event, from, to *mail.Address, ics []byte, now time.Time) ([]byte, error) {
	id, err := messageID(from.Address)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	mixed := multipart.NewWriter(&buf)
	altBoundary := multipart.NewWriter(io.Discard).Boundary()
	h := func(k, v string) { fmt.Fprintf(&buf, "%s: %s\r\n", k, v) }
	h("From", addressHeader(from))
	h("To", addressHeader(to))
	if ev.Organizer.Email != "" && !strings.EqualFold(ev.Organizer.Email, from.Address) {
		// A reply by mail goes to the person, not to the daemon.
		h("Reply-To", addressHeader(&mail.Address{Name: headerText(ev.Organizer.Name), Address: ev.Organizer.Email}))
	}
	h("Subject", mime.QEncoding.Encode("utf-8", headerText(subject(method, ev))))
	h("Date", now.Format(time.RFC1123Z))
	h("Message-ID", id)
	h("MIME-Version", "1.0")
	h("Auto-Submitted", "auto-generated")
	h("Content-Type", mime.FormatMediaType("multipart/mixed", map[string]string{"boundary": mixed.Boundary()}))
	buf.WriteString("\r\n")

	altPart, err := mixed.CreatePart(textproto.MIMEHeader{
		"Content-Type": {mime.FormatMediaType("multipart/alternative", map[string]string{"boundary": altBoundary})},
	})
	if err != nil {
		return nil, err
	}
	alt := multipart.NewWriter(altPart)
	if err := alt.SetBoundary(altBoundary); err != nil {
		return nil, err
	}
	if err := writeQP(alt, "text/plain; charset=UTF-8", body(method, ev)); err != nil {
		return nil, err
	}
	calType := mime.FormatMediaType("text/calendar", map[string]string{"method": string(method), "charset": "UTF-8"})
	if err := writeBase64(alt, textproto.MIMEHeader{"Content-Type": {calType}}, ics); err != nil {
		return nil, err
	}
	if err := alt.Close(); err != nil {
		return nil, err
	}
	if err := writeBase64(mixed, textproto.MIMEHeader{
		"Content-Type":        {mime.FormatMediaType("application/ics", map[string]string{"name": "invite.ics"})},
		"Content-Disposition": {mime.FormatMediaType("attachment", map[string]string{"filename": "invite.ics"})},
	}, ics); err != nil {
		return nil, err
	}
	if err := mixed.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func writeQP(w *multipart.Writer, contentType, text string) error {
	p, err := w.CreatePart(textproto.MIMEHeader{
		"Content-Type":              {contentType},
		"Content-Transfer-Encoding": {"quoted-printable"},
	})
	if err != nil {
		return err
	}
	qp := quotedprintable.NewWriter(p)
	if _, err := qp.Write([]byte(strings.ReplaceAll(text, "\n", "\r\n"))); err != nil {
		return err
	}
	return qp.Close()
}

// writeBase64 writes data in base64 lines of 76 characters: the calendar
// text may be 8-bit (names), and not every relay speaks 8BITMIME.
func writeBase64(w *multipart.Writer, h textproto.MIMEHeader, data []byte) error {
	h.Set("Content-Transfer-Encoding", "base64")
	p, err := w.CreatePart(h)
	if err != nil {
		return err
	}
	enc := base64.StdEncoding.EncodeToString(data)
	for len(enc) > 76 {
		if _, err := fmt.Fprintf(p, "%s\r\n", enc[:76]); err != nil {
			return err
		}
		enc = enc[76:]
	}
	_, err = fmt.Fprintf(p, "%s\r\n", enc)
	return err
}

// addressHeader writes an address for a header. net/mail's String
// Q-encodes a non-ASCII name, which its own parser cannot read back when
// the name holds a backslash; B-encoding has no such case.
func addressHeader(a *mail.Address) string {
	for _, r := range a.Name {
		if r >= utf8.RuneSelf {
			return mime.BEncoding.Encode("utf-8", a.Name) + " <" + a.Address + ">"
		}
	}
	return a.String()
}

// headerText drops control characters from a phrase that goes into a
// header (and invalid UTF-8): they have no place in a name, and some
// make it unreadable.
func headerText(s string) string {
	return strings.TrimSpace(strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(s, "\uFFFD")))
}

func messageID(from string) (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("imip: message id: %w", err)
	}
	domain := "oneonone.invalid"
	if _, d, ok := strings.Cut(from, "@"); ok && d != "" {
		domain = d
	}
	return "<" + hex.EncodeToString(b[:]) + "@" + domain + ">", nil
}

// subject is "1on1: Aiko / Ren" (the event's summary, which icsfeed
// makes of the two names), with what happened.
func subject(method Method, ev calendar.Event) string {
	s := strings.TrimSpace(ev.Summary)
	if !strings.HasPrefix(s, "1on1:") {
		s = strings.TrimSpace("1on1: " + s)
	}
	if method == MethodCancel {
		s += " (cancelled / 中止)"
	}
	return s
}

// body is the short text part: what, when, where — never agenda or notes.
func body(method Method, ev calendar.Event) string {
	var b strings.Builder
	when := ev.Start.Format("Mon 2006-01-02 15:04") + " (" + ev.Start.Location().String() + ")"
	minutes := int((ev.Duration + time.Minute - 1) / time.Minute)
	if minutes <= 0 {
		minutes = int(calendar.DefaultDuration / time.Minute)
	}
	who := ev.Organizer.Name
	if who == "" {
		who = ev.Organizer.Email
	}
	switch method {
	case MethodCancel:
		fmt.Fprintf(&b, "%s has ended this recurring 1on1; it has been removed from the calendar.\n", who)
		b.WriteString("\n")
		fmt.Fprintf(&b, "%s さんとの定期 1on1 は終了し、カレンダーから削除されました。\n", who)
	default:
		recurring := ""
		if ev.RRule != "" {
			recurring = ", recurring"
		}
		fmt.Fprintf(&b, "%s invites you to a 1on1.\n", who)
		fmt.Fprintf(&b, "First: %s, %d min%s.\n", when, minutes, recurring)
		if ev.URL != "" {
			fmt.Fprintf(&b, "Room: %s\n", ev.URL)
		}
		b.WriteString("Open the attached invitation to add it to your calendar or to answer.\n\n")
		fmt.Fprintf(&b, "%s さんから 1on1 の招待です。\n", who)
		fmt.Fprintf(&b, "初回: %s、%d 分\n", when, minutes)
		if ev.URL != "" {
			fmt.Fprintf(&b, "ルーム: %s\n", ev.URL)
		}
		b.WriteString("添付の招待状からカレンダーに追加・返信できます。\n")
	}
	return b.String()
}
