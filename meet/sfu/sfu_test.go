package sfu

import (
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"

	"github.com/oneonone/oneonone/meet/signal"
)

func TestTwoParticipantsExchangeMedia(t *testing.T) {
	h := newHarness(t, nil)
	a := h.join("r1", RoleManager, 1, clientOpts{})
	if j := a.waitMsg(signal.TypeJoined, 5*time.Second).Data.(*signal.Joined); j.Role != RoleManager || j.Peer != "" {
		t.Fatalf("joined %+v", j)
	}
	b := h.join("r1", RoleReport, 2, clientOpts{})
	if j := b.waitMsg(signal.TypeJoined, 5*time.Second).Data.(*signal.Joined); j.Peer != RoleManager {
		t.Fatalf("joined %+v, want the manager as peer", j)
	}
	a.waitMsg(signal.TypePeerJoined, 5*time.Second)
	a.waitMedia(2, 25, 10*time.Second)
	b.waitMedia(1, 25, 10*time.Second)
	// The cheaper SRTP profile is the one in use.
	transports := 0
	for _, st := range a.pc.GetStats() {
		if ts, ok := st.(webrtc.TransportStats); ok {
			transports++
			if ts.SRTPCipher != "SRTP_AEAD_AES_128_GCM" {
				t.Fatalf("SRTP profile %q, want SRTP_AEAD_AES_128_GCM", ts.SRTPCipher)
			}
		}
	}
	if transports != 1 {
		t.Fatalf("%d transports, want one bundled transport", transports)
	}
	if st := h.srv.Stats(); st.RoomsActive != 1 || st.Participants != 2 {
		t.Fatalf("stats %+v", st)
	}
	if a.offers.Load() != 1 || b.offers.Load() != 1 {
		t.Fatalf("offers: manager %d report %d, want one each", a.offers.Load(), b.offers.Load())
	}
	b.leave()
	a.waitMsg(signal.TypePeerLeft, 5*time.Second)
	a.leave()
	if err := waitFor(5*time.Second, func() bool { return h.srv.Stats() == Stats{} }); err != nil {
		t.Fatalf("stats after leaving: %+v", h.srv.Stats())
	}
	want := []string{"join r1 manager", "join r1 report", "leave r1 report", "leave r1 manager"}
	if got := h.eventsSnapshot(); len(got) != 4 || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] || got[3] != want[3] {
		t.Fatalf("attendance %v, want %v", got, want)
	}
}

// The race a mature SFU was seen to lose: one participant publishes at the
// very moment the other joins. The joiner must get the stream every time.
func TestPublishWhileOtherJoins(t *testing.T) {
	h := newHarness(t, nil)
	for i := range 20 {
		room := "race" + string(rune('a'+i))
		var a, b *client
		done := make(chan struct{})
		go func() {
			a = h.dial(room, RoleManager, 1, clientOpts{})
			close(done)
		}()
		b = h.dial(room, RoleReport, 2, clientOpts{})
		<-done
		// Both say join at the same moment; both already publish.
		go a.conn.Send(signal.Message{Type: signal.TypeJoin})
		b.conn.Send(signal.Message{Type: signal.TypeJoin})
		b.waitMedia(1, 10, 10*time.Second)
		a.waitMedia(2, 10, 10*time.Second)
		a.leave()
		b.leave()
	}
}

// A reload: a new connection for the same slot replaces the old one. The
// old gets "bye replaced", the other side keeps its session (no new offer)
// and gets the new connection's media, and attendance sees one stay.
func TestRejoinReplacesAndRenegotiates(t *testing.T) {
	h := newHarness(t, nil)
	a := h.join("r", RoleManager, 1, clientOpts{})
	a.waitMsg(signal.TypeJoined, 5*time.Second) // attendance order below
	b := h.join("r", RoleReport, 2, clientOpts{})
	a.waitMedia(2, 10, 10*time.Second)
	b.waitMedia(1, 10, 10*time.Second)

	b2 := h.join("r", RoleReport, 3, clientOpts{})
	if bye := b.waitMsg(signal.TypeBye, 5*time.Second).Data.(*signal.Bye); bye.Reason != "replaced" {
		t.Fatalf("old connection got bye %q, want replaced", bye.Reason)
	}
	a.waitMedia(3, 10, 10*time.Second)
	b2.waitMedia(1, 10, 10*time.Second)
	if n := a.offers.Load(); n != 1 {
		t.Fatalf("the manager got %d offers, want 1: a reload of the other side must not renegotiate", n)
	}

	// The report leaves for good, then comes back: the manager's
	// downstream continues from the new source.
	b2.leave()
	a.waitMsg(signal.TypePeerLeft, 5*time.Second)
	b3 := h.join("r", RoleReport, 4, clientOpts{})
	a.waitMsg(signal.TypePeerJoined, 5*time.Second)
	a.waitMedia(4, 10, 10*time.Second)
	b3.waitMedia(1, 10, 10*time.Second)

	// An ICE restart asked by the client renegotiates its own session only.
	b3.conn.Send(signal.Message{Type: signal.TypeICERestart})
	if err := waitFor(5*time.Second, func() bool { return b3.offers.Load() == 2 }); err != nil {
		t.Fatalf("no offer after ice-restart: %v", err)
	}
	b3.waitMedia(1, 10, 10*time.Second)
	a.waitMedia(4, 10, 10*time.Second)

	want := []string{"join r manager", "join r report", "leave r report", "join r report"}
	got := h.eventsSnapshot()
	if len(got) != len(want) {
		t.Fatalf("attendance %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("attendance %v, want %v", got, want)
		}
	}
}

