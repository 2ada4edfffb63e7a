package remind_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/oneonone/oneonone/agenda"
	"github.com/oneonone/oneonone/agenda/remind"
	"github.com/oneonone/oneonone/calendar"
	"github.com/oneonone/oneonone/calendar/imip/smtptest"
	"github.com/oneonone/oneonone/identity"
	"github.com/oneonone/oneonone/store"
)

// body decodes a received message's text (quoted-printable or not).
func body(t *testing.T, raw []byte) (subject, text string) {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	subject, _ = new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
	var r io.Reader = m.Body
	if strings.EqualFold(m.Header.Get("Content-Transfer-Encoding"), "quoted-printable") {
		r = quotedprintable.NewReader(m.Body)
	}
	b, _ := io.ReadAll(r)
	return subject, string(b)
}

func TestRemindersEndToEnd(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "oneonone.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	se := calendar.Series{ID: calendar.NewSeriesID(), Manager: calendar.Person{Email: "aiko@example.com", Name: "Aiko"},
		Report: calendar.Person{Email: "ren@example.com", Name: "Ren"}, Timezone: "Asia/Tokyo", Cadence: calendar.CadenceWeekly,
		Duration: 30 * time.Minute, Team: "platform", State: calendar.StateActive}
	loc, _ := time.LoadLocation("Asia/Tokyo")
	se.Start = time.Date(2026, 12, 1, 10, 0, 0, 0, loc) // Tuesdays 10:00 JST = 01:00 UTC
	if err := se.Normalize(); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateSeries(ctx, se); err != nil {
		t.Fatal(err)
	}
	ag, err := agenda.New(agenda.Options{Store: st, Series: st, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	first, next := "20261201T010000Z", "20261208T010000Z"
	aiko, ren := agenda.Actor{Email: "aiko@example.com"}, agenda.Actor{Email: "ren@example.com"}
	apply := func(a agenda.Actor, key string, op agenda.Op) {
		if _, err := ag.Apply(ctx, a, se.ID, key, op); err != nil {
			t.Fatal(err)
		}
	}
	apply(ren, first, agenda.Op{ID: "t1", Kind: agenda.OpAdd, Add: &agenda.NewItem{Kind: agenda.KindTopic, Text: "TOPIC-SECRET career path"}})
	apply(aiko, first, agenda.Op{ID: "n1", Kind: agenda.OpAdd, Add: &agenda.NewItem{Kind: agenda.KindNote, Text: "NOTE-SECRET shared"}})
	apply(aiko, first, agenda.Op{ID: "p1", Kind: agenda.OpAdd, Add: &agenda.NewItem{Kind: agenda.KindPrivateNote, Text: "PRIVATE-SECRET"}})
	apply(aiko, first, agenda.Op{ID: "a1", Kind: agenda.OpAdd, Add: &agenda.NewItem{Kind: agenda.KindAction, Text: "draft the migration plan", Owner: "ren@example.com", Due: "2026-12-08"}})

	key := make([]byte, 32)
	rand.Read(key)
	id, err := identity.New(ctx, identity.Options{Store: st, Secret: key, PublicURL: "https://1on1.example.com", Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(id.Close)
	relay := smtptest.Start(t, smtptest.Config{})
	mailer := &identity.SMTPMailer{Host: relay.Host, Port: relay.Port, From: "1on1 <oneonone@example.com>"}
	r := remind.New(remind.Options{Store: st, Agenda: ag, Mailer: mailer, PersonalLink: id.PersonalLink,
		Before: 24 * time.Hour, Now: clock})

	// 2026-12-07 12:00 UTC: the 8 Dec 01:00 UTC occurrence is 13 h away
	// (prep due), the 1 Dec one ended six days ago (past the summary window).
	n, err := r.Pass(ctx)
	if err != nil || n != 2 {
		t.Fatalf("first pass: %d, %v", n, err)
	}
	if n, _ := r.Pass(ctx); n != 0 {
		t.Fatalf("second pass sent %d again", n)
	}
	msgs := relay.Messages()
	if len(msgs) != 2 {
		t.Fatalf("%d messages", len(msgs))
	}
	for _, m := range msgs {
		subject, text := body(t, m.Data)
		if !strings.Contains(subject, "prepare the agenda") || !strings.Contains(text, "draft the migration plan") ||
			!strings.Contains(text, "https://1on1.example.com/home/series/"+se.ID+"/occurrences/"+next+"?t=") {
			t.Errorf("prep to %v: %q\n%s", m.To, subject, text)
		}
		for _, secret := range []string{"TOPIC-SECRET", "NOTE-SECRET", "PRIVATE-SECRET"} {
			if strings.Contains(string(m.Data), secret) || strings.Contains(text, secret) {
				t.Errorf("prep to %v carries %s", m.To, secret)
			}
		}
	}
	// The link signs its person in on the agenda page.
	_, text := body(t, msgs[0].Data)
	if !strings.Contains(text, "?t=") {
		t.Fatal("no personal link")
	}

	// After the occurrence of 8 Dec: its summary carries the action items
	// (carried in, and one added that day), never notes or topics.
	now = time.Date(2026, 12, 8, 2, 0, 0, 0, time.UTC)
	apply(ren, next, agenda.Op{ID: "t2", Kind: agenda.OpAdd, Add: &agenda.NewItem{Kind: agenda.KindTopic, Text: "TOPIC-SECRET 2"}})
	apply(ren, next, agenda.Op{ID: "a2", Kind: agenda.OpAdd, Add: &agenda.NewItem{Kind: agenda.KindAction, Text: "book the training", Owner: "aiko@example.com"}})
	apply(ren, next, agenda.Op{ID: "c1", Kind: agenda.OpCheck, Item: findAction(t, ag, se.ID, next, "draft the migration plan"), Value: "true"})
	n, err = r.Pass(ctx)
	if err != nil || n != 2 {
		t.Fatalf("summary pass: %d, %v", n, err)
	}
	msgs = relay.Messages()[2:]
	for _, m := range msgs {
		subject, text := body(t, m.Data)
		if !strings.Contains(subject, "action items") || !strings.Contains(text, "[x] draft the migration plan") ||
			!strings.Contains(text, "[ ] book the training — Aiko") {
			t.Errorf("summary to %v: %q\n%s", m.To, subject, text)
		}
		for _, secret := range []string{"TOPIC-SECRET", "NOTE-SECRET", "PRIVATE-SECRET"} {
			if strings.Contains(text, secret) {
				t.Errorf("summary to %v carries %s", m.To, secret)
			}
		}
	}
	if n, _ := r.Pass(ctx); n != 0 {
		t.Fatalf("summary sent again: %d", n)
	}

	// A relay that fails: the claim is released and the next pass sends.
	now = time.Date(2026, 12, 14, 12, 0, 0, 0, time.UTC)
	relay.FailNext(1)
	if _, err := r.Pass(ctx); err != nil {
		t.Fatalf("pass: %v", err)
	}
	before := len(relay.Messages())
	if n, _ := r.Pass(ctx); n != 2 || len(relay.Messages()) != before+2 {
		t.Fatalf("retry after a failed send: %d (%d → %d messages)", n, before, len(relay.Messages()))
	}
}

func findAction(t *testing.T, ag *agenda.Service, seriesID, key, text string) string {
	t.Helper()
	a, err := ag.List(context.Background(), agenda.Actor{Email: "ren@example.com"}, seriesID, key)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range a.Items {
		if it.Text == text {
			return it.ID
		}
	}
	t.Fatalf("no item %q", text)
	return ""
}
