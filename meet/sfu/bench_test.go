package sfu

import (
	"net"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"
	"github.com/pion/webrtc/v4"
)

// The forwarding benchmarks compose the real pieces of one forwarded
// packet: SRTP decrypt (GCM), the receive-side interceptor (feedback.go:
// NACKs, transport-cc feedback, receiver reports), the downTrack
// (strip extensions, rewrite SSRC/PT/seq/ts), the send-side interceptors
// (sender reports), SRTP encrypt (GCM) and, in the
// "udp" variants, a write to a loopback UDP socket. They leave out pion's
// hand-offs between its ICE, SRTP and track goroutines. The "bare"
// benchmarks are the floor: decrypt + encrypt (+ the same write) alone.
//
//	go test -run '^$' -bench 'Forward|Bare' -benchtime 5s -count 5 ./meet/sfu

const benchPayload = 1100

func benchContexts(b *testing.B) (in, out *srtp.Context, encrypted []byte) {
	b.Helper()
	key := make([]byte, 16)
	salt := make([]byte, 12)
	for i := range key {
		key[i] = byte(i)
	}
	pub, err := srtp.CreateContext(key, salt, srtp.ProtectionProfileAeadAes128Gcm)
	if err != nil {
		b.Fatal(err)
	}
	// The same packet is decrypted b.N times: no replay protection here.
	in, err = srtp.CreateContext(key, salt, srtp.ProtectionProfileAeadAes128Gcm, srtp.SRTPNoReplayProtection())
	if err != nil {
		b.Fatal(err)
	}
	out, err = srtp.CreateContext(key[:16:16], salt, srtp.ProtectionProfileAeadAes128Gcm)
	if err != nil {
		b.Fatal(err)
	}
	pkt := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: 1000, Timestamp: 90000, SSRC: 0x1234}, Payload: make([]byte, benchPayload)}
	// A browser's packet carries extensions; the forwarder strips them.
	if err := pkt.Header.SetExtension(1, []byte("0")); err != nil {
		b.Fatal(err)
	}
	if err := pkt.Header.SetExtension(3, []byte{0, 1}); err != nil {
		b.Fatal(err)
	}
	plain, err := pkt.Marshal()
	if err != nil {
		b.Fatal(err)
	}
	encrypted, err = pub.EncryptRTP(nil, plain, nil)
	if err != nil {
		b.Fatal(err)
	}
	return in, out, encrypted
}

func udpSink(b *testing.B) (*net.UDPConn, *net.UDPAddr) {
	b.Helper()
	sink, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	sink.SetReadBuffer(8 << 20)
	src, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	src.SetWriteBuffer(8 << 20)
	// Drain the sink so the kernel never pushes back.
	go func() {
		buf := make([]byte, 1500)
		for {
			if _, err := sink.Read(buf); err != nil {
				return
			}
		}
	}()
	b.Cleanup(func() { src.Close(); sink.Close() })
	return src, sink.LocalAddr().(*net.UDPAddr)
}

// writerFunc adapts a function to webrtc.TrackLocalWriter.
type writerFunc func(h *rtp.Header, payload []byte) (int, error)

func (f writerFunc) WriteRTP(h *rtp.Header, p []byte) (int, error) { return f(h, p) }
func (f writerFunc) Write([]byte) (int, error)                     { panic("unused") }

