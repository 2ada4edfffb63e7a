package sfu

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"

	"github.com/oneonone/oneonone/meet/signal"
)

// leaveReason says why a participant's session ended; it is sent in "bye".
type leaveReason string

func (r leaveReason) Error() string { return "sfu: " + string(r) }

const (
	leaveBye          leaveReason = "leaving"
	leaveReplaced     leaveReason = "replaced"
	leaveServerClosed             = "server closing"
	leaveGone         leaveReason = "connection lost"
	leaveNoAnswer     leaveReason = "no answer"
	leaveBadAnswers   leaveReason = "bad answers"
	leaveMediaFailed  leaveReason = "media connection failed"
	leaveInternal     leaveReason = "internal error"
)

// room is one series' room: two slots, read without locks on the hot
// path and changed only under Server.mu.
type room struct {
	id    string
	slots [2]atomic.Pointer[participant]
}

const (
	maxPendingCandidates = 64
	maxAnswerAttempts    = 3
	keyframeMinInterval  = 300 * time.Millisecond
	rembEvery            = 9 // clock ticks (feedbackTick) between bandwidth estimates: ~0.9 s
	initialEstimate      = 2_500_000
	minEstimate          = 150_000
	maxEstimate          = 6_000_000
)

type participant struct {
	srv  *Server
	room *room
	slot int
	conn signal.Conn
	pc   *webrtc.PeerConnection
	log  *slog.Logger

	out [2]*downTrack              // what this participant receives: audio, video
	up  [2]atomic.Pointer[upTrack] // what it publishes
	snd [2]*webrtc.RTPSender       // senders of out
	ctx context.Context            // ends the session
	end context.CancelCauseFunc    // cause: a leaveReason
	wg  sync.WaitGroup             // every goroutine of this participant

	negotiate chan struct{} // coalesced requests for a new offer
	restart   atomic.Bool   // next offer restarts ICE
	awaiting  atomic.Bool   // an offer waits for its answer
	answers   chan signal.Message

	// Keyframe requests to this publisher (requestKeyframe, onTick).
	pliMu      sync.Mutex
	pendingPLI bool
	lastPLI    time.Time
	ticks      int // the clock's goroutine only

	mu          sync.Mutex
	closing     bool
	haveRemote  bool // an answer has been applied and no offer is in flight
	pending     []webrtc.ICECandidateInit
	offerSerial int
}

func (p *participant) stop(reason leaveReason) { p.end(reason) }

func (p *participant) requestNegotiation() {
	select {
	case p.negotiate <- struct{}{}:
	default:
	}
}

// requestKeyframe asks this publisher for a keyframe now, or as soon as
// keyframeMinInterval allows.
func (p *participant) requestKeyframe() {
	p.pliMu.Lock()
	p.pendingPLI = true
	p.pliMu.Unlock()
	p.sendPendingPLI(time.Now())
}

func (p *participant) other() *participant { return p.room.slots[1-p.slot].Load() }

// goroutine starts f as one of p's goroutines unless p is closing.
func (p *participant) goroutine(f func()) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closing {
		return false
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		f()
	}()
	return true
}

