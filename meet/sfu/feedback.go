package sfu

import (
	"encoding/binary"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/twcc"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
)

// The receive-side feedback interceptor replaces pion's NACK generator,
// receiver-report interceptor and transport-cc sender, which together cost
// five allocations per forwarded packet (each parsed the RTP header into a
// new rtp.Header through interceptor.Attributes) and a goroutine hand-off
// per packet (transport-cc's unbuffered channel). Here each packet's header
// is parsed once into a per-stream reused header, the per-SSRC state is
// updated in place under an uncontended lock, and the server's clock sends
// NACKs, transport-cc feedback and receiver reports.

const (
	feedbackTick   = 100 * time.Millisecond // NACK and transport-cc interval
	reportEvery    = 10                     // receiver reports every 10 ticks (1 s)
	nackWindow     = 512                    // sequence numbers tracked for NACKs (≈3 s of video)
	maxNackTries   = 5                      // NACKs per lost packet before giving up
	maxReportBlock = 31                     // reception reports in one RR (5-bit count)
)

type feedbackFactory struct{ clock *clock }

func (ff feedbackFactory) NewInterceptor(string) (interceptor.Interceptor, error) {
	return newReceiveFeedback(ff.clock), nil
}

// receiveFeedback is one PeerConnection's receive-side feedback.
type receiveFeedback struct {
	interceptor.NoOp
	ssrc  uint32 // sender SSRC of our feedback packets
	start time.Time

	clock  *clock
	writer interceptor.RTCPWriter // set once by BindRTCPWriter, then ticked
	ticks  int                    // the clock's goroutine only

	mu      sync.Mutex
	streams []*rxStream
	closed  bool

	twccMu sync.Mutex
	twcc   *twcc.Recorder
}

func newReceiveFeedback(c *clock) *receiveFeedback {
	ssrc := rand.Uint32()
	return &receiveFeedback{ssrc: ssrc, start: time.Now(), clock: c, twcc: twcc.NewRecorder(ssrc)}
}

// rxStream is the state of one received SSRC.
type rxStream struct {
	ssrc      uint32
	clockRate float64
	twccID    uint8 // transport-cc extension id, 0 if not negotiated

	mu       sync.Mutex
	hdr      rtp.Header // reused: no allocation per packet
	started  bool
	maxSeq   uint16
	cycles   uint32 // sequence number wraps, shifted left by 16
	baseSeq  uint32
	received uint32
	// At the last receiver report, for the fraction lost.
	expectedPrior, receivedPrior uint32
	transit                      int32
	jitter                       float64
	lastSR                       uint32 // middle 32 bits of the last SR's NTP time
	lastSRAt                     time.Time
	nack                         *nackLog // nil when NACK is not negotiated
}

// nackLog remembers which of the last nackWindow sequence numbers arrived,
// and how often each missing one was asked for.
type nackLog struct {
	got   [nackWindow / 64]uint64
	tries [nackWindow]uint8
}

func (l *nackLog) set(seq uint16) {
	i := seq % nackWindow
	l.got[i/64] |= 1 << (i % 64)
}

func (l *nackLog) clear(seq uint16) {
	i := seq % nackWindow
	l.got[i/64] &^= 1 << (i % 64)
	l.tries[i] = 0
}

func (l *nackLog) has(seq uint16) bool {
	i := seq % nackWindow
	return l.got[i/64]&(1<<(i%64)) != 0
}

func (f *receiveFeedback) BindRemoteStream(info *interceptor.StreamInfo, reader interceptor.RTPReader) interceptor.RTPReader {
	s := &rxStream{ssrc: info.SSRC, clockRate: float64(info.ClockRate)}
	for _, e := range info.RTPHeaderExtensions {
		if e.URI == sdp.TransportCCURI && e.ID > 0 && e.ID < 256 {
			s.twccID = uint8(e.ID)
		}
	}
	for _, fb := range info.RTCPFeedback {
		if fb.Type == "nack" && fb.Parameter == "" {
			s.nack = &nackLog{}
		}
	}
	f.mu.Lock()
	f.streams = append(f.streams, s)
	f.mu.Unlock()
	return interceptor.RTPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		n, a, err := reader.Read(b, a)
		if err != nil {
			return n, a, err
		}
		f.onRTP(s, b[:n], time.Now())
		return n, a, nil
	})
}

