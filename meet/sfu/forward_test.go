package sfu

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/oneonone/oneonone/internal/errs"
)

func marshal(t testing.TB, p rtp.Packet) []byte {
	t.Helper()
	b, err := p.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestStripExtensions(t *testing.T) {
	payload := []byte{1, 2, 3, 4, 5}
	withExt := rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: 7, SSRC: 9}, Payload: payload}
	withExt.Header.SetExtension(1, []byte("0"))  // sdes:mid
	withExt.Header.SetExtension(10, []byte("h")) // a simulcast rid
	withCSRC := rtp.Packet{Header: rtp.Header{Version: 2, CSRC: []uint32{1, 2}}, Payload: payload}
	withCSRC.Header.SetExtension(3, []byte{0, 1})
	tests := []struct {
		name    string
		in      []byte
		wantErr bool
	}{
		{"plain", marshal(t, rtp.Packet{Header: rtp.Header{Version: 2}, Payload: payload}), false},
		{"one-byte extensions", marshal(t, withExt), false},
		{"csrc and extension", marshal(t, withCSRC), false},
		{"short", []byte{0x80, 0, 0}, true},
		{"version 0", make([]byte, 20), true},
		{"extension past the end", marshal(t, withExt)[:14], true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := stripExtensions(append([]byte(nil), tt.in...))
			if tt.wantErr {
				if err == nil {
					t.Fatal("accepted a malformed packet")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var p rtp.Packet
			if err := p.Unmarshal(out); err != nil {
				t.Fatal(err)
			}
			if p.Header.Extension || len(p.Header.Extensions) != 0 {
				t.Fatalf("extensions left: %v", p.Header.GetExtensionIDs())
			}
			if !bytes.Equal(p.Payload, payload) {
				t.Fatalf("payload %v, want %v", p.Payload, payload)
			}
		})
	}
}

func FuzzStripExtensions(f *testing.F) {
	p := rtp.Packet{Header: rtp.Header{Version: 2, CSRC: []uint32{1}}, Payload: []byte{1, 2, 3}}
	p.Header.SetExtension(1, []byte("abc"))
	f.Add(marshal(f, p))
	f.Add([]byte{0x90, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xbe, 0xde, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		out, err := stripExtensions(append([]byte(nil), b...))
		if err != nil {
			return
		}
		if out[0]&0x10 != 0 || len(out) > len(b) {
			t.Fatalf("bad strip of %x: %x", b, out)
		}
	})
}

// recordingWriter keeps what a downTrack writes.
type recordingWriter struct{ pkts []rtp.Packet }

func (w *recordingWriter) WriteRTP(h *rtp.Header, payload []byte) (int, error) {
	w.pkts = append(w.pkts, rtp.Packet{Header: h.Clone(), Payload: append([]byte(nil), payload...)})
	return len(payload), nil
}
func (w *recordingWriter) Write([]byte) (int, error) { return 0, errors.New("unused") }

// When the source changes (the other side reloads), the stream the
// subscriber sees continues: sequence numbers follow on, the timestamp
// advances by the wall-clock gap, and the SSRC and payload type are the
// subscriber's.
func TestDownTrackSwitchesSourcesSeamlessly(t *testing.T) {
	d := newDownTrack(webrtc.RTPCodecTypeVideo, "report")
	w := &recordingWriter{}
	d.binding.Store(&binding{ssrc: 0xabc, pt: 100, writer: w})
	s1, s2 := &upTrack{}, &upTrack{}
	t0 := time.Unix(1000, 0)
	send := func(src *upTrack, seq uint16, ts uint32, at time.Time, padding byte) {
		p := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: seq, Timestamp: ts, SSRC: 1, Marker: true}, Payload: []byte{7, 7}}
		if padding > 0 {
			p.Header.Padding, p.PaddingSize = true, padding
		}
		p.Header.SetExtension(1, []byte("0"))
		if err := d.write(marshal(t, p), src, at); err != nil {
			t.Fatal(err)
		}
	}
	send(s1, 100, 5000, t0, 0)
	send(s1, 101, 5000, t0, 4)
	send(s2, 60000, 123, t0.Add(time.Second), 0) // a new source, far away
	send(s2, 60001, 3123, t0.Add(time.Second), 0)
	send(s1, 102, 8000, t0.Add(time.Second), 0) // an old packet straggling in
	wantSeq := []uint16{100, 101, 102, 103}
	for i, p := range w.pkts[:4] {
		if p.SequenceNumber != wantSeq[i] || p.SSRC != 0xabc || p.PayloadType != 100 || !p.Marker || p.Extension {
			t.Fatalf("packet %d: %+v", i, p.Header)
		}
		if !bytes.Equal(p.Payload, []byte{7, 7}) {
			t.Fatalf("packet %d payload %v", i, p.Payload)
		}
	}
	if w.pkts[1].Header.PaddingSize != 4 {
		t.Fatalf("padding %d, want 4", w.pkts[1].Header.PaddingSize)
	}
	if got, want := w.pkts[2].Timestamp, uint32(5000+90000+1); got != want {
		t.Fatalf("timestamp after switch %d, want %d (one second later)", got, want)
	}
	if w.pkts[3].Timestamp-w.pkts[2].Timestamp != 3000 {
		t.Fatalf("timestamps of the new source not kept relative: %d", w.pkts[3].Timestamp-w.pkts[2].Timestamp)
	}
}