func (s *Server) join(ctx context.Context, roomID string, slot int, conn signal.Conn) error {
	role := roleNames[slot]
	log := s.cfg.Logger.With("room", roomID, "role", role)
	if err := waitJoin(ctx, conn, s.cfg.JoinTimeout); err != nil {
		conn.Close("no join")
		if errors.Is(err, errLeftBeforeJoin) {
			return nil
		}
		return fmt.Errorf("sfu: room %s: %w", roomID, err)
	}
	p := &participant{
		srv: s, slot: slot, conn: conn, log: log,
		negotiate: make(chan struct{}, 1),
		answers:   make(chan signal.Message, 1),
	}
	p.ctx, p.end = context.WithCancelCause(context.Background())
	defer p.end(nil)
	stopWithCaller := context.AfterFunc(ctx, func() { p.stop(leaveGone) })
	defer stopWithCaller()
	if err := p.setupPeerConnection(); err != nil {
		conn.Send(signal.Message{Type: signal.TypeBye, Data: &signal.Bye{Reason: string(leaveInternal)}})
		conn.Close(string(leaveInternal))
		return fmt.Errorf("sfu: room %s: %w", roomID, err)
	}

	// Take the slot.
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		p.teardown(leaveServerClosed)
		return ErrClosed
	}
	r := s.rooms[roomID]
	if r == nil {
		r = &room{id: roomID}
		s.rooms[roomID] = r
		s.roomsActive.Add(1)
	}
	p.room = r
	old := r.slots[slot].Swap(p)
	if old == nil {
		s.participants.Add(1)
	}
	s.mu.Unlock()
	now := s.cfg.Now()
	if old != nil {
		old.stop(leaveReplaced)
		log.Info("sfu: participant replaced by a new connection")
	} else {
		s.cfg.OnJoin(roomID, role, now)
		log.Info("sfu: participant joined")
	}

	joined := &signal.Joined{Role: role, ICEServers: s.cfg.ICEServers}
	if joined.ICEServers == nil {
		joined.ICEServers = []signal.ICEServer{}
	}
	if o := p.other(); o != nil {
		joined.Peer = roleNames[o.slot]
		o.conn.Send(signal.Message{Type: signal.TypePeerJoined, Data: &signal.Peer{Role: role}})
	}
	conn.Send(signal.Message{Type: signal.TypeJoined, Data: joined})

	msgs := make(chan signal.Message)
	p.goroutine(func() { p.readLoop(msgs) })
	p.goroutine(p.negotiateLoop)
	p.srv.clock.add(p)
	for i := range p.snd {
		p.goroutine(func() { p.readSenderRTCP(p.out[i], p.snd[i]) })
	}
	p.requestNegotiation()

	for {
		select {
		case m := <-msgs:
			p.handle(m)
		case <-p.ctx.Done():
			reason, _ := context.Cause(p.ctx).(leaveReason)
			if reason == "" {
				reason = leaveGone
			}
			p.detach(reason)
			p.teardown(reason)
			return nil
		}
	}
}

var errLeftBeforeJoin = errors.New("left before joining")

// waitJoin waits for the client's "join": the client has its handlers in
// place and the offer may go out.
func waitJoin(ctx context.Context, conn signal.Conn, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		m, err := conn.Receive(ctx)
		var pe *signal.ProtocolError
		switch {
		case errors.As(err, &pe):
			conn.Send(signal.ErrorMessage(pe))
			continue
		case err != nil:
			return fmt.Errorf("waiting for join: %w", err)
		}
		switch m.Type {
		case signal.TypeJoin:
			return nil
		case signal.TypeBye:
			return errLeftBeforeJoin
		default:
			conn.Send(signal.ErrorMessage(&signal.ProtocolError{Code: signal.CodeBadState, ID: m.ID, Message: "send join first"}))
		}
	}
}

func (p *participant) setupPeerConnection() error {
	cert, err := p.srv.certificate()
	if err != nil {
		return err
	}
	pc, err := p.srv.api.NewPeerConnection(webrtc.Configuration{
		BundlePolicy:  webrtc.BundlePolicyMaxBundle,
		RTCPMuxPolicy: webrtc.RTCPMuxPolicyRequire,
		Certificates:  []webrtc.Certificate{cert},
	})
	if err != nil {
		return fmt.Errorf("new peer connection: %w", err)
	}
	p.pc = pc
	// The first two sections carry what the participant publishes; the
	// browser's addTrack reuses them. The last two carry the other
	// participant's media, whoever that is over the session.
	for _, kind := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeAudio, webrtc.RTPCodecTypeVideo} {
		if _, err := pc.AddTransceiverFromKind(kind, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
			pc.Close()
			return fmt.Errorf("add receiver: %w", err)
		}
	}
	peerStream := roleNames[1-p.slot]
	for i, kind := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeAudio, webrtc.RTPCodecTypeVideo} {
		p.out[i] = newDownTrack(kind, peerStream)
		t, err := pc.AddTransceiverFromTrack(p.out[i], webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
		if err != nil {
			pc.Close()
			return fmt.Errorf("add sender: %w", err)
		}
		p.snd[i] = t.Sender()
	}
	pc.OnTrack(p.onTrack)
	pc.OnConnectionStateChange(func(st webrtc.PeerConnectionState) {
		switch st {
		case webrtc.PeerConnectionStateConnected:
			// A subscriber that just connected needs a keyframe to start.
			if o := p.other(); o != nil {
				o.requestKeyframe()
			}
		case webrtc.PeerConnectionStateFailed:
			p.stop(leaveMediaFailed)
		}
	})
	return nil
}