func (f *receiveFeedback) UnbindRemoteStream(info *interceptor.StreamInfo) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, s := range f.streams {
		if s.ssrc == info.SSRC {
			f.streams = append(f.streams[:i], f.streams[i+1:]...)
			return
		}
	}
}

// BindRTCPReader watches the publisher's sender reports: receiver reports
// echo their time (LSR/DLSR) so the publisher can measure the round trip.
func (f *receiveFeedback) BindRTCPReader(reader interceptor.RTCPReader) interceptor.RTCPReader {
	return interceptor.RTCPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		n, a, err := reader.Read(b, a)
		if err == nil {
			f.onRTCP(b[:n], time.Now())
		}
		return n, a, err
	})
}

func (f *receiveFeedback) BindRTCPWriter(w interceptor.RTCPWriter) interceptor.RTCPWriter {
	f.mu.Lock()
	if f.closed || f.writer != nil {
		f.mu.Unlock()
		return w
	}
	f.writer = w
	f.mu.Unlock()
	f.clock.add(f)
	return w
}

// Close stops the ticks; once it returns, no more feedback is written.
func (f *receiveFeedback) Close() error {
	f.mu.Lock()
	ticking := !f.closed && f.writer != nil
	f.closed = true
	f.mu.Unlock()
	if ticking {
		f.clock.remove(f)
	}
	return nil
}

func (f *receiveFeedback) onTick(now time.Time) {
	f.ticks++
	if pkts := f.tick(now, f.ticks%reportEvery == 0); len(pkts) > 0 {
		// Errors are those of a closing transport; the next tick tries
		// again.
		f.writer.Write(pkts, nil) //nolint:errcheck
	}
}

// onRTP updates the stream's state with one received packet. It runs on
// the track's reading goroutine: no allocation, no hand-off.
func (f *receiveFeedback) onRTP(s *rxStream, b []byte, now time.Time) {
	s.mu.Lock()
	if _, err := s.hdr.Unmarshal(b); err != nil {
		s.mu.Unlock()
		return // not ours to judge: the forwarder drops malformed packets
	}
	var tseq uint16
	hasTSeq := false
	if s.twccID != 0 {
		if ext := s.hdr.GetExtension(s.twccID); len(ext) >= 2 {
			tseq, hasTSeq = binary.BigEndian.Uint16(ext), true
		}
	}
	s.record(s.hdr.SequenceNumber, s.hdr.Timestamp, now.Sub(f.start))
	s.mu.Unlock()
	if hasTSeq {
		f.twccMu.Lock()
		f.twcc.Record(s.ssrc, tseq, now.Sub(f.start).Microseconds())
		f.twccMu.Unlock()
	}
}

// record follows RFC 3550 A.1 and A.8 (without probation: the stream was
// negotiated). since is the arrival time on the interceptor's clock.
func (s *rxStream) record(seq uint16, ts uint32, since time.Duration) {
	arrival := uint32(int64(since.Seconds() * s.clockRate))
	transit := int32(arrival - ts)
	if !s.started {
		s.started = true
		s.maxSeq, s.baseSeq, s.received = seq, uint32(seq), 1
		s.expectedPrior, s.receivedPrior = 0, 0
		s.transit = transit
		if s.nack != nil {
			s.nack.fill()
			s.nack.set(seq)
		}
		return
	}
	s.received++
	delta := seq - s.maxSeq
	switch {
	case delta == 0: // duplicate
	case delta < 1<<15: // in order, maybe after a gap
		if seq < s.maxSeq {
			s.cycles += 1 << 16
		}
		if l := s.nack; l != nil {
			if delta > nackWindow/2 {
				// A jump this large is a restart of the sender's
				// numbering, not a loss worth asking for.
				l.fill()
			} else {
				for m := s.maxSeq + 1; m != seq; m++ {
					l.clear(m)
				}
			}
			l.set(seq)
		}
		s.maxSeq = seq
		d := transit - s.transit
		if d < 0 {
			d = -d
		}
		s.transit = transit
		s.jitter += (float64(d) - s.jitter) / 16
	default: // late: reordered or a retransmission we asked for
		if l := s.nack; l != nil && s.maxSeq-seq < nackWindow {
			l.set(seq)
		}
	}
}

