package sfu

import (
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
)

// feedHarness binds one remote stream on a receiveFeedback and feeds it
// packets through the real reader chain.
type feedHarness struct {
	f      *receiveFeedback
	reader interceptor.RTPReader
	next   []byte
	buf    []byte
}

const (
	testSSRC  = 0xabcd
	testTWCC  = 3
	testClock = 90000
)

func newFeedHarness(t testing.TB, nack bool) *feedHarness {
	t.Helper()
	h := &feedHarness{f: newReceiveFeedback(nil), buf: make([]byte, 1500)} // ticked by hand
	t.Cleanup(func() { h.f.Close() })
	info := &interceptor.StreamInfo{SSRC: testSSRC, ClockRate: testClock,
		RTPHeaderExtensions: []interceptor.RTPHeaderExtension{{URI: sdp.TransportCCURI, ID: testTWCC}}}
	if nack {
		info.RTCPFeedback = []interceptor.RTCPFeedback{{Type: "nack"}, {Type: "nack", Parameter: "pli"}}
	}
	h.reader = h.f.BindRemoteStream(info, interceptor.RTPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		return copy(b, h.next), a, nil
	}))
	return h
}

func testPacket(t testing.TB, seq uint16, ts uint32, tseq uint16) []byte {
	t.Helper()
	p := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: seq, Timestamp: ts, SSRC: testSSRC}, Payload: make([]byte, 100)}
	if err := p.Header.SetExtension(testTWCC, []byte{byte(tseq >> 8), byte(tseq)}); err != nil {
		t.Fatal(err)
	}
	b, err := p.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (h *feedHarness) feed(t testing.TB, seqs ...uint16) {
	t.Helper()
	for _, seq := range seqs {
		h.next = testPacket(t, seq, uint32(seq)*3000, seq)
		if _, _, err := h.reader.Read(h.buf, nil); err != nil {
			t.Fatal(err)
		}
	}
}

func seqRange(from, to uint16) []uint16 { // inclusive, wrapping
	var s []uint16
	for i := from; ; i++ {
		s = append(s, i)
		if i == to {
			return s
		}
	}
}

func nacked(pkts []rtcp.Packet) []uint16 {
	var seqs []uint16
	for _, p := range pkts {
		if n, ok := p.(*rtcp.TransportLayerNack); ok {
			for _, pair := range n.Nacks {
				seqs = append(seqs, pair.PacketList()...)
			}
		}
	}
	return seqs
}

func TestFeedbackNACK(t *testing.T) {
	tests := []struct {
		name  string
		nack  bool
		seqs  []uint16
		later []uint16 // arrive after the first round of NACKs
		first []uint16 // NACKed in the first round
		next  []uint16 // NACKed in the second round
	}{
		{name: "gaps", nack: true, seqs: []uint16{10, 11, 12, 15, 16, 18}, later: []uint16{13},
			first: []uint16{13, 14, 17}, next: []uint16{14, 17}},
		{name: "reordered packet fills its gap", nack: true, seqs: []uint16{1, 3, 2, 4}, first: nil, next: nil},
		{name: "wrap", nack: true, seqs: []uint16{65534, 1, 2}, first: []uint16{65535, 0}, next: []uint16{65535, 0}},
		{name: "sender restarts numbering", nack: true, seqs: []uint16{100, 101, 5000, 5001}, first: nil, next: nil},
		{name: "nack not negotiated", nack: false, seqs: []uint16{1, 5}, first: nil, next: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newFeedHarness(t, tt.nack)
			h.feed(t, tt.seqs...)
			if got := nacked(h.f.tick(time.Now(), false)); !slices.Equal(got, tt.first) {
				t.Fatalf("first NACKs %v, want %v", got, tt.first)
			}
			h.feed(t, tt.later...)
			if got := nacked(h.f.tick(time.Now(), false)); !slices.Equal(got, tt.next) {
				t.Fatalf("second NACKs %v, want %v", got, tt.next)
			}
		})
	}
}

