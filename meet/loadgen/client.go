package loadgen

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/pion/dtls/v3"
	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/nack"
	"github.com/pion/logging"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/oneonone/oneonone/meet/signal"
)

// Traffic shape of one participant: Opus-sized audio every 20 ms and
// three ~1200-byte video packets per 20 ms (150 packets/s, ~1.5 Mbit/s
// with headers), as a browser sends at a 720p-ish bitrate.
const (
	tickEvery     = 20 * time.Millisecond
	audioPayload  = 160
	videoPayload  = 1200
	videoPerTick  = 3
	audioTSPerTik = 48000 / 50
	videoTSPerTik = 90000 / 50
)

// newAPI builds the generator's one WebRTC stack, shared by every client:
// exactly the codecs the SFU offers, no header extensions, and only the
// NACK interceptors (when nack is set) so the client side stays cheap.
func newAPI(nackOn bool, ifaceFilter func(string) bool) (*webrtc.API, error) {
	m := &webrtc.MediaEngine{}
	if err := m.RegisterCodec(webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{
		MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2, SDPFmtpLine: "minptime=10;useinbandfec=1"}, PayloadType: 111}, webrtc.RTPCodecTypeAudio); err != nil {
		return nil, err
	}
	var fb []webrtc.RTCPFeedback
	if nackOn {
		fb = []webrtc.RTCPFeedback{{Type: webrtc.TypeRTCPFBNACK}, {Type: webrtc.TypeRTCPFBNACK, Parameter: "pli"}}
	}
	if err := m.RegisterCodec(webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{
		MimeType: webrtc.MimeTypeVP8, ClockRate: 90000, RTCPFeedback: fb}, PayloadType: 96}, webrtc.RTPCodecTypeVideo); err != nil {
		return nil, err
	}
	ir := &interceptor.Registry{}
	if nackOn {
		gen, err := nack.NewGeneratorInterceptor()
		if err != nil {
			return nil, err
		}
		resp, err := nack.NewResponderInterceptor()
		if err != nil {
			return nil, err
		}
		ir.Add(gen)
		ir.Add(resp)
	}
	var se webrtc.SettingEngine
	logs := logging.NewDefaultLoggerFactory()
	logs.DefaultLogLevel = logging.LogLevelError
	se.LoggerFactory = logs
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetIncludeLoopbackCandidate(true)
	if ifaceFilter != nil {
		se.SetInterfaceFilter(ifaceFilter)
	}
	se.SetSRTPProtectionProfiles(dtls.SRTP_AEAD_AES_128_GCM)
	return webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(se)), nil
}

// Endpoint is how one participant reaches its room: the WebSocket URL and
// an HTTP client carrying its session (cookie jar).
type Endpoint struct {
	WSURL string
	HTTP  *http.Client
}

// client is one participant: a pion PeerConnection answering the SFU's
// offers, publishing through sendTracks driven by the process-wide ticker
// and counting what it receives.
type client struct {
	api   *webrtc.API
	ep    Endpoint
	conn  *signal.WSConn
	pc    *webrtc.PeerConnection
	send  [2]*sendTrack // audio, video
	recv  [2]recvStats
	start time.Time // when it began to join

	firstPacket atomic.Int64 // nanoseconds from start to the first media packet; 0: none yet
	offers      atomic.Int64
	errMu       sync.Mutex
	err         error

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func (c *client) fail(err error) {
	c.errMu.Lock()
	if c.err == nil {
		c.err = err
	}
	c.errMu.Unlock()
	c.cancel()
}

func (c *client) Err() error {
	c.errMu.Lock()
	defer c.errMu.Unlock()
	return c.err
}

func newClient(ctx context.Context, api *webrtc.API, ep Endpoint, streamID string, payloads *payloads) *client {
	c := &client{api: api, ep: ep}
	c.ctx, c.cancel = context.WithCancel(ctx)
	c.send[0] = &sendTrack{kind: webrtc.RTPCodecTypeAudio, id: "audio", streamID: streamID, payload: payloads.audio, tsStep: audioTSPerTik, perTick: 1}
	c.send[1] = &sendTrack{kind: webrtc.RTPCodecTypeVideo, id: "video", streamID: streamID, payload: payloads.video, tsStep: videoTSPerTik, perTick: videoPerTick}
	c.recv[0].clockRate, c.recv[1].clockRate = 48000, 90000
	return c
}

// join dials the room's WebSocket, sends "join" and starts answering.
func (c *client) join() error {
	c.start = time.Now()
	conn, err := signal.Dial(c.ctx, c.ep.WSURL, signal.Options{}, &websocket.DialOptions{HTTPClient: c.ep.HTTP})
	if err != nil {
		return fmt.Errorf("dial %s: %w", c.ep.WSURL, err)
	}
	c.conn = conn
	pc, err := c.api.NewPeerConnection(webrtc.Configuration{BundlePolicy: webrtc.BundlePolicyMaxBundle, RTCPMuxPolicy: webrtc.RTCPMuxPolicyRequire})
	if err != nil {
		conn.Close("")
		return fmt.Errorf("peer connection: %w", err)
	}
	c.pc = pc
	pc.OnICECandidate(func(ic *webrtc.ICECandidate) {
		if ic == nil {
			return
		}
		j := ic.ToJSON()
		conn.Send(signal.Message{Type: signal.TypeCandidate, Data: &signal.Candidate{Candidate: j.Candidate, SDPMid: j.SDPMid, SDPMLineIndex: j.SDPMLineIndex}})
	})
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		kind := 0
		if tr.Kind() == webrtc.RTPCodecTypeVideo {
			kind = 1
		}
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			c.receive(tr, &c.recv[kind])
		}()
	})
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		c.signalLoop()
	}()
	if err := conn.Send(signal.Message{Type: signal.TypeJoin}); err != nil {
		return fmt.Errorf("send join: %w", err)
	}
	return nil
}

