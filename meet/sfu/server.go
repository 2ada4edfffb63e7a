package sfu

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/dtls/v3"
	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/report"
	"github.com/pion/logging"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"

	"github.com/oneonone/oneonone/meet/signal"
)

// ErrClosed is returned by Join once the server is closing.
var ErrClosed = errors.New("sfu: server closed")

// Server holds the media sockets and the rooms.
type Server struct {
	cfg Config
	api *webrtc.API

	clock  *clock // every participant's periodic feedback
	udp    *net.UDPConn
	udpMux ice.UDPMux
	tcpL   net.Listener
	tcpMux ice.TCPMux

	mu     sync.Mutex
	rooms  map[string]*room
	closed bool
	joins  sync.WaitGroup // Join calls in progress

	roomsActive  atomic.Int64
	participants atomic.Int64

	certMu sync.Mutex
	cert   *webrtc.Certificate // shared DTLS certificate; see certificate
	certAt time.Time
}

// tcpReadBuffer is how many packets an ICE-TCP connection queues between
// its socket reader and the ICE agent. A full queue blocks the reader and
// TCP's flow control holds the sender back, so nothing is lost; pion's
// examples use 8, and each of its slots is paid per participant and
// address family whether or not the browser ever uses TCP.
const tcpReadBuffer = 8

// certificateLifetime is how long one DTLS certificate serves new
// connections; pion makes them valid for a month.
const certificateLifetime = 7 * 24 * time.Hour

// certificate returns the DTLS certificate for a new PeerConnection. All
// connections share one, as a server shares its TLS certificate: browsers
// check the certificate against the fingerprint in the SDP, not against a
// chain or a name, so nothing is gained by a key per connection, and
// generating one (an ECDSA key and an x509 signature) was the largest cost
// of a join and a few KB of heap per participant. It is replaced weekly;
// a connection keeps the one it started with.
func (s *Server) certificate() (webrtc.Certificate, error) {
	s.certMu.Lock()
	defer s.certMu.Unlock()
	if s.cert != nil && time.Since(s.certAt) < certificateLifetime {
		return *s.cert, nil
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return webrtc.Certificate{}, fmt.Errorf("dtls key: %w", err)
	}
	c, err := webrtc.GenerateCertificate(key)
	if err != nil {
		return webrtc.Certificate{}, fmt.Errorf("dtls certificate: %w", err)
	}
	s.cert, s.certAt = c, time.Now()
	return *c, nil
}

// Stats are the server's gauges, read by the metrics layer.
type Stats struct {
	RoomsActive  int // rooms with at least one participant
	Participants int // connected participants over all rooms
}

// Stats returns the current gauges.
func (s *Server) Stats() Stats {
	return Stats{RoomsActive: int(s.roomsActive.Load()), Participants: int(s.participants.Load())}
}

// UDPAddr and TCPAddr are the media sockets' addresses (useful with port 0).
func (s *Server) UDPAddr() *net.UDPAddr { return s.udp.LocalAddr().(*net.UDPAddr) }

// TCPAddr is nil when ICE-TCP is disabled.
func (s *Server) TCPAddr() *net.TCPAddr {
	if s.tcpL == nil {
		return nil
	}
	return s.tcpL.Addr().(*net.TCPAddr)
}

