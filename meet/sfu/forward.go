package sfu

import (
	"encoding/binary"
	"errors"
	"sync"
	"sync/atomic"
	"time"

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
	n, err := d.hdr.Unmarshal(b)
	if err != nil {
		return err
	}
	payload := b[n:]
	d.hdr.PaddingSize = 0
	if d.hdr.Padding {
		// The header carries the padding length; the payload excludes it,
		// as rtp.Packet.Unmarshal does, or the marshaller pads twice.
		pad := int(b[len(b)-1])
		if pad == 0 || pad > len(payload) {
			return errShortPacket
		}
		d.hdr.PaddingSize = byte(pad)
		payload = payload[:len(payload)-pad]
	}
	d.packetsTx.Add(1)
	_, err = bd.writer.WriteRTP(&d.hdr, payload)
	return err
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