// fill marks the whole window received: nothing to ask for.
func (l *nackLog) fill() {
	for i := range l.got {
		l.got[i] = ^uint64(0)
	}
}

// missing returns the sequence numbers to NACK now, counting a try for each.
func (s *rxStream) missing(dst []uint16) []uint16 {
	l := s.nack
	if l == nil || !s.started {
		return dst
	}
	span := min(nackWindow-1, s.cycles+uint32(s.maxSeq)-s.baseSeq)
	for back := span; back >= 1; back-- {
		seq := s.maxSeq - uint16(back)
		if l.has(seq) {
			continue
		}
		if t := &l.tries[seq%nackWindow]; *t < maxNackTries {
			*t++
			dst = append(dst, seq)
		}
	}
	return dst
}

// report builds the stream's reception report (RFC 3550 6.4.1, A.3) and
// starts the next interval.
func (s *rxStream) report(now time.Time) rtcp.ReceptionReport {
	ext := s.cycles + uint32(s.maxSeq)
	expected := ext - s.baseSeq + 1
	lost := int64(expected) - int64(s.received)
	lost = max(0, min(lost, 0xFFFFFF))
	expInterval := expected - s.expectedPrior
	recvInterval := s.received - s.receivedPrior
	s.expectedPrior, s.receivedPrior = expected, s.received
	var fraction uint8
	if lostInterval := int64(expInterval) - int64(recvInterval); expInterval != 0 && lostInterval > 0 {
		fraction = uint8(min(255, lostInterval<<8/int64(expInterval)))
	}
	var dlsr uint32
	if !s.lastSRAt.IsZero() {
		dlsr = uint32(now.Sub(s.lastSRAt).Seconds() * 65536)
	}
	return rtcp.ReceptionReport{
		SSRC:               s.ssrc,
		FractionLost:       fraction,
		TotalLost:          uint32(lost),
		LastSequenceNumber: ext,
		Jitter:             uint32(s.jitter),
		LastSenderReport:   s.lastSR,
		Delay:              dlsr,
	}
}

// tick builds the feedback due now: receiver reports first (when due),
// then NACKs, then transport-cc feedback.
func (f *receiveFeedback) tick(now time.Time, reports bool) []rtcp.Packet {
	var pkts []rtcp.Packet
	var seqs []uint16
	f.mu.Lock()
	var rr *rtcp.ReceiverReport
	for _, s := range f.streams {
		s.mu.Lock()
		if reports && s.started {
			if rr == nil || len(rr.Reports) == maxReportBlock {
				rr = &rtcp.ReceiverReport{SSRC: f.ssrc}
				pkts = append(pkts, rr)
			}
			rr.Reports = append(rr.Reports, s.report(now))
		}
		seqs = s.missing(seqs[:0])
		s.mu.Unlock()
		if len(seqs) > 0 {
			pkts = append(pkts, &rtcp.TransportLayerNack{SenderSSRC: f.ssrc, MediaSSRC: s.ssrc, Nacks: rtcp.NackPairsFromSequenceNumbers(seqs)})
		}
	}
	f.mu.Unlock()
	f.twccMu.Lock()
	pkts = append(pkts, f.twcc.BuildFeedbackPacket()...)
	f.twccMu.Unlock()
	return pkts
}

// onRTCP notes the sender reports in a compound RTCP packet, read in place.
func (f *receiveFeedback) onRTCP(b []byte, now time.Time) {
	for len(b) >= 4 {
		size := 4 * (int(binary.BigEndian.Uint16(b[2:4])) + 1)
		if size > len(b) {
			return
		}
		if b[1] == uint8(rtcp.TypeSenderReport) && size >= 28 {
			ssrc := binary.BigEndian.Uint32(b[4:8])
			ntp := binary.BigEndian.Uint64(b[8:16])
			f.mu.Lock()
			for _, s := range f.streams {
				if s.ssrc == ssrc {
					s.mu.Lock()
					s.lastSR, s.lastSRAt = uint32(ntp>>16), now
					s.mu.Unlock()
				}
			}
			f.mu.Unlock()
		}
		b = b[size:]
	}
}