// NewServer opens the media sockets and prepares the WebRTC stack.
func NewServer(cfg Config) (*Server, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, rooms: make(map[string]*room)}
	var ip net.IP
	if cfg.ListenIP != "" {
		ip = net.ParseIP(cfg.ListenIP)
	}
	s.udp, err = net.ListenUDP("udp", &net.UDPAddr{IP: ip, Port: cfg.UDPPort})
	if err != nil {
		return nil, fmt.Errorf("sfu: media udp port: %w", err)
	}
	// Many rooms share this socket: a small buffer overflows between two
	// reads long before the CPU is busy (seen with Galène at ~30 rooms).
	if err := s.udp.SetReadBuffer(cfg.SocketBuffer); err != nil {
		cfg.Logger.Warn("sfu: udp read buffer", "err", err)
	}
	if err := s.udp.SetWriteBuffer(cfg.SocketBuffer); err != nil {
		cfg.Logger.Warn("sfu: udp write buffer", "err", err)
	}
	// The kernel caps the above at net.core.rmem_max (often 208 KiB to
	// 4 MiB); with CAP_NET_ADMIN the cap can be passed. A scheduling stall
	// of the reader (a busy or shared core) is what the buffer absorbs:
	// 60 rooms fill 8 MiB in about 150 ms.
	if got, forced := forceBuffers(s.udp, cfg.SocketBuffer); forced {
		cfg.Logger.Debug("sfu: udp buffers forced past rmem_max", "rcvbuf", got)
	} else if got > 0 && got < cfg.SocketBuffer {
		cfg.Logger.Warn("sfu: udp receive buffer smaller than asked; raise net.core.rmem_max", "asked", cfg.SocketBuffer, "got", got/2)
	}
	logs := logging.NewDefaultLoggerFactory()
	logs.DefaultLogLevel = logging.LogLevelWarn
	// pion's own messages (mostly benign races at close) go to our log at
	// debug level, not to stderr.
	logs.Writer = slogWriter{cfg.Logger}
	s.udpMux = announcedUDPMux{
		UDPMux:   webrtc.NewICEUDPMux(logs.NewLogger("ice-udp"), newYieldingConn(s.udp)),
		loopback: ip != nil && ip.IsLoopback(),
	}
	if cfg.TCPPort >= 0 {
		s.tcpL, err = net.Listen("tcp", net.JoinHostPort(ipString(ip), strconv.Itoa(cfg.TCPPort)))
		if err != nil {
			s.udpMux.Close()
			return nil, fmt.Errorf("sfu: media tcp port: %w", err)
		}
		s.tcpMux = webrtc.NewICETCPMux(logs.NewLogger("ice-tcp"), s.tcpL, tcpReadBuffer)
	}
	s.clock = newClock(feedbackTick)
	s.api, err = s.newAPI(ip, logs)
	if err != nil {
		s.closeSockets()
		return nil, err
	}
	return s, nil
}

type slogWriter struct{ log *slog.Logger }

func (w slogWriter) Write(b []byte) (int, error) {
	w.log.Debug("sfu: pion", "msg", strings.TrimSpace(string(b)))
	return len(b), nil
}

func ipString(ip net.IP) string {
	if ip == nil {
		return ""
	}
	return ip.String()
}

// Codecs: one per kind, so a participant's fixed send tracks can be bound
// before the other participant has published anything (see participant).
// No RTX: retransmissions travel on the media SSRC, answered from the
// server's packet cache.
func registerCodecs(m *webrtc.MediaEngine) error {
	videoFB := []webrtc.RTCPFeedback{
		{Type: webrtc.TypeRTCPFBGoogREMB},
		{Type: webrtc.TypeRTCPFBTransportCC},
		{Type: webrtc.TypeRTCPFBCCM, Parameter: "fir"},
		{Type: webrtc.TypeRTCPFBNACK},
		{Type: webrtc.TypeRTCPFBNACK, Parameter: "pli"},
	}
	if err := m.RegisterCodec(webrtc.RTPCodecParameters{
		RTPCodecCapability: opusCodec,
		PayloadType:        111,
	}, webrtc.RTPCodecTypeAudio); err != nil {
		return err
	}
	vp8 := vp8Codec
	vp8.RTCPFeedback = videoFB
	if err := m.RegisterCodec(webrtc.RTPCodecParameters{RTPCodecCapability: vp8, PayloadType: 96}, webrtc.RTPCodecTypeVideo); err != nil {
		return err
	}
	// Only extensions the server itself uses are negotiated, so a browser
	// never receives one it did not agree to: mid helps demultiplex the
	// bundle, transport-cc carries the publisher's bandwidth estimate.
	// Forwarded packets are stripped of all extensions (forward.go).
	for _, kind := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeAudio, webrtc.RTPCodecTypeVideo} {
		for _, uri := range []string{sdp.SDESMidURI, sdp.TransportCCURI} {
			if err := m.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: uri}, kind); err != nil {
				return err
			}
		}
	}
	return nil
}

var (
	opusCodec = webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2, SDPFmtpLine: "minptime=10;useinbandfec=1",
		RTCPFeedback: []webrtc.RTCPFeedback{{Type: webrtc.TypeRTCPFBTransportCC}}}
	vp8Codec = webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}
)