func TestFeedbackNACKRetriesAreBounded(t *testing.T) {
	h := newFeedHarness(t, true)
	h.feed(t, 1, 2, 4)
	for i := range maxNackTries + 3 {
		got := nacked(h.f.tick(time.Now(), false))
		want := []uint16{3}
		if i >= maxNackTries {
			want = nil
		}
		if !slices.Equal(got, want) {
			t.Fatalf("tick %d: NACKs %v, want %v", i, got, want)
		}
	}
	// The same sequence number lost again one wrap later is asked for anew.
	h.feed(t, seqRange(5, 2)...) // all but 3 of the next wrap
	h.feed(t, 4)
	if got := nacked(h.f.tick(time.Now(), false)); !slices.Equal(got, []uint16{3}) {
		t.Fatalf("after a wrap: NACKs %v, want [3]", got)
	}
}

func TestFeedbackReceiverReport(t *testing.T) {
	tests := []struct {
		name         string
		seqs         []uint16
		fraction     uint8
		lost         uint32
		extended     uint32
		secondSeqs   []uint16
		fraction2    uint8
		lost2        uint32
		secondExtHas uint32
	}{
		{name: "no loss", seqs: seqRange(0, 99), fraction: 0, lost: 0, extended: 99,
			secondSeqs: seqRange(100, 199), fraction2: 0, lost2: 0, secondExtHas: 199},
		{name: "10 of 100 lost, then none", seqs: slices.DeleteFunc(seqRange(0, 99), func(s uint16) bool { return s%10 == 5 }),
			fraction: 25, lost: 10, extended: 99,
			secondSeqs: seqRange(100, 149), fraction2: 0, lost2: 10, secondExtHas: 149},
		{name: "wrap, half lost in the second interval", seqs: seqRange(65500, 65535), fraction: 0, lost: 0, extended: 65535,
			secondSeqs: []uint16{0, 2, 4, 6}, fraction2: 109, lost2: 3, secondExtHas: 1<<16 | 6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newFeedHarness(t, true)
			check := func(seqs []uint16, fraction uint8, lost, ext uint32) {
				t.Helper()
				h.feed(t, seqs...)
				var rrs []*rtcp.ReceiverReport
				for _, p := range h.f.tick(time.Now(), true) {
					if rr, ok := p.(*rtcp.ReceiverReport); ok {
						rrs = append(rrs, rr)
					}
				}
				if len(rrs) != 1 || len(rrs[0].Reports) != 1 {
					t.Fatalf("want one receiver report with one block, got %+v", rrs)
				}
				r := rrs[0].Reports[0]
				if r.SSRC != testSSRC || r.FractionLost != fraction || r.TotalLost != lost || r.LastSequenceNumber != ext {
					t.Fatalf("report %+v, want fraction %d lost %d extended %d", r, fraction, lost, ext)
				}
			}
			check(tt.seqs, tt.fraction, tt.lost, tt.extended)
			check(tt.secondSeqs, tt.fraction2, tt.lost2, tt.secondExtHas)
		})
	}
}

func TestFeedbackJitter(t *testing.T) {
	s := &rxStream{clockRate: testClock}
	// 30 packets at exactly their media time (50 per second): no jitter.
	for i := range 30 {
		s.record(uint16(i), uint32(i*1800), time.Duration(i)*20*time.Millisecond)
	}
	if r := s.report(time.Now()); r.Jitter != 0 {
		t.Fatalf("jitter %d on a perfectly paced stream", r.Jitter)
	}
	// Every other packet 10 ms (900 ticks) late: jitter approaches 900.
	for i := 30; i < 300; i++ {
		late := time.Duration(i%2) * 10 * time.Millisecond
		s.record(uint16(i), uint32(i*1800), time.Duration(i)*20*time.Millisecond+late)
	}
	if r := s.report(time.Now()); r.Jitter < 850 || r.Jitter > 910 {
		t.Fatalf("jitter %d, want about 900", r.Jitter)
	}
}

