package sfu

import (
	"encoding/binary"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// downTrack is what a participant receives of one kind. Each participant
// gets one audio and one video downTrack in its very first offer, whoever
// publishes into them later. So the other side joining, publishing or
// reloading never needs a renegotiation: the race where a subscriber's
// offer crosses a new publication (and the joiner never gets the stream)
// cannot happen. When the source changes, sequence numbers and timestamps
// are rewritten to continue where the last source stopped, so the
// browser's jitter buffer sees one continuous stream.
type downTrack struct {
	kind      webrtc.RTPCodecType
	codec     webrtc.RTPCodecCapability
	id        string
	streamID  string
	clockRate uint32

	binding atomic.Pointer[binding]

	// Everything below is the hot path's state, guarded by mu: normally a
	// single forwarder writes, but an old and a new source may overlap for
	// a packet or two during a reload.
	mu       sync.Mutex
	hdr      rtp.Header // reused: no allocation per packet
	src      *upTrack
	started  bool
	seqOff   uint16
	tsOff    uint32
	lastSeq  uint16
	lastTS   uint32
	lastTime time.Time
	cache    *packetCache // video only: answers the subscriber's NACKs
	rtxHdr   rtp.Header

	// Feedback from the subscriber, read by the publisher's feedback loop.
	estimate  atomic.Uint64 // bits/s, loss-based, from receiver reports
	remb      atomic.Uint64 // bits/s, the subscriber's own REMB, if any
	rembAt    atomic.Int64  // unix nanos of the last REMB
	packetsTx atomic.Uint64
}

type binding struct {
	ssrc   uint32
	pt     uint8
	writer webrtc.TrackLocalWriter
}

func newDownTrack(kind webrtc.RTPCodecType, streamID string) *downTrack {
	d := &downTrack{kind: kind, streamID: streamID}
	if kind == webrtc.RTPCodecTypeAudio {
		d.codec, d.id = opusCodec, "audio"
	} else {
		d.codec, d.id = vp8Codec, "video"
	}
	d.clockRate = d.codec.ClockRate
	d.estimate.Store(initialEstimate)
	if kind == webrtc.RTPCodecTypeVideo {
		d.cache = &packetCache{}
	}
	return d
}

// TrackLocal implementation: pion calls Bind once the subscriber's answer
// is applied, with the SSRC and payload type to write.

func (d *downTrack) Bind(ctx webrtc.TrackLocalContext) (webrtc.RTPCodecParameters, error) {
	for _, c := range ctx.CodecParameters() {
		if c.MimeType == d.codec.MimeType {
			d.binding.Store(&binding{ssrc: uint32(ctx.SSRC()), pt: uint8(c.PayloadType), writer: ctx.WriteStream()})
			return c, nil
		}
	}
	return webrtc.RTPCodecParameters{}, webrtc.ErrUnsupportedCodec
}

func (d *downTrack) Unbind(webrtc.TrackLocalContext) error {
	d.binding.Store(nil)
	return nil
}

func (d *downTrack) ID() string                { return d.id }
func (d *downTrack) RID() string               { return "" }
func (d *downTrack) StreamID() string          { return d.streamID }
func (d *downTrack) Kind() webrtc.RTPCodecType { return d.kind }

var errShortPacket = errors.New("sfu: short rtp packet")

// write forwards one RTP packet read from src. b is modified in place and
// not retained. This is the hot path: no allocation.
func (d *downTrack) write(b []byte, src *upTrack, now time.Time) error {
	bd := d.binding.Load()
	if bd == nil {
		return nil // not negotiated yet: nothing to send to
	}
	b, err := stripExtensions(b)
	if err != nil {
		return err
	}
	seq := binary.BigEndian.Uint16(b[2:4])
	ts := binary.BigEndian.Uint32(b[4:8])

	d.mu.Lock()
	defer d.mu.Unlock()
	if src != d.src {
		if d.started {
			// Continue after the last packet sent, with a timestamp gap
			// matching the wall-clock gap.
			gap := uint32(now.Sub(d.lastTime).Seconds()*float64(d.clockRate)) + 1
			d.seqOff = d.lastSeq + 1 - seq
			d.tsOff = d.lastTS + gap - ts
		}
		d.src = src
	}
	outSeq := seq + d.seqOff
	outTS := ts + d.tsOff
	if !d.started || int16(outSeq-d.lastSeq) > 0 {
		d.lastSeq, d.lastTS, d.lastTime = outSeq, outTS, now
		d.started = true
	}
	binary.BigEndian.PutUint16(b[2:4], outSeq)
	binary.BigEndian.PutUint32(b[4:8], outTS)
	binary.BigEndian.PutUint32(b[8:12], bd.ssrc)
	b[1] = b[1]&0x80 | bd.pt&0x7f
	if d.cache != nil {
		d.cache.put(outSeq, b)
	}
	d.packetsTx.Add(1)
	return send(bd, &d.hdr, b)
}

// send writes one rewritten packet b through pion's send path (sender
// reports, SRTP, the socket), parsing its header into the reused hdr.
func send(bd *binding, hdr *rtp.Header, b []byte) error {
	n, err := hdr.Unmarshal(b)
	if err != nil {
		return err
	}
	payload := b[n:]
	hdr.PaddingSize = 0
	if hdr.Padding {
		// The header carries the padding length; the payload excludes it,
		// as rtp.Packet.Unmarshal does, or the marshaller pads twice.
		pad := int(b[len(b)-1])
		if pad == 0 || pad > len(payload) {
			return errShortPacket
		}
		hdr.PaddingSize = byte(pad)
		payload = payload[:len(payload)-pad]
	}
	_, err = bd.writer.WriteRTP(hdr, payload)
	return err
}

// retransmit answers a subscriber's NACK from the cache of what was sent;
// a packet that has left the cache is not asked of the publisher (its
// keyframe request path covers a long loss).
func (d *downTrack) retransmit(nack *rtcp.TransportLayerNack) (sent int) {
	bd := d.binding.Load()
	if bd == nil || d.cache == nil || nack.MediaSSRC != bd.ssrc {
		return 0
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, pair := range nack.Nacks {
		pair.Range(func(seq uint16) bool {
			if b := d.cache.get(seq); b != nil && send(bd, &d.rtxHdr, b) == nil {
				sent++
			}
			return true
		})
	}
	return sent
}

// packetCache holds the packets last sent on a video track, as sent
// (rewritten, extensions stripped, before encryption), back to back in one
// ring of bytes: no allocation per packet, and memory bounded by bytes
// rather than by slots of the largest packet size. At most cacheSlots are
// indexed.
//
// The ring starts at cacheMinBytes, the last ~25 packets of 1.5 Mbit/s
// video (~170 ms at 150 packets/s): enough for the subscriber's NACK to
// arrive on any network with a round trip under ~150 ms. A NACK for a
// packet the ring has already overwritten says this subscriber's path is
// slower than that, so the ring doubles, up to cacheMaxBytes (~1.4 s), and
// stays so for the session. It was a fixed 96 KiB ring (and before that
// 128 slots of 1500 bytes): the largest item of the heap profile under
// load, paid by every room whether or not it ever lost a packet.
const (
	cacheSlots    = 128
	cacheSlotSize = 1500 // larger packets are not cached
	cacheMinBytes = 32 << 10
	cacheMaxBytes = 256 << 10
)

type packetCache struct {
	seq   [cacheSlots]uint16
	size  [cacheSlots]uint16 // 0: empty
	start [cacheSlots]uint64 // position of the packet in the stream of bytes written
	pos   uint64             // bytes written so far, counting skipped ring tails
	buf   []byte             // the ring; allocated by the first put
}

func (c *packetCache) put(seq uint16, b []byte) {
	i := int(seq % cacheSlots)
	if len(b) > cacheSlotSize || len(b) == 0 {
		c.size[i] = 0
		return
	}
	if c.buf == nil {
		c.buf = make([]byte, cacheMinBytes)
	}
	n := uint64(len(c.buf))
	// A packet never wraps around the ring's end: skip the tail.
	if off := c.pos % n; off+uint64(len(b)) > n {
		c.pos += n - off
	}
	copy(c.buf[c.pos%n:], b)
	c.seq[i], c.size[i], c.start[i] = seq, uint16(len(b)), c.pos
	c.pos += uint64(len(b))
}

// get returns the cached packet of seq, or nil if it was never held or its
// bytes have been overwritten since; in the latter case the ring grows for
// the next loss. The bytes stay valid until the next put or get (callers
// hold downTrack.mu).
func (c *packetCache) get(seq uint16) []byte {
	i := int(seq % cacheSlots)
	if c.size[i] == 0 || c.seq[i] != seq {
		return nil
	}
	n := uint64(len(c.buf))
	if c.pos-c.start[i] > n {
		c.grow()
		return nil
	}
	off := c.start[i] % n
	return c.buf[off : off+uint64(c.size[i])]
}

// grow doubles the ring, keeping the packets it holds at the same stream
// positions: a packet never crosses a multiple of the old size, so it
// crosses no multiple of the new one either, and packets within the last
// old-size bytes land on distinct bytes of the new ring. Index slots of
// packets already overwritten are emptied, or the larger ring would
// answer for them with bytes it never held.
func (c *packetCache) grow() {
	n := uint64(len(c.buf))
	if n == 0 || n >= cacheMaxBytes {
		return
	}
	nb := make([]byte, 2*n)
	for i := range c.size {
		if c.size[i] == 0 {
			continue
		}
		if c.pos-c.start[i] > n {
			c.size[i] = 0
			continue
		}
		from, to := c.start[i]%n, c.start[i]%(2*n)
		copy(nb[to:to+uint64(c.size[i])], c.buf[from:from+uint64(c.size[i])])
	}
	c.buf = nb
}

// stripExtensions removes the RTP header extension block, if any, in
// place. The publisher's extensions were negotiated with the publisher,
// and some (sdes:mid, simulcast ids) make Chrome drop media it did not
// negotiate; the sending side's interceptors add what the subscriber
// agreed to.
func stripExtensions(b []byte) ([]byte, error) {
	if len(b) < 12 || b[0]>>6 != 2 {
		return nil, errShortPacket
	}
	if b[0]&0x10 == 0 {
		return b, nil
	}
	off := 12 + 4*int(b[0]&0x0f)
	if len(b) < off+4 {
		return nil, errShortPacket
	}
	extLen := 4 + 4*int(binary.BigEndian.Uint16(b[off+2:off+4]))
	if len(b) < off+extLen {
		return nil, errShortPacket
	}
	n := copy(b[off:], b[off+extLen:])
	b[0] &^= 0x10
	return b[:off+n], nil
}

// upTrack is one track a participant publishes.
type upTrack struct {
	owner  *participant
	remote *webrtc.TrackRemote
	kind   webrtc.RTPCodecType
	ssrc   uint32
}

// forward reads the publisher's packets until the track ends and writes
// each to the other participant's downTrack of the same kind.
func (u *upTrack) forward() {
	p := u.owner
	r := p.room
	other := 1 - p.slot
	kind := 0
	if u.kind == webrtc.RTPCodecTypeVideo {
		kind = 1
	}
	buf := make([]byte, 1500)
	for {
		n, _, err := u.remote.Read(buf)
		if err != nil {
			return
		}
		// A replaced connection stops forwarding at once, so two sources
		// never interleave into one downTrack.
		if r.slots[p.slot].Load() != p {
			continue
		}
		sub := r.slots[other].Load()
		if sub == nil {
			continue
		}
		if err := sub.out[kind].write(buf[:n], u, time.Now()); err != nil && !errors.Is(err, errShortPacket) {
			p.log.Debug("sfu: forward", "err", err)
		}
	}
}