func (s *Server) newAPI(ip net.IP, logs *logging.DefaultLoggerFactory) (*webrtc.API, error) {
	m := &webrtc.MediaEngine{}
	if err := registerCodecs(m); err != nil {
		return nil, fmt.Errorf("sfu: codecs: %w", err)
	}
	ir, err := newInterceptors(m, s.clock)
	if err != nil {
		return nil, fmt.Errorf("sfu: interceptors: %w", err)
	}

	var se webrtc.SettingEngine
	se.LoggerFactory = logs
	se.SetICEUDPMux(s.udpMux)
	networks := []webrtc.NetworkType{webrtc.NetworkTypeUDP4, webrtc.NetworkTypeUDP6}
	if s.tcpMux != nil {
		se.SetICETCPMux(s.tcpMux)
		networks = append(networks, webrtc.NetworkTypeTCP4, webrtc.NetworkTypeTCP6)
	}
	se.SetNetworkTypes(networks)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	// ICE-TCP candidates on IPv6 link-local addresses are gathered (a
	// connection and goroutines per participant) but never announced;
	// the UDP side is filtered by announcedUDPMux.
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() || announced(ip, false) })
	if ip != nil && ip.IsLoopback() {
		se.SetIncludeLoopbackCandidate(true)
	}
	if s.cfg.PublicIP != "" {
		if err := se.SetICEAddressRewriteRules(webrtc.ICEAddressRewriteRule{
			External:        []string{s.cfg.PublicIP},
			AsCandidateType: webrtc.ICECandidateTypeHost,
		}); err != nil {
			return nil, fmt.Errorf("sfu: %w", err)
		}
	}
	// GCM costs a fifth of CM-HMAC-SHA1 per packet; keep the latter for
	// old clients.
	se.SetSRTPProtectionProfiles(dtls.SRTP_AEAD_AES_128_GCM, dtls.SRTP_AES128_CM_HMAC_SHA1_80)
	return webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(se)), nil
}

func newInterceptors(m *webrtc.MediaEngine, c *clock) (*interceptor.Registry, error) {
	ir := &interceptor.Registry{}
	// Receiving side: NACKs to the publisher for lost packets, receiver
	// reports, and transport-cc feedback so the browser's own estimator
	// adapts its uplink, all from one interceptor (feedback.go) that costs
	// no allocation and no goroutine hand-off per packet. The sending side
	// answers the subscriber's NACKs from the downTrack's own packet cache
	// (forward.go), so a loss on the downlink never travels back to the
	// publisher. The codecs and header extensions it relies on (nack,
	// transport-cc) are registered by registerCodecs.
	ir.Add(feedbackFactory{clock: c})
	// Sending side: sender reports, so the subscriber can sync audio and
	// video and measure the round trip.
	sr, err := report.NewSenderInterceptor()
	if err != nil {
		return nil, err
	}
	ir.Add(sr)
	return ir, nil
}

// Close tells every participant "bye", waits for their Join calls to
// return and closes the media sockets.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	var ps []*participant
	for _, r := range s.rooms {
		for i := range r.slots {
			if p := r.slots[i].Load(); p != nil {
				ps = append(ps, p)
			}
		}
	}
	s.mu.Unlock()
	for _, p := range ps {
		p.stop(leaveServerClosed)
	}
	s.joins.Wait()
	s.closeSockets()
	return nil
}

func (s *Server) closeSockets() {
	if s.clock != nil {
		s.clock.close()
	}
	if s.tcpMux != nil {
		s.tcpMux.Close()
	}
	if s.udpMux != nil {
		s.udpMux.Close()
	}
	if s.tcpL != nil {
		s.tcpL.Close()
	}
	s.udp.Close()
}

// Send delivers m to the participant of role in room, if present (the
// agenda's live updates). It never blocks.
func (s *Server) Send(roomID, role string, m signal.Message) error {
	i, err := roleIndex(role)
	if err != nil {
		return err
	}
	s.mu.Lock()
	r := s.rooms[roomID]
	s.mu.Unlock()
	if r == nil {
		return nil
	}
	if p := r.slots[i].Load(); p != nil {
		return p.conn.Send(m)
	}
	return nil
}

// Join runs one participant's session in room roomID, in slot role, over
// conn, and returns when the participant leaves, is replaced, is dropped,
// or the server closes; it closes conn before returning.
//
// The contract with the caller: identity is checked before Join. If the
// slot is taken, the new connection is taken to be the same person (a
// reload, a second tab) and replaces the old one, which gets "bye"
// {"reason":"replaced"}. A different person must have been refused by the
// caller, since only the pair's two identities map to the two roles.
func (s *Server) Join(ctx context.Context, roomID, role string, conn signal.Conn) error {
	slot, err := roleIndex(role)
	if err != nil {
		conn.Close("bad role")
		return err
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		conn.Send(signal.Message{Type: signal.TypeBye, Data: &signal.Bye{Reason: leaveServerClosed}})
		conn.Close(leaveServerClosed)
		return ErrClosed
	}
	s.joins.Add(1)
	s.mu.Unlock()
	defer s.joins.Done()
	return s.join(ctx, roomID, slot, conn)
}
