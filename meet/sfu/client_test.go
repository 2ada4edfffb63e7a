package sfu

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/oneonone/oneonone/meet/signal"
)

// harness is a media server behind a real WebSocket endpoint:
// /ws?room=…&role=… joins directly (identity checks are the caller's).
type harness struct {
	t    testing.TB
	srv  *Server
	http *httptest.Server
	url  string

	codec *signal.Codec // nil: the default types only

	mu     sync.Mutex
	events []string // "join room role", "leave room role"
}

func newHarness(t testing.TB, mod func(*Config)) *harness {
	t.Helper()
	h := &harness{t: t}
	cfg := Config{ListenIP: "127.0.0.1", AnswerTimeout: 3 * time.Second,
		Logger: slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	cfg.OnJoin = func(room, role string, _ time.Time) { h.record("join " + room + " " + role) }
	cfg.OnLeave = func(room, role string, _ time.Time) { h.record("leave " + room + " " + role) }
	if mod != nil {
		mod(&cfg)
	}
	srv, err := NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h.srv = srv
	h.http = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, err := signal.Accept(w, r, signal.Options{Codec: h.codec, PingInterval: 200 * time.Millisecond, PingTimeout: 400 * time.Millisecond}, nil)
		if err != nil {
			return
		}
		srv.Join(r.Context(), r.URL.Query().Get("room"), r.URL.Query().Get("role"), conn)
	}))
	h.url = "ws" + strings.TrimPrefix(h.http.URL, "http") + "/ws"
	t.Cleanup(h.close)
	return h
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(b)))
	return len(b), nil
}

func (h *harness) close() {
	h.srv.Close()
	h.http.Close()
}

func (h *harness) record(e string) {
	h.mu.Lock()
	h.events = append(h.events, e)
	h.mu.Unlock()
}

func (h *harness) eventsSnapshot() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.events...)
}

// client is a pion participant that publishes Opus-sized audio at 50
// packets/s and VP8-sized video at 150 packets/s, and counts what it
// receives. Each payload starts with the publisher's marker byte, so a
// receiver can tell whose media it got.
type client struct {
	t      testing.TB
	role   string
	marker byte
	conn   *signal.WSConn
	pc     *webrtc.PeerConnection
	audio  *webrtc.TrackLocalStaticRTP
	video  *webrtc.TrackLocalStaticRTP

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	recv      [2]atomic.Int64 // audio, video packets of the peer
	lastMark  [2]atomic.Int32
	offers    atomic.Int64
	plis      atomic.Int64 // keyframe requests the server sent us
	rembs     atomic.Int64
	nacksIn   atomic.Int64 // NACKs that reached us as a publisher
	rrsIn     atomic.Int64 // receiver reports on our video
	maxLoss   atomic.Int64 // highest fraction lost in them (/256)
	twccIn    atomic.Int64 // transport-cc feedback packets
	dropEvery uint16       // skip every n-th video sequence number when publishing
	videoSSRC atomic.Uint32
	seqSeen   sync.Map // uint16 → *atomic.Int64, received video sequence numbers
	lastSeq   atomic.Int64

	net       *freezableDialer
	lastOffer atomic.Value        // string
	msgs      chan signal.Message // everything but offers
	frozen    atomic.Bool
	badAnswer atomic.Bool // answer the next offer with garbage
	published atomic.Bool
}

type clientOpts struct {
	network   webrtc.NetworkType
	noPublish bool
	noReplay  bool // disable SRTP replay protection to see retransmissions
	codec     *signal.Codec
	dropEvery uint16 // publish with a gap every n video packets
}

func (h *harness) join(room, role string, marker byte, o clientOpts) *client {
	h.t.Helper()
	c := h.dial(room, role, marker, o)
	if err := c.conn.Send(signal.Message{Type: signal.TypeJoin}); err != nil {
		h.t.Fatal(err)
	}
	return c
}