func (p *participant) onTrack(remote *webrtc.TrackRemote, receiver *webrtc.RTPReceiver) {
	kind := 0
	if remote.Kind() == webrtc.RTPCodecTypeVideo {
		kind = 1
	}
	u := &upTrack{owner: p, remote: remote, kind: remote.Kind(), ssrc: uint32(remote.SSRC())}
	p.up[kind].Store(u)
	if !p.goroutine(u.forward) {
		return
	}
	p.goroutine(func() {
		// Drain the publisher's RTCP so its sender reports reach the
		// interceptors (receiver reports need them).
		buf := make([]byte, 1500)
		for {
			if _, _, err := receiver.Read(buf); err != nil {
				return
			}
		}
	})
	if kind == 1 {
		p.requestKeyframe()
	}
}

// readLoop turns the connection's messages into msgs until it fails.
func (p *participant) readLoop(msgs chan<- signal.Message) {
	for {
		m, err := p.conn.Receive(context.Background())
		var pe *signal.ProtocolError
		if errors.As(err, &pe) {
			p.conn.Send(signal.ErrorMessage(pe))
			continue
		}
		if err != nil {
			p.stop(leaveGone)
			return
		}
		select {
		case msgs <- m:
		case <-p.ctx.Done():
			return
		}
	}
}

func (p *participant) refuse(m signal.Message, code, msg string) {
	p.conn.Send(signal.ErrorMessage(&signal.ProtocolError{Code: code, ID: m.ID, Message: msg}))
}

func (p *participant) handle(m signal.Message) {
	switch m.Type {
	case signal.TypeAnswer:
		if !p.awaiting.Load() {
			p.refuse(m, signal.CodeBadState, "no offer is waiting for an answer")
			return
		}
		select {
		case p.answers <- m:
		default:
			p.refuse(m, signal.CodeBadState, "no offer is waiting for an answer")
		}
	case signal.TypeCandidate:
		c := m.Data.(*signal.Candidate)
		init := webrtc.ICECandidateInit{Candidate: c.Candidate, SDPMid: c.SDPMid, SDPMLineIndex: c.SDPMLineIndex, UsernameFragment: c.UsernameFragment}
		p.mu.Lock()
		defer p.mu.Unlock()
		if !p.haveRemote {
			// Early candidates wait for the answer they belong to.
			if len(p.pending) >= maxPendingCandidates {
				p.refuse(m, signal.CodeBadState, "too many candidates before the answer")
				return
			}
			p.pending = append(p.pending, init)
			return
		}
		if err := p.pc.AddICECandidate(init); err != nil {
			p.refuse(m, signal.CodeBadData, "candidate refused")
		}
	case signal.TypeICERestart:
		p.restart.Store(true)
		p.requestNegotiation()
	case signal.TypeBye:
		p.stop(leaveBye)
	case signal.TypeOffer:
		p.refuse(m, signal.CodeBadState, "the server makes the offers; send ice-restart to renegotiate")
	case signal.TypeJoin:
		p.refuse(m, signal.CodeBadState, "already joined")
	case signal.TypeMediaState:
		p.srv.cfg.OnMessage(p.room.id, roleNames[p.slot], m)
	default:
		if len(m.Type) > len(signal.AgendaPrefix) && string(m.Type[:len(signal.AgendaPrefix)]) == signal.AgendaPrefix {
			p.srv.cfg.OnMessage(p.room.id, roleNames[p.slot], m)
			return
		}
		p.refuse(m, signal.CodeBadState, string(m.Type)+" is sent by the server")
	}
}