func TestFeedbackSenderReportEcho(t *testing.T) {
	h := newFeedHarness(t, true)
	h.feed(t, 1, 2)
	sr, err := rtcp.Marshal([]rtcp.Packet{
		&rtcp.PictureLossIndication{MediaSSRC: 1},
		&rtcp.SenderReport{SSRC: testSSRC, NTPTime: 0x0123456789abcdef},
	})
	if err != nil {
		t.Fatal(err)
	}
	reader := h.f.BindRTCPReader(interceptor.RTCPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		return copy(b, sr), a, nil
	}))
	if _, _, err := reader.Read(make([]byte, 1500), nil); err != nil {
		t.Fatal(err)
	}
	at := time.Now().Add(500 * time.Millisecond)
	pkts := h.f.tick(at, true)
	rr, ok := pkts[0].(*rtcp.ReceiverReport)
	if !ok {
		t.Fatalf("first packet %T, want the receiver report", pkts[0])
	}
	r := rr.Reports[0]
	if r.LastSenderReport != 0x456789ab {
		t.Fatalf("LSR %#x, want 0x456789ab", r.LastSenderReport)
	}
	if r.Delay < 65536/2-2000 || r.Delay > 65536/2+2000 {
		t.Fatalf("DLSR %d, want about half a second (32768)", r.Delay)
	}
}

func TestFeedbackTransportCC(t *testing.T) {
	h := newFeedHarness(t, false)
	h.feed(t, seqRange(1, 20)...)
	var cc *rtcp.TransportLayerCC
	for _, p := range h.f.tick(time.Now(), false) {
		if p, ok := p.(*rtcp.TransportLayerCC); ok {
			cc = p
		}
	}
	if cc == nil {
		t.Fatal("no transport-cc feedback")
	}
	if cc.BaseSequenceNumber != 1 || cc.PacketStatusCount != 20 || cc.MediaSSRC != testSSRC {
		t.Fatalf("feedback base %d count %d media %#x, want 1, 20, %#x", cc.BaseSequenceNumber, cc.PacketStatusCount, cc.MediaSSRC, testSSRC)
	}
}

// The point of this interceptor: the per-packet path allocates nothing.
func TestFeedbackReadAllocs(t *testing.T) {
	h := newFeedHarness(t, true)
	pkts := make([][]byte, 64)
	for i := range pkts {
		pkts[i] = testPacket(t, uint16(i), uint32(i)*3000, uint16(i))
	}
	i := 0
	read := func() {
		h.next = pkts[i%len(pkts)]
		i++
		if _, _, err := h.reader.Read(h.buf, nil); err != nil {
			t.Fatal(err)
		}
	}
	read()
	h.f.tick(time.Now(), true)
	if n := testing.AllocsPerRun(1000, read); n != 0 {
		t.Fatalf("%v allocations per packet, want 0", n)
	}
}

// The server's clock ticks the feedback once the RTCP writer is bound, and
// not after Close has returned.
func TestFeedbackTicksUntilClose(t *testing.T) {
	clk := newClock(5 * time.Millisecond)
	defer clk.close()
	f := newReceiveFeedback(clk)
	var writes atomic.Int64
	f.BindRemoteStream(&interceptor.StreamInfo{SSRC: testSSRC, ClockRate: testClock,
		RTPHeaderExtensions: []interceptor.RTPHeaderExtension{{URI: sdp.TransportCCURI, ID: testTWCC}}},
		interceptor.RTPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) { return 0, a, nil }))
	f.mu.Lock()
	f.streams[0].started = true // receiver reports are due
	f.mu.Unlock()
	time.Sleep(30 * time.Millisecond)
	if writes.Load() != 0 {
		t.Fatal("feedback written before the RTCP writer was bound")
	}
	w := interceptor.RTCPWriterFunc(func([]rtcp.Packet, interceptor.Attributes) (int, error) { writes.Add(1); return 0, nil })
	f.BindRTCPWriter(w)
	f.BindRTCPWriter(w) // a second bind changes nothing
	deadline := time.Now().Add(5 * time.Second)
	for writes.Load() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no feedback written in 5s of ticks")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	after := writes.Load()
	time.Sleep(30 * time.Millisecond)
	if n := writes.Load(); n != after {
		t.Fatalf("%d feedback writes after Close", n-after)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	clk.mu.Lock()
	left := len(clk.tickers)
	clk.mu.Unlock()
	if left != 0 {
		t.Fatalf("%d tickers left on the clock", left)
	}
}