// A client that stops answering (no pongs, no media) is dropped; the other
// participant keeps its session and gets the next joiner's media.
func TestUnresponsiveClientDropped(t *testing.T) {
	h := newHarness(t, nil)
	a := h.join("r", RoleManager, 1, clientOpts{})
	b := h.join("r", RoleReport, 2, clientOpts{})
	a.waitMedia(2, 10, 10*time.Second)
	b.freeze()
	a.waitMsg(signal.TypePeerLeft, 5*time.Second)
	if st := h.srv.Stats(); st.Participants != 1 {
		t.Fatalf("stats %+v, want the frozen client gone", st)
	}
	b2 := h.join("r", RoleReport, 3, clientOpts{})
	a.waitMedia(3, 10, 10*time.Second)
	b2.waitMedia(1, 10, 10*time.Second)
	if n := a.offers.Load(); n != 1 {
		t.Fatalf("the manager got %d offers, want 1", n)
	}
}

// Garbage from one participant earns it an error; the room, and the other
// participant's media, are unaffected.
func TestGarbageRefused(t *testing.T) {
	h := newHarness(t, nil)
	a := h.join("r", RoleManager, 1, clientOpts{})
	b := h.dial("r", RoleReport, 2, clientOpts{})
	b.badAnswer.Store(true)
	b.conn.Send(signal.Message{Type: signal.TypeJoin})
	e := b.waitMsg(signal.TypeError, 5*time.Second).Data.(*signal.ProtocolError)
	if e.Code != signal.CodeBadSDP {
		t.Fatalf("got error %+v, want bad_sdp", e)
	}
	// A fresh offer follows, answered properly this time.
	a.waitMedia(2, 10, 10*time.Second)
	b.waitMedia(1, 10, 10*time.Second)

	aBefore := a.recv[1].Load()
	for _, tt := range []struct {
		name string
		msg  signal.Message
		code string
	}{
		{"oversized", signal.Message{Type: signal.TypeBye, Data: &signal.Bye{Reason: strings.Repeat("x", 70<<10)}}, signal.CodeTooLarge},
		{"offer from a client", signal.Message{Type: signal.TypeOffer, Data: &signal.SessionDescription{SDP: "v=0"}}, signal.CodeBadState},
		{"answer without offer", signal.Message{Type: signal.TypeAnswer, Data: &signal.SessionDescription{SDP: "v=0"}}, signal.CodeBadState},
		{"second join", signal.Message{Type: signal.TypeJoin}, signal.CodeBadState},
		{"garbage candidate", signal.Message{Type: signal.TypeCandidate, Data: &signal.Candidate{Candidate: "candidate:nonsense"}}, signal.CodeBadData},
	} {
		t.Log(tt.name)
		if err := b.conn.Send(tt.msg); err != nil {
			t.Fatal(err)
		}
		if e := b.waitMsg(signal.TypeError, 5*time.Second).Data.(*signal.ProtocolError); e.Code != tt.code {
			t.Fatalf("%s: got %+v, want %s", tt.name, e, tt.code)
		}
	}
	a.waitMedia(2, 10, 10*time.Second)
	b.waitMedia(1, 10, 10*time.Second)
	if a.recv[1].Load() <= aBefore {
		t.Fatal("the other participant's media stopped")
	}
	if st := h.srv.Stats(); st.Participants != 2 {
		t.Fatalf("stats %+v", st)
	}
}