func TestDownTrackWriteDoesNotAllocate(t *testing.T) {
	d := newDownTrack(webrtc.RTPCodecTypeVideo, "report")
	d.binding.Store(&binding{ssrc: 1, pt: 96, writer: writerFunc(func(*rtp.Header, []byte) (int, error) { return 0, nil })})
	p := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: 1}, Payload: make([]byte, 1100)}
	p.Header.SetExtension(1, []byte("0"))
	orig := marshal(t, p)
	buf := make([]byte, len(orig))
	src := &upTrack{}
	now := time.Now()
	allocs := testing.AllocsPerRun(1000, func() {
		copy(buf, orig)
		if err := d.write(buf, src, now); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per forwarded packet", allocs)
	}
}

func TestConfigValidation(t *testing.T) {
	for _, c := range []Config{
		{UDPPort: 70000},
		{TCPPort: -2},
		{ListenIP: "localhost"},
		{PublicIP: "1.2.3"},
	} {
		if _, err := NewServer(c); err == nil {
			t.Fatalf("%+v accepted", c)
		} else if _, ok := errs.AsInvalid(err); !ok {
			t.Fatalf("%+v: %v is not *errs.Invalid", c, err)
		}
	}
	if _, err := roleIndex("admin"); err == nil {
		t.Fatal("role admin accepted")
	}
}

// The packet cache returns what was put under a sequence number until the
// slot is reused, and nothing for a packet it never held.
func TestPacketCache(t *testing.T) {
	var c packetCache
	pkt := func(n int, fill byte) []byte { return bytes.Repeat([]byte{fill}, n) }
	c.put(10, pkt(100, 1))
	c.put(11, pkt(1200, 2))
	c.put(12, pkt(cacheSlotSize+1, 3)) // too big: not cached
	tests := []struct {
		seq  uint16
		want []byte
	}{
		{10, pkt(100, 1)},
		{11, pkt(1200, 2)},
		{12, nil},
		{13, nil},
		{10 + cacheSlots, nil}, // same slot, other packet
	}
	for _, tt := range tests {
		if got := c.get(tt.seq); !bytes.Equal(got, tt.want) {
			t.Errorf("get(%d) = %d bytes, want %d", tt.seq, len(got), len(tt.want))
		}
	}
	c.put(10+cacheSlots, pkt(50, 4))
	if c.get(10) != nil || !bytes.Equal(c.get(10+cacheSlots), pkt(50, 4)) {
		t.Error("a reused slot still answers for its old packet")
	}
	// Once the ring has gone round, old packets are gone even though
	// their index slots were not reused, and the recent ones are intact.
	var r packetCache
	n := cacheMinBytes/1200 + 10
	for i := range n {
		r.put(uint16(1000+i), pkt(1200, byte(i)))
	}
	for i := range n {
		got := r.get(uint16(1000 + i))
		inRing := (n-i)*1200 <= cacheMinBytes-1200 // conservatively inside the ring
		switch {
		case got != nil && !bytes.Equal(got, pkt(1200, byte(i))):
			t.Fatalf("packet %d came back corrupted", i)
		case inRing && got == nil:
			t.Errorf("recent packet %d of %d lost", i, n)
		case i < 10 && got != nil:
			t.Errorf("packet %d answered after the ring overwrote it", i)
		}
	}
	big := pkt(1200, 5)
	if n := testing.AllocsPerRun(100, func() { c.put(20, big) }); n != 0 {
		t.Errorf("put allocates %v times", n)
	}
}

// A NACK for a packet the ring has overwritten grows the ring, so the
// next loss on that slow path is answered; packets still held survive the
// growth intact, overwritten ones are not answered for, and the ring stops
// growing at cacheMaxBytes.
func TestPacketCacheGrowsOnLateNACK(t *testing.T) {
	var c packetCache
	pkt := func(seq uint16) []byte { return bytes.Repeat([]byte{byte(seq), byte(seq >> 8)}, 500) } // 1000 bytes
	seq := uint16(0)
	send := func(n int) {
		for range n {
			c.put(seq, pkt(seq))
			seq++
		}
	}
	send(cacheMinBytes/1000 + 20) // the first ~20 are overwritten
	if len(c.buf) != cacheMinBytes {
		t.Fatalf("ring of %d bytes before any loss, want %d", len(c.buf), cacheMinBytes)
	}
	recent := seq - 5
	if got := c.get(recent); !bytes.Equal(got, pkt(recent)) {
		t.Fatal("a recent packet is missing")
	}
	if len(c.buf) != cacheMinBytes {
		t.Fatal("answering a NACK grew the ring")
	}
	if c.get(2) != nil {
		t.Fatal("an overwritten packet was answered")
	}
	if len(c.buf) != 2*cacheMinBytes {
		t.Fatalf("ring of %d bytes after a late NACK, want %d", len(c.buf), 2*cacheMinBytes)
	}
	// What the small ring held is still there, what it had lost is not.
	for s := uint16(0); s < seq; s++ {
		got := c.get(s)
		if got != nil && !bytes.Equal(got, pkt(s)) {
			t.Fatalf("packet %d corrupted by the growth", s)
		}
		if s >= seq-10 && got == nil {
			t.Fatalf("packet %d lost by the growth", s)
		}
		if s < 10 && got != nil {
			t.Fatalf("packet %d, overwritten before the growth, answered after it", s)
		}
	}
	// The larger ring now covers a delay the small one did not.
	send(cacheMinBytes/1000 + 10)
	if late := seq - uint16(cacheMinBytes/1000) - 5; !bytes.Equal(c.get(late), pkt(late)) {
		t.Fatal("the grown ring did not hold a packet older than the small ring could")
	}
	for range 10 {
		c.grow()
	}
	if len(c.buf) != cacheMaxBytes {
		t.Fatalf("ring grew to %d bytes, past %d", len(c.buf), cacheMaxBytes)
	}
}