func benchForward(b *testing.B, udp bool) {
	in, out, encrypted := benchContexts(b)
	var conn *net.UDPConn
	var dst *net.UDPAddr
	if udp {
		conn, dst = udpSink(b)
	}
	m := &webrtc.MediaEngine{}
	if err := registerCodecs(m); err != nil {
		b.Fatal(err)
	}
	clk := newClock(feedbackTick)
	defer clk.close()
	ir, err := newInterceptors(m, clk)
	if err != nil {
		b.Fatal(err)
	}
	ic, err := ir.Build("bench")
	if err != nil {
		b.Fatal(err)
	}
	defer ic.Close()
	// The RTCP side as pion binds it; feedback goes nowhere here.
	ic.BindRTCPWriter(interceptor.RTCPWriterFunc(func([]rtcp.Packet, interceptor.Attributes) (int, error) { return 0, nil }))
	fb := []interceptor.RTCPFeedback{{Type: "nack"}, {Type: "nack", Parameter: "pli"}, {Type: "transport-cc"}}
	// Receive side: the chain reads the decrypted packet.
	var dec []byte
	recvInfo := &interceptor.StreamInfo{SSRC: 0x1234, ClockRate: 90000, MimeType: webrtc.MimeTypeVP8, PayloadType: 96, RTCPFeedback: fb,
		RTPHeaderExtensions: []interceptor.RTPHeaderExtension{{URI: "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01", ID: 3}}}
	reader := ic.BindRemoteStream(recvInfo, interceptor.RTPReaderFunc(func(buf []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		return copy(buf, dec), a, nil
	}))
	// Send side: the chain ends in SRTP encryption and the socket.
	marshalBuf := make([]byte, 1500)
	encBuf := make([]byte, 1500)
	sendInfo := &interceptor.StreamInfo{SSRC: 0x5678, ClockRate: 90000, MimeType: webrtc.MimeTypeVP8, PayloadType: 96, RTCPFeedback: fb}
	writer := ic.BindLocalStream(sendInfo, interceptor.RTPWriterFunc(func(h *rtp.Header, payload []byte, _ interceptor.Attributes) (int, error) {
		n, err := h.MarshalTo(marshalBuf)
		if err != nil {
			return 0, err
		}
		n += copy(marshalBuf[n:], payload)
		enc, err := out.EncryptRTP(encBuf[:0], marshalBuf[:n], h)
		if err != nil {
			return 0, err
		}
		if conn != nil {
			return conn.WriteToUDP(enc, dst)
		}
		return len(enc), nil
	}))
	d := newDownTrack(webrtc.RTPCodecTypeVideo, "report")
	d.binding.Store(&binding{ssrc: 0x5678, pt: 96, writer: writerFunc(func(h *rtp.Header, p []byte) (int, error) {
		return writer.Write(h, p, nil)
	})})
	up := &upTrack{}
	decBuf := make([]byte, 1500)
	readBuf := make([]byte, 1500)
	hdr := &rtp.Header{}
	b.SetBytes(int64(len(encrypted)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		// Each packet is new to the receive side's logs and caches.
		dec, err = in.DecryptRTP(decBuf[:0], encrypted, hdr)
		if err != nil {
			b.Fatal(err)
		}
		seq := uint16(i)
		dec[2], dec[3] = byte(seq>>8), byte(seq)
		n, _, err := reader.Read(readBuf, nil)
		if err != nil {
			b.Fatal(err)
		}
		if err := d.write(readBuf[:n], up, time.Time{}); err != nil {
			b.Fatal(err)
		}
	}
}

func benchBare(b *testing.B, udp bool) {
	in, out, encrypted := benchContexts(b)
	var conn *net.UDPConn
	var dst *net.UDPAddr
	if udp {
		conn, dst = udpSink(b)
	}
	decBuf := make([]byte, 1500)
	encBuf := make([]byte, 1500)
	hdr := &rtp.Header{}
	b.SetBytes(int64(len(encrypted)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		dec, err := in.DecryptRTP(decBuf[:0], encrypted, hdr)
		if err != nil {
			b.Fatal(err)
		}
		enc, err := out.EncryptRTP(encBuf[:0], dec, hdr)
		if err != nil {
			b.Fatal(err)
		}
		if conn != nil {
			if _, err := conn.WriteToUDP(enc, dst); err != nil {
				b.Fatal(err)
			}
		}
	}
}

func BenchmarkForward(b *testing.B)    { benchForward(b, false) }
func BenchmarkForwardUDP(b *testing.B) { benchForward(b, true) }
func BenchmarkBareSRTP(b *testing.B)   { benchBare(b, false) }
func BenchmarkBareSRTPUDP(b *testing.B) {
	benchBare(b, true)
}