// Feedback: a subscriber's NACK is answered from the server's cache (the
// publisher never sees it), its PLI reaches the publisher, a keyframe is
// requested when a subscriber joins, and REMB reaches the publisher.
func TestFeedback(t *testing.T) {
	h := newHarness(t, nil)
	a := h.join("r", RoleManager, 1, clientOpts{})
	a.waitMsg(signal.TypeJoined, 5*time.Second)
	time.Sleep(300 * time.Millisecond) // let the PLI rate limit pass
	plisBefore := a.plis.Load()
	b := h.join("r", RoleReport, 2, clientOpts{noReplay: true})
	b.waitMedia(1, 20, 10*time.Second)
	if err := waitFor(3*time.Second, func() bool { return a.plis.Load() > plisBefore }); err != nil {
		t.Fatal("no keyframe request to the publisher when the subscriber joined")
	}

	// NACK one received packet: it must arrive a second time.
	seq := uint16(b.lastSeq.Load())
	ssrc := b.videoSSRC.Load()
	nacksBefore := a.nacksIn.Load()
	if err := b.pc.WriteRTCP([]rtcp.Packet{&rtcp.TransportLayerNack{MediaSSRC: ssrc, Nacks: []rtcp.NackPair{{PacketID: seq}}}}); err != nil {
		t.Fatal(err)
	}
	if err := waitFor(3*time.Second, func() bool {
		v, ok := b.seqSeen.Load(seq)
		return ok && v.(*atomic.Int64).Load() >= 2
	}); err != nil {
		t.Fatalf("packet %d not retransmitted: %v", seq, err)
	}
	time.Sleep(200 * time.Millisecond)
	if a.nacksIn.Load() != nacksBefore {
		t.Fatal("the NACK travelled to the publisher instead of being answered from the cache")
	}

	time.Sleep(400 * time.Millisecond)
	plisBefore = a.plis.Load()
	if err := b.pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: ssrc}}); err != nil {
		t.Fatal(err)
	}
	if err := waitFor(3*time.Second, func() bool { return a.plis.Load() > plisBefore }); err != nil {
		t.Fatal("the subscriber's PLI did not reach the publisher")
	}
	if err := waitFor(3*time.Second, func() bool { return a.rembs.Load() > 0 }); err != nil {
		t.Fatal("no bandwidth estimate reached the publisher")
	}
}

// Feedback to a publisher (feedback.go): the server asks for the video
// packets it did not receive, sends receiver reports that count the loss,
// and transport-cc feedback for the browser's estimator.
func TestPublisherFeedback(t *testing.T) {
	h := newHarness(t, nil)
	a := h.join("r", RoleManager, 1, clientOpts{dropEvery: 30})
	a.waitMsg(signal.TypeJoined, 5*time.Second)
	if err := waitFor(10*time.Second, func() bool { return a.nacksIn.Load() > 0 }); err != nil {
		t.Fatal("no NACK reached the publisher for the missing packets")
	}
	if err := waitFor(5*time.Second, func() bool { return a.twccIn.Load() > 0 }); err != nil {
		t.Fatal("no transport-cc feedback reached the publisher")
	}
	if err := waitFor(5*time.Second, func() bool { return a.maxLoss.Load() > 0 }); err != nil {
		t.Fatalf("%d receiver reports, none counts the loss", a.rrsIn.Load())
	}
}

// Media over ICE-TCP only, for networks that block UDP.
func TestICETCP(t *testing.T) {
	h := newHarness(t, nil)
	a := h.join("r", RoleManager, 1, clientOpts{network: webrtc.NetworkTypeTCP4})
	b := h.join("r", RoleReport, 2, clientOpts{network: webrtc.NetworkTypeTCP4})
	a.waitMedia(2, 10, 10*time.Second)
	b.waitMedia(1, 10, 10*time.Second)
}

// Close says bye to everyone and ends their sessions.
func TestServerClose(t *testing.T) {
	h := newHarness(t, nil)
	a := h.join("r", RoleManager, 1, clientOpts{})
	b := h.join("r", RoleReport, 2, clientOpts{})
	a.waitMedia(2, 5, 10*time.Second)
	h.srv.Close()
	for _, c := range []*client{a, b} {
		if bye := c.waitMsg(signal.TypeBye, 5*time.Second).Data.(*signal.Bye); bye.Reason != leaveServerClosed {
			t.Fatalf("%s got bye %q", c.role, bye.Reason)
		}
	}
	if st := h.srv.Stats(); st != (Stats{}) {
		t.Fatalf("stats after close %+v", st)
	}
	c := h.dial("r", RoleManager, 1, clientOpts{noPublish: true})
	if bye := c.waitMsg(signal.TypeBye, 5*time.Second).Data.(*signal.Bye); bye.Reason != leaveServerClosed {
		t.Fatalf("join after close got bye %q", bye.Reason)
	}
}