// negotiateLoop makes one offer at a time: requests that arrive while an
// offer is in flight (have-local-offer) are coalesced into the next one,
// so there is never a glare with ourselves.
func (p *participant) negotiateLoop() {
	for {
		select {
		case <-p.ctx.Done():
			return
		case <-p.negotiate:
		}
		if err := p.offer(); err != nil {
			var lr leaveReason
			if !errors.As(err, &lr) {
				if p.ctx.Err() == nil {
					p.log.Warn("sfu: negotiation", "err", err)
				}
				lr = leaveInternal
			}
			p.stop(lr)
			return
		}
	}
}

func (p *participant) offer() error {
	offer, err := p.pc.CreateOffer(&webrtc.OfferOptions{ICERestart: p.restart.Swap(false)})
	if err != nil {
		return fmt.Errorf("create offer: %w", err)
	}
	// With only host candidates on the muxed sockets gathering takes
	// microseconds, so the offer carries them all: no server-side trickle
	// racing the offer to the client.
	gathered := webrtc.GatheringCompletePromise(p.pc)
	p.mu.Lock()
	p.haveRemote = false
	p.offerSerial++
	id := "o" + strconv.Itoa(p.offerSerial)
	p.mu.Unlock()
	if err := p.pc.SetLocalDescription(offer); err != nil {
		return fmt.Errorf("set local offer: %w", err)
	}
	select {
	case <-gathered:
	case <-p.ctx.Done():
		return context.Cause(p.ctx)
	}
	// pion cannot roll a local offer back, so a refused answer gets the
	// same offer again under a new id; the client, stable after its own
	// answer, treats it as a renegotiation and answers anew.
	for attempt := 1; ; attempt++ {
		select { // a stale answer must not answer this offer
		case <-p.answers:
		default:
		}
		if attempt > 1 {
			p.mu.Lock()
			p.offerSerial++
			id = "o" + strconv.Itoa(p.offerSerial)
			p.mu.Unlock()
		}
		p.awaiting.Store(true) // before sending: the answer may be quick
		if err := p.conn.Send(signal.Message{Type: signal.TypeOffer, ID: id, Data: &signal.SessionDescription{SDP: p.pc.LocalDescription().SDP}}); err != nil {
			return leaveGone
		}
		m, err := p.awaitAnswer()
		p.awaiting.Store(false)
		if err != nil {
			return err
		}
		answer := webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: m.Data.(*signal.SessionDescription).SDP}
		err = p.pc.SetRemoteDescription(answer)
		if err == nil {
			break
		}
		p.conn.Send(signal.ErrorMessage(&signal.ProtocolError{Code: signal.CodeBadSDP, ID: m.ID, Message: "answer refused: " + truncate(err.Error(), 200)}))
		if attempt == maxAnswerAttempts {
			return leaveBadAnswers
		}
	}
	p.mu.Lock()
	p.haveRemote = true
	pending := p.pending
	p.pending = nil
	for _, c := range pending {
		if err := p.pc.AddICECandidate(c); err != nil {
			p.log.Debug("sfu: queued candidate refused", "err", err)
		}
	}
	p.mu.Unlock()
	return nil
}

func (p *participant) awaitAnswer() (signal.Message, error) {
	timer := time.NewTimer(p.srv.cfg.AnswerTimeout)
	defer timer.Stop()
	select {
	case m := <-p.answers:
		return m, nil
	case <-timer.C:
		return signal.Message{}, leaveNoAnswer
	case <-p.ctx.Done():
		return signal.Message{}, context.Cause(p.ctx)
	}
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// onTick, on the server's clock, sends this publisher the keyframe
// request held back by keyframeMinInterval, if any, and every rembEvery
// ticks the bandwidth estimate of the participant receiving its media.
func (p *participant) onTick(now time.Time) {
	p.sendPendingPLI(now)
	if p.ticks++; p.ticks%rembEvery == 0 {
		p.sendREMB()
	}
}

// sendPendingPLI asks this publisher for a keyframe if one was requested
// and the last request is at least keyframeMinInterval old; otherwise the
// request waits for a later tick.
func (p *participant) sendPendingPLI(now time.Time) {
	p.pliMu.Lock()
	defer p.pliMu.Unlock()
	if !p.pendingPLI || now.Sub(p.lastPLI) < keyframeMinInterval {
		return
	}
	u := p.up[1].Load()
	if u == nil {
		return // nothing published yet: the request waits for the track
	}
	if err := p.pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: u.ssrc}}); err == nil {
		p.lastPLI = now
		p.pendingPLI = false
	}
}

