package imip_test

import (
	"context"
	"crypto/tls"
	"testing"
	"time"

	"github.com/emersion/go-ical"

	"github.com/oneonone/oneonone/calendar"
	"github.com/oneonone/oneonone/calendar/imip"
	"github.com/oneonone/oneonone/calendar/imip/smtptest"
	"github.com/oneonone/oneonone/calendar/synctest"
	"github.com/oneonone/oneonone/internal/davtest"
)

// radicaleWithMail is the reconciler on a real Radicale, notifying
// through an in-process relay with STARTTLS and AUTH, as the daemon wires
// a CalDAV calendar.
func radicaleWithMail(t *testing.T) (*synctest.Env, *smtptest.Server) {
	t.Helper()
	env := synctest.NewEnv(t, synctest.CalDAV(t, davtest.Radicale(t)))
	relay := smtptest.Start(t, smtptest.Config{StartTLS: true, Username: relayUser, Password: relayPassword})
	sender := newSender(t, imip.SenderConfig{Host: relay.Host, Port: relay.Port, Username: relayUser,
		Password: relayPassword, StartTLS: true, TLSConfig: &tls.Config{RootCAs: relay.RootCAs}})
	n := imip.NewNotifier(sender, nil, func() time.Time { return synctest.Now })
	env.Rec = env.Reconciler(func(c *calendar.ReconcilerConfig) { c.Notifier = n })
	return env, relay
}

// mailed is one received notice, taken apart.
type mailed struct {
	method string
	uid    string
	seq    int
	start  *ical.Prop
	to     string
}

func received(t *testing.T, relay *smtptest.Server) []mailed {
	t.Helper()
	var out []mailed
	for _, m := range relay.Messages() {
		p := parseMail(t, m.Data)
		ve := p.event(t)
		out = append(out, mailed{method: p.method(), uid: propValue(ve, ical.PropUID), seq: sequence(t, ve),
			start: ve.Props.Get(ical.PropDateTimeStart), to: m.To[0]})
	}
	return out
}

func TestReconcilerMailsAttendeesOnRadicale(t *testing.T) {
	env, relay := radicaleWithMail(t)
	s := env.AddSeries("s_mail", "aiko@example.com", "ren@example.com")
	uid := calendar.EventUID(s.ID)
	expect := func(n int) []mailed {
		t.Helper()
		got := received(t, relay)
		if len(got) != n {
			t.Fatalf("%d messages, want %d: %+v", len(got), n, got)
		}
		return got
	}

	env.Sync()
	got := expect(1)
	if m := got[0]; m.method != "REQUEST" || m.uid != uid || m.to != "ren@example.com" ||
		m.start.Params.Get(ical.PropTimezoneID) != "Asia/Tokyo" || m.start.Value != "20261201T100000" {
		t.Fatalf("first notice = %+v %+v", m, m.start)
	}

	env.Sync() // nothing changed: nothing sent
	expect(1)

	env.Update(s.ID, func(s *calendar.Series) { s.Start = s.Start.Add(time.Hour) })
	env.Sync()
	got = expect(2)
	if m := got[1]; m.method != "REQUEST" || m.uid != uid || m.seq <= got[0].seq || m.start.Value != "20261201T110000" {
		t.Fatalf("after the change: %+v %+v (first sequence %d)", m, m.start, got[0].seq)
	}

	env.Update(s.ID, func(s *calendar.Series) { s.State = calendar.StatePaused })
	env.Sync()
	got = expect(3)
	if m := got[2]; m.method != "CANCEL" || m.uid != uid || m.seq <= got[1].seq {
		t.Fatalf("after pause: %+v (previous sequence %d)", m, got[1].seq)
	}
	if n := env.Count(s.ID); n != 0 {
		t.Errorf("%d events left after pause", n)
	}
	env.Sync()
	expect(3)

	env.Update(s.ID, func(s *calendar.Series) { s.State = calendar.StateActive })
	env.Sync()
	got = expect(4)
	if m := got[3]; m.method != "REQUEST" || m.seq <= got[2].seq {
		t.Fatalf("after resume: %+v (cancel sequence %d): a client would keep the cancel", m, got[2].seq)
	}

	if err := env.Store.DeleteSeries(context.Background(), s.ID); err != nil {
		t.Fatal(err)
	}
	env.Sync()
	got = expect(5)
	if m := got[4]; m.method != "CANCEL" || m.seq <= got[3].seq {
		t.Fatalf("after removal: %+v", m)
	}
	env.Sync()
	expect(5)
}

// A relay that fails once: the round goes on, the invitation goes out on
// the next round, exactly once.
func TestReconcilerRetriesFailedMail(t *testing.T) {
	env, relay := radicaleWithMail(t)
	s := env.AddSeries("s_retry", "aiko@example.com", "ren@example.com")
	relay.FailNext(1)
	env.Sync()
	if n := len(relay.Messages()); n != 0 {
		t.Fatalf("%d messages while the relay fails", n)
	}
	if n := env.Count(s.ID); n != 1 {
		t.Fatalf("%d events: a mail failure must not hold the calendar back", n)
	}
	env.Sync()
	env.Sync()
	got := received(t, relay)
	if len(got) != 1 || got[0].method != "REQUEST" {
		t.Fatalf("got %+v, want one REQUEST", got)
	}

	// A CANCEL that cannot be sent keeps the event until it can.
	env.Update(s.ID, func(s *calendar.Series) { s.State = calendar.StatePaused })
	relay.FailNext(1)
	env.Sync()
	if n := env.Count(s.ID); n != 1 {
		t.Fatalf("%d events: deleted before its CANCEL went out", n)
	}
	env.Sync()
	env.Sync()
	got = received(t, relay)
	if len(got) != 2 || got[1].method != "CANCEL" || got[1].seq <= got[0].seq {
		t.Fatalf("got %+v, want REQUEST then one CANCEL", got)
	}
	if n := env.Count(s.ID); n != 0 {
		t.Errorf("%d events after the CANCEL", n)
	}
}

// Without a Notifier (Google calendars, or no relay configured) the
// reconciler works as before and mails nobody.
func TestReconcilerWithoutNotifierMailsNobody(t *testing.T) {
	env := synctest.NewEnv(t, synctest.CalDAV(t, davtest.Radicale(t)))
	relay := smtptest.Start(t, smtptest.Config{})
	env.AddSeries("s_quiet", "aiko@example.com", "ren@example.com")
	env.Sync()
	env.Update("s_quiet", func(s *calendar.Series) { s.State = calendar.StatePaused })
	env.Sync()
	if n := len(relay.Messages()); n != 0 {
		t.Fatalf("%d messages", n)
	}
}

// A change someone makes in their calendar app is theirs to announce:
// adopting it sends nothing.
func TestReconcilerDoesNotMailTheirChanges(t *testing.T) {
	env, relay := radicaleWithMail(t)
	s := env.AddSeries("s_theirs", "aiko@example.com", "ren@example.com")
	env.Sync()
	if err := env.B.Remote.MoveSeries(context.Background(), calendar.EventUID(s.ID), s.Start.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	env.Sync()
	env.Sync()
	if got := env.Series(s.ID); !got.Start.Equal(s.Start.Add(2 * time.Hour)) {
		t.Fatalf("start = %v, their change not adopted", got.Start)
	}
	if got := received(t, relay); len(got) != 1 {
		t.Fatalf("%d messages, want only the first invitation: %+v", len(got), got)
	}
}