// media.public_ip replaces the host address in the offer's candidates.
func TestPublicIPAnnounced(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.PublicIP = "203.0.113.7" })
	a := h.join("r", RoleManager, 1, clientOpts{noPublish: true})
	if err := waitFor(5*time.Second, func() bool { return a.offers.Load() > 0 }); err != nil {
		t.Fatal(err)
	}
	sdp, _ := a.lastOffer.Load().(string)
	if !strings.Contains(sdp, "203.0.113.7") || strings.Contains(sdp, "127.0.0.1") {
		t.Fatalf("offer does not announce only the public IP:\n%s", sdp)
	}
}

type agendaNote struct {
	Text string `json:"text"`
}

// agenda.* messages reach OnMessage, and Send reaches a participant: the
// path the agenda's live updates will take.
func TestAgendaMessages(t *testing.T) {
	got := make(chan signal.Message, 1)
	h := newHarness(t, func(c *Config) {
		c.OnMessage = func(room, role string, m signal.Message) {
			if room == "r" && role == RoleReport {
				got <- m
			}
		}
	})
	h.codec = signal.NewCodec()
	if err := h.codec.Register("agenda.note", func() any { return new(agendaNote) }); err != nil {
		t.Fatal(err)
	}
	b := h.join("r", RoleReport, 2, clientOpts{noPublish: true, codec: h.codec})
	b.waitMsg(signal.TypeJoined, 5*time.Second)
	b.conn.Send(signal.Message{Type: "agenda.note", Data: &agendaNote{Text: "career"}})
	select {
	case m := <-got:
		if n := m.Data.(*agendaNote); n.Text != "career" {
			t.Fatalf("got %+v", n)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("agenda message not delivered")
	}
	if err := h.srv.Send("r", RoleReport, signal.Message{Type: "agenda.note", Data: &agendaNote{Text: "wellbeing"}}); err != nil {
		t.Fatal(err)
	}
	if n := b.waitMsg("agenda.note", 5*time.Second).Data.(*agendaNote); n.Text != "wellbeing" {
		t.Fatalf("got %+v", n)
	}
}

// media-state reaches OnMessage with the sender's room and role: the SFU
// only routes it, the room relays it.
func TestMediaStateToOnMessage(t *testing.T) {
	type got struct {
		room, role string
		m          signal.Message
	}
	ch := make(chan got, 1)
	h := newHarness(t, func(c *Config) {
		c.OnMessage = func(room, role string, m signal.Message) { ch <- got{room, role, m} }
	})
	a := h.join("r", RoleManager, 1, clientOpts{noPublish: true})
	a.waitMsg(signal.TypeJoined, 5*time.Second)
	a.conn.Send(signal.Message{Type: signal.TypeMediaState, Data: &signal.MediaState{Camera: false, Microphone: true}})
	select {
	case g := <-ch:
		st, ok := g.m.Data.(*signal.MediaState)
		if g.room != "r" || g.role != RoleManager || !ok || st.Camera || !st.Microphone {
			t.Fatalf("OnMessage got %s %s %+v", g.room, g.role, g.m.Data)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("media-state did not reach OnMessage")
	}
}

// Every connection shares one DTLS certificate until it is a week old;
// then new connections get a fresh one.
func TestSharedCertificateRotates(t *testing.T) {
	var s Server
	a, err := s.certificate()
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.certificate()
	if err != nil {
		t.Fatal(err)
	}
	fa, _ := a.GetFingerprints()
	fb, _ := b.GetFingerprints()
	if len(fa) == 0 || fa[0] != fb[0] {
		t.Fatalf("two connections got different certificates: %v, %v", fa, fb)
	}
	s.certAt = s.certAt.Add(-certificateLifetime)
	c, err := s.certificate()
	if err != nil {
		t.Fatal(err)
	}
	fc, _ := c.GetFingerprints()
	if fc[0] == fa[0] {
		t.Fatal("the certificate was not replaced after its lifetime")
	}
	if exp := c.Expires(); time.Until(exp) < 2*certificateLifetime {
		t.Fatalf("a fresh certificate expires %v, too soon for connections started with it", exp)
	}
}