// sendREMB caps the publisher's video bitrate at what the other side can
// receive: the subscriber's own REMB if it sends one, else an estimate from
// the losses in its receiver reports. So video adapts to the weaker side.
func (p *participant) sendREMB() {
	u := p.up[1].Load()
	sub := p.other()
	if u == nil || sub == nil {
		return
	}
	d := sub.out[1]
	est := d.estimate.Load()
	if time.Since(time.Unix(0, d.rembAt.Load())) < 3*time.Second {
		est = min(est, d.remb.Load())
	}
	p.pc.WriteRTCP([]rtcp.Packet{&rtcp.ReceiverEstimatedMaximumBitrate{Bitrate: float32(est), SSRCs: []uint32{u.ssrc}}})
}

// readSenderRTCP reads the subscriber's feedback on one downTrack: NACKs
// are answered from the downTrack's packet cache, keyframe requests go to
// the publisher, REMB and receiver reports feed the estimate.
func (p *participant) readSenderRTCP(d *downTrack, s *webrtc.RTPSender) {
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
		for _, pkt := range pkts {
			switch pkt := pkt.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				if pub := p.other(); pub != nil {
					pub.requestKeyframe()
				}
			case *rtcp.TransportLayerNack:
				d.retransmit(pkt)
			case *rtcp.ReceiverEstimatedMaximumBitrate:
				d.remb.Store(uint64(pkt.Bitrate))
				d.rembAt.Store(time.Now().UnixNano())
			case *rtcp.ReceiverReport:
				bd := d.binding.Load()
				for _, rr := range pkt.Reports {
					if bd != nil && rr.SSRC == bd.ssrc {
						d.estimate.Store(lossBasedEstimate(d.estimate.Load(), rr.FractionLost))
					}
				}
			}
		}
	}
}

// lossBasedEstimate follows the loss-based half of Google congestion
// control: back off above 10% loss, probe up below 2%.
func lossBasedEstimate(cur uint64, fractionLost uint8) uint64 {
	loss := float64(fractionLost) / 256
	switch {
	case loss > 0.10:
		cur = uint64(float64(cur) * (1 - 0.5*loss))
	case loss < 0.02:
		cur = uint64(float64(cur) * 1.05)
	}
	return max(minEstimate, min(maxEstimate, cur))
}

// detach frees the slot unless a newer connection took it, and closes the
// room when it is empty.
func (p *participant) detach(reason leaveReason) {
	s := p.srv
	s.mu.Lock()
	left := p.room.slots[p.slot].CompareAndSwap(p, nil)
	if left {
		s.participants.Add(-1)
		if p.room.slots[0].Load() == nil && p.room.slots[1].Load() == nil {
			delete(s.rooms, p.room.id)
			s.roomsActive.Add(-1)
		}
	}
	s.mu.Unlock()
	if !left {
		return
	}
	role := roleNames[p.slot]
	s.cfg.OnLeave(p.room.id, role, s.cfg.Now())
	p.log.Info("sfu: participant left", "reason", string(reason))
	if o := p.other(); o != nil {
		o.conn.Send(signal.Message{Type: signal.TypePeerLeft, Data: &signal.Peer{Role: role}})
	}
}

// teardown closes the media, says bye and waits for every goroutine.
func (p *participant) teardown(reason leaveReason) {
	p.mu.Lock()
	p.closing = true
	p.mu.Unlock()
	p.end(reason)
	p.srv.clock.remove(p)
	if err := p.pc.Close(); err != nil {
		p.log.Debug("sfu: close peer connection", "err", err)
	}
	if reason != leaveGone {
		p.conn.Send(signal.Message{Type: signal.TypeBye, Data: &signal.Bye{Reason: string(reason)}})
	}
	p.conn.Close(string(reason))
	p.wg.Wait()
}