func (c *client) signalLoop() {
	published := false
	for {
		m, err := c.conn.Receive(c.ctx)
		var pe *signal.ProtocolError
		if errors.As(err, &pe) {
			continue
		}
		if err != nil {
			if c.ctx.Err() == nil {
				c.fail(fmt.Errorf("signaling: %w", err))
			}
			return
		}
		switch m.Type {
		case signal.TypeOffer:
			c.offers.Add(1)
			if err := c.answer(m, &published); err != nil {
				c.fail(fmt.Errorf("answer: %w", err))
				return
			}
		case signal.TypeCandidate:
			if d := m.Data.(*signal.Candidate); d.Candidate != "" {
				c.pc.AddICECandidate(webrtc.ICECandidateInit{Candidate: d.Candidate, SDPMid: d.SDPMid, SDPMLineIndex: d.SDPMLineIndex})
			}
		case signal.TypeBye:
			if c.ctx.Err() == nil {
				c.fail(fmt.Errorf("server said bye: %s", m.Data.(*signal.Bye).Reason))
			}
			return
		case signal.TypeError:
			// A refused message; the generator sends none it expects refused.
		}
	}
}

func (c *client) answer(m signal.Message, published *bool) error {
	if err := c.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: m.Data.(*signal.SessionDescription).SDP}); err != nil {
		return err
	}
	if !*published {
		*published = true
		// AddTrack reuses the offer's receive-only sections, as browsers do.
		for _, t := range c.send {
			s, err := c.pc.AddTrack(t)
			if err != nil {
				return err
			}
			c.wg.Add(1)
			go func() {
				defer c.wg.Done()
				drainRTCP(s)
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
	return c.conn.Send(signal.Message{Type: signal.TypeAnswer, ID: m.ID, Data: &signal.SessionDescription{SDP: c.pc.LocalDescription().SDP}})
}

// drainRTCP reads a sender's RTCP so the NACK responder sees the NACKs.
func drainRTCP(s *webrtc.RTPSender) {
	buf := make([]byte, 1500)
	for {
		if _, _, err := s.Read(buf); err != nil {
			return
		}
	}
}

// receive reads one remote track into a reused buffer and updates its
// statistics; no allocation per packet.
func (c *client) receive(tr *webrtc.TrackRemote, st *recvStats) {
	buf := make([]byte, 1500)
	for {
		n, _, err := tr.Read(buf)
		if err != nil {
			return
		}
		if n < 12 {
			continue
		}
		now := time.Since(c.start)
		if c.firstPacket.Load() == 0 {
			c.firstPacket.CompareAndSwap(0, int64(now))
		}
		st.add(binary.BigEndian.Uint16(buf[2:4]), binary.BigEndian.Uint32(buf[4:8]), now)
	}
}

func (c *client) close() {
	c.cancel()
	if c.conn != nil {
		c.conn.Close("")
	}
	if c.pc != nil {
		c.pc.Close()
	}
	c.wg.Wait()
}

// payloads are built once per process and shared read-only by all tracks.
type payloads struct{ audio, video []byte }

func newPayloads() *payloads {
	p := &payloads{audio: make([]byte, audioPayload), video: make([]byte, videoPayload)}
	for i := range p.audio {
		p.audio[i] = byte(i * 7)
	}
	for i := range p.video {
		p.video[i] = byte(i * 13)
	}
	p.video[0] = 0x10 // VP8 payload descriptor: start of partition
	return p
}

// sendTrack is a webrtc.TrackLocal written by the ticker with a reused
// header: one write per packet, no allocation.
type sendTrack struct {
	kind     webrtc.RTPCodecType
	id       string
	streamID string
	payload  []byte
	tsStep   uint32
	perTick  int

	w      atomic.Pointer[sendBinding]
	hdr    rtp.Header // only the ticker goroutine touches these
	seq    uint16
	ts     uint32
	sent   atomic.Int64
	failed atomic.Int64
}

type sendBinding struct {
	ssrc   uint32
	pt     uint8
	writer webrtc.TrackLocalWriter
}

func (t *sendTrack) Bind(ctx webrtc.TrackLocalContext) (webrtc.RTPCodecParameters, error) {
	for _, c := range ctx.CodecParameters() {
		if (t.kind == webrtc.RTPCodecTypeAudio && c.MimeType == webrtc.MimeTypeOpus) ||
			(t.kind == webrtc.RTPCodecTypeVideo && c.MimeType == webrtc.MimeTypeVP8) {
			t.w.Store(&sendBinding{ssrc: uint32(ctx.SSRC()), pt: uint8(c.PayloadType), writer: ctx.WriteStream()})
			return c, nil
		}
	}
	return webrtc.RTPCodecParameters{}, webrtc.ErrUnsupportedCodec
}

func (t *sendTrack) Unbind(webrtc.TrackLocalContext) error { t.w.Store(nil); return nil }
func (t *sendTrack) ID() string                            { return t.id }
func (t *sendTrack) RID() string                           { return "" }
func (t *sendTrack) StreamID() string                      { return t.streamID }
func (t *sendTrack) Kind() webrtc.RTPCodecType             { return t.kind }

// tick sends one tick's packets: the RTP timestamp advances by the media
// clock of 20 ms, packets of one video frame share it, the last carries
// the marker bit.
func (t *sendTrack) tick() {
	b := t.w.Load()
	t.ts += t.tsStep
	if b == nil {
		return
	}
	t.hdr.Version = 2
	t.hdr.SSRC = b.ssrc
	t.hdr.PayloadType = b.pt
	t.hdr.Timestamp = t.ts
	for i := range t.perTick {
		t.seq++
		t.hdr.SequenceNumber = t.seq
		t.hdr.Marker = i == t.perTick-1
		if _, err := b.writer.WriteRTP(&t.hdr, t.payload); err != nil {
			t.failed.Add(1)
			continue
		}
		t.sent.Add(1)
	}
}

// recvStats counts one received track: unique packets (a retransmission
// that fills a gap counts, a duplicate does not), the highest extended
// sequence number, and RFC 3550 interarrival jitter. Written by the
// track's reader only; read through atomics.
type recvStats struct {
	clockRate uint32

	started     bool
	base        int64 // first extended sequence number
	highest     int64 // highest extended sequence number
	seen        [1024]uint64
	lastTransit float64
	jitter      float64 // in clock units

	received   atomic.Int64 // unique packets
	expected   atomic.Int64 // highest - base + 1
	jitterNano atomic.Int64
}

func (s *recvStats) bit(ext int64) (word int, mask uint64) {
	i := uint16(ext)
	return int(i >> 6), 1 << (i & 63)
}

func (s *recvStats) add(seq uint16, ts uint32, now time.Duration) {
	var ext int64
	if !s.started {
		s.started = true
		ext = int64(seq)
		s.base, s.highest = ext, ext
		s.lastTransit = float64(now)*float64(s.clockRate)/1e9 - float64(ts)
	} else {
		ext = s.highest + int64(int16(seq-uint16(s.highest)))
		if ext < s.base || ext <= s.highest-32768 {
			return // before the start, or too old to tell
		}
		if ext > s.highest {
			// Forget the ring slots the window moves over.
			if ext-s.highest >= 65536 {
				clear(s.seen[:])
			} else {
				for e := s.highest + 1; e < ext; e++ {
					w, m := s.bit(e)
					s.seen[w] &^= m
				}
			}
			w, m := s.bit(ext)
			s.seen[w] &^= m
			s.highest = ext
		}
		// Jitter follows RFC 3550 §6.4.1; packets of one video frame
		// share a timestamp and leave together, so they add none.
		transit := float64(now)*float64(s.clockRate)/1e9 - float64(ts)
		d := math.Abs(transit - s.lastTransit)
		s.lastTransit = transit
		if d < float64(s.clockRate) { // a timestamp jump (source change) is not jitter
			s.jitter += (d - s.jitter) / 16
		}
		s.jitterNano.Store(int64(s.jitter / float64(s.clockRate) * 1e9))
	}
	w, m := s.bit(ext)
	if s.seen[w]&m == 0 {
		s.seen[w] |= m
		s.received.Add(1)
	}
	s.expected.Store(s.highest - s.base + 1)
}