func (h *harness) dial(room, role string, marker byte, o clientOpts) *client {
	t := h.t
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	c := &client{t: t, role: role, marker: marker, ctx: ctx, cancel: cancel, msgs: make(chan signal.Message, 256), dropEvery: o.dropEvery}
	c.net = &freezableDialer{}
	conn, err := signal.Dial(ctx, h.url+"?room="+room+"&role="+role, signal.Options{Codec: o.codec},
		&websocket.DialOptions{HTTPClient: &http.Client{Transport: &http.Transport{DialContext: c.net.DialContext}}})
	if err != nil {
		t.Fatal(err)
	}
	c.conn = conn
	m := &webrtc.MediaEngine{}
	if err := m.RegisterDefaultCodecs(); err != nil {
		t.Fatal(err)
	}
	ir := &interceptor.Registry{}
	if err := webrtc.RegisterDefaultInterceptors(m, ir); err != nil {
		t.Fatal(err)
	}
	// Number outgoing packets for transport-cc, as browsers do.
	if err := webrtc.ConfigureTWCCHeaderExtensionSender(m, ir); err != nil {
		t.Fatal(err)
	}
	var se webrtc.SettingEngine
	se.SetIncludeLoopbackCandidate(true)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	if o.network == 0 {
		o.network = webrtc.NetworkTypeUDP4
	}
	se.SetNetworkTypes([]webrtc.NetworkType{o.network})
	se.SetInterfaceFilter(func(name string) bool { return name == "lo" })
	if o.noReplay {
		se.DisableSRTPReplayProtection(true)
	}
	api := webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(se))
	c.pc, err = api.NewPeerConnection(webrtc.Configuration{BundlePolicy: webrtc.BundlePolicyMaxBundle})
	if err != nil {
		t.Fatal(err)
	}
	c.audio, _ = webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "audio", role)
	c.video, _ = webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, "video", role)
	c.pc.OnICECandidate(func(ic *webrtc.ICECandidate) {
		if ic == nil {
			return
		}
		j := ic.ToJSON()
		c.conn.Send(signal.Message{Type: signal.TypeCandidate, Data: &signal.Candidate{Candidate: j.Candidate, SDPMid: j.SDPMid, SDPMLineIndex: j.SDPMLineIndex}})
	})
	c.pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		kind := 0
		if tr.Kind() == webrtc.RTPCodecTypeVideo {
			kind = 1
			c.videoSSRC.Store(uint32(tr.SSRC()))
		}
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			buf := make([]byte, 1500)
			var pkt rtp.Packet
			for {
				n, _, err := tr.Read(buf)
				if err != nil {
					return
				}
				if pkt.Unmarshal(buf[:n]) != nil || len(pkt.Payload) == 0 {
					continue
				}
				if pkt.Header.Extension {
					t.Errorf("forwarded packet carries header extensions %v", pkt.Header.GetExtensionIDs())
				}
				c.lastMark[kind].Store(int32(pkt.Payload[0]))
				c.recv[kind].Add(1)
				if kind == 1 {
					v, _ := c.seqSeen.LoadOrStore(pkt.SequenceNumber, new(atomic.Int64))
					v.(*atomic.Int64).Add(1)
					c.lastSeq.Store(int64(pkt.SequenceNumber))
				}
			}
		}()
	})
	c.wg.Add(1)
	go func() { defer c.wg.Done(); c.readLoop() }()
	if !o.noPublish {
		c.wg.Add(1)
		go func() { defer c.wg.Done(); c.publish() }()
	}
	t.Cleanup(c.close)
	return c
}

func (c *client) readLoop() {
	for {
		if c.frozen.Load() {
			<-c.ctx.Done()
			return
		}
		m, err := c.conn.Receive(c.ctx)
		var pe *signal.ProtocolError
		if errors.As(err, &pe) {
			c.t.Errorf("%s: server sent a bad message: %v", c.role, err)
			continue
		}
		if err != nil {
			close(c.msgs)
			return
		}
		switch m.Type {
		case signal.TypeOffer:
			c.offers.Add(1)
			c.lastOffer.Store(m.Data.(*signal.SessionDescription).SDP)
			if err := c.answer(m); err != nil && c.ctx.Err() == nil {
				c.t.Errorf("%s: answer: %v", c.role, err)
			}
		case signal.TypeCandidate:
			d := m.Data.(*signal.Candidate)
			if d.Candidate != "" {
				c.pc.AddICECandidate(webrtc.ICECandidateInit{Candidate: d.Candidate, SDPMid: d.SDPMid, SDPMLineIndex: d.SDPMLineIndex})
			}
		default:
			select {
			case c.msgs <- m:
			default:
			}
		}
	}
}

func (c *client) answer(m signal.Message) error {
	if err := c.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: m.Data.(*signal.SessionDescription).SDP}); err != nil {
		return err
	}
	if !c.published.Swap(true) {
		// addTrack reuses the offer's receive-only sections, as browsers do.
		for _, tr := range []*webrtc.TrackLocalStaticRTP{c.audio, c.video} {
			s, err := c.pc.AddTrack(tr)
			if err != nil {
				return err
			}
			c.wg.Add(1)
			go func() {
				defer c.wg.Done()
				c.readRTCP(s)
			}()
		}
	}
	ans, err := c.pc.CreateAnswer(nil)
	if err != nil {
		return err
	}
	if err := c.pc.SetLocalDescription(ans); err != nil {
		return err
	}
	sdp := c.pc.LocalDescription().SDP
	if c.badAnswer.Swap(false) {
		sdp = "v=0\r\nthis is not a session description\r\n"
	}
	return c.conn.Send(signal.Message{Type: signal.TypeAnswer, ID: m.ID, Data: &signal.SessionDescription{SDP: sdp}})
}

func (c *client) readRTCP(s *webrtc.RTPSender) {
	buf := make([]byte, 1500)
	for {
		n, _, err := s.Read(buf)
		if err != nil {
			return
		}
		pkts, err := rtcp.Unmarshal(buf[:n])
		if err != nil {
			continue
		}
		for _, p := range pkts {
			switch p := p.(type) {
			case *rtcp.ReceiverReport:
				for _, r := range p.Reports {
					c.rrsIn.Add(1)
					if int64(r.FractionLost) > c.maxLoss.Load() {
						c.maxLoss.Store(int64(r.FractionLost))
					}
				}
			case *rtcp.TransportLayerCC:
				c.twccIn.Add(1)
			case *rtcp.PictureLossIndication:
				c.plis.Add(1)
			case *rtcp.ReceiverEstimatedMaximumBitrate:
				c.rembs.Add(1)
			case *rtcp.TransportLayerNack:
				c.nacksIn.Add(1)
			}
		}
	}
}

// publish sends one audio packet (160 bytes) and three video packets
// (1100 bytes) every 20 ms: 50 and 150 packets per second.
func (c *client) publish() {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	audio := make([]byte, 160)
	video := make([]byte, 1100)
	audio[0], video[0] = c.marker, c.marker
	var aSeq, vSeq uint16
	var aTS, vTS uint32
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-tick.C:
		}
		if c.frozen.Load() {
			continue
		}
		aSeq++
		aTS += 960
		c.audio.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: aSeq, Timestamp: aTS}, Payload: audio})
		vTS += 1800
		for i := range 3 {
			vSeq++
			if c.dropEvery > 0 && vSeq%c.dropEvery == 0 {
				continue // "lost" on the way: never sent
			}
			c.video.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: vSeq, Timestamp: vTS, Marker: i == 2}, Payload: video})
		}
	}
}

// freeze makes the client stop answering anything: no pongs, no media.
func (c *client) freeze() {
	c.frozen.Store(true)
	c.net.freeze()
}

// freezableDialer dials TCP connections whose reads can be stopped, so a
// client can go silent without closing anything, like a crashed laptop.
type freezableDialer struct {
	mu     sync.Mutex
	conns  []*freezableConn
	frozen bool
}

func (d *freezableDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	var nd net.Dialer
	conn, err := nd.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	fc := &freezableConn{Conn: conn, frozen: make(chan struct{}), closed: make(chan struct{})}
	d.mu.Lock()
	d.conns = append(d.conns, fc)
	d.mu.Unlock()
	return fc, nil
}

func (d *freezableDialer) freeze() {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, c := range d.conns {
		c.freezeOnce.Do(func() { close(c.frozen) })
	}
}

type freezableConn struct {
	net.Conn
	freezeOnce, closeOnce sync.Once
	frozen, closed        chan struct{}
}

func (c *freezableConn) Read(b []byte) (int, error) {
	select {
	case <-c.frozen:
		<-c.closed
		return 0, net.ErrClosed
	default:
	}
	return c.Conn.Read(b)
}

func (c *freezableConn) Close() error {
	c.closeOnce.Do(func() { close(c.closed) })
	return c.Conn.Close()
}

func (c *client) leave() {
	c.conn.Send(signal.Message{Type: signal.TypeBye, Data: &signal.Bye{Reason: "leaving"}})
	c.close()
}

func (c *client) close() {
	c.cancel()
	c.conn.Close("")
	c.pc.Close()
	c.wg.Wait()
}

// waitMsg returns the next message of type typ, skipping others.
func (c *client) waitMsg(typ signal.Type, timeout time.Duration) signal.Message {
	c.t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case m, ok := <-c.msgs:
			if !ok {
				c.t.Fatalf("%s: connection closed while waiting for %s", c.role, typ)
			}
			if m.Type == typ {
				return m
			}
		case <-deadline:
			c.t.Fatalf("%s: no %s within %v", c.role, typ, timeout)
		}
	}
}

// waitMedia waits until c has received at least n more packets of both
// kinds from the publisher with marker.
func (c *client) waitMedia(marker byte, n int64, timeout time.Duration) {
	c.t.Helper()
	a0, v0 := c.recv[0].Load(), c.recv[1].Load()
	if err := waitFor(timeout, func() bool {
		return c.recv[0].Load()-a0 >= n && c.recv[1].Load()-v0 >= n &&
			c.lastMark[0].Load() == int32(marker) && c.lastMark[1].Load() == int32(marker)
	}); err != nil {
		c.t.Fatalf("%s: media from %d: audio %d video %d packets (last marks %d/%d): %v", c.role, marker,
			c.recv[0].Load()-a0, c.recv[1].Load()-v0, c.lastMark[0].Load(), c.lastMark[1].Load(), err)
	}
}

func waitFor(timeout time.Duration, cond func() bool) error {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return fmt.Errorf("condition not met within %v", timeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return nil
}
