// One participant's link to the room: the signaling WebSocket (the
// meet/signal envelope, version 1) and one RTCPeerConnection per joined
// session. The server makes every offer; this side answers, trickles its
// candidates, asks for an ICE restart when media stalls and reconnects the
// WebSocket with backoff when it drops (or when a restart brings nothing:
// the socket died unseen), without a reload.

const VERSION = 1;

// Reasons in "bye" after which reconnecting would be wrong.
const FINAL_BYES = new Set(['replaced', 'server closing', 'room closed']);

export class Session {
  // opts: wsUrl, iceServers, transport ('' | 'tcp' | 'relay'),
  // localStream (a promise of a MediaStream or null), and callbacks:
  // onJoined(data), onPeer(present, role), onRemoteStream(stream),
  // onPeerMedia({role, camera, microphone}) (the other's camera and
  // microphone are on or off), onState(state), onBye(reason), onMessage(m).
  constructor(opts) {
    this.opts = opts;
    this.ws = null;
    this.pc = null;
    this.stopped = false;
    this.attempt = 0;
    this.queue = Promise.resolve();
    this.pending = [];
    this.published = false;
    this.senders = {};
    this.restartTimer = 0;
    this.stallTimer = 0;
    this.lastRestart = 0;
    this.reconnectTimer = 0;
    this.joined = false; // the current socket has had its "joined"
    this.mediaState = null; // what this side last said of its camera and microphone
    this.onOnline = () => { if (!this.stopped && !this.isOpen()) this.reconnectNow(); };
    window.addEventListener('online', this.onOnline);
  }

  start() {
    this.stopped = false;
    this.connect();
  }

  isOpen() { return this.ws && this.ws.readyState === WebSocket.OPEN; }

  url() {
    const u = new URL(this.opts.wsUrl, location.href);
    if (u.protocol === 'http:') u.protocol = 'ws:';
    if (u.protocol === 'https:') u.protocol = 'wss:';
    return u.href;
  }

  connect() {
    clearTimeout(this.reconnectTimer);
    this.joined = false;
    this.opts.onState(this.attempt ? 'reconnecting' : 'connecting');
    let ws;
    try {
      ws = new WebSocket(this.url());
    } catch (err) {
      console.warn('room: websocket', err);
      this.scheduleReconnect();
      return;
    }
    this.ws = ws;
    ws.onopen = () => this.send({ type: 'join' });
    ws.onmessage = (e) => {
      let m;
      try { m = JSON.parse(e.data); } catch { return; }
      if (!m || m.v !== VERSION) return;
      // One message at a time: an offer must be answered before the
      // candidates and offers that follow it are applied.
      this.queue = this.queue.then(() => this.handle(ws, m)).catch((err) => console.warn('room: signaling', m.type, err));
    };
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.joined = false;
      this.closePC();
      if (this.stopped) return;
      this.opts.onState('reconnecting');
      this.scheduleReconnect();
    };
  }

  scheduleReconnect() {
    if (this.stopped) return;
    clearTimeout(this.reconnectTimer);
    const base = Math.min(8000, 500 * 2 ** Math.min(this.attempt, 4));
    this.attempt++;
    this.reconnectTimer = setTimeout(() => this.connect(), base / 2 + Math.random() * base / 2);
  }

  reconnectNow() {
    if (this.ws) { const ws = this.ws; this.ws = null; ws.close(); }
    this.closePC();
    this.connect();
  }

  send(m) {
    if (!this.isOpen()) return false;
    this.ws.send(JSON.stringify({ v: VERSION, ...m }));
    return true;
  }

  async handle(ws, m) {
    if (ws !== this.ws) return; // a message of a connection we left
    const d = m.data || {};
    switch (m.type) {
      case 'joined':
        this.attempt = 0;
        this.newPC(d.ice_servers && d.ice_servers.length ? d.ice_servers : this.opts.iceServers);
        this.opts.onJoined(d);
        this.opts.onPeer(Boolean(d.peer), d.peer || '');
        // Said again on every (re)join: the server forgot it if we left.
        this.joined = true;
        if (this.mediaState) this.send({ type: 'media-state', data: this.mediaState });
        break;
      case 'offer':
        await this.answer(m);
        break;
      case 'candidate':
        await this.addCandidate(d);
        break;
      case 'peer-joined':
        this.opts.onPeer(true, d.role);
        break;
      case 'peer-left':
        this.opts.onPeer(false, d.role);
        break;
      case 'media-state':
        if (this.opts.onPeerMedia) this.opts.onPeerMedia({ role: d.role, camera: d.camera !== false, microphone: d.microphone !== false });
        break;
      case 'bye':
        if (FINAL_BYES.has(d.reason)) {
          this.stop();
          this.opts.onBye(d.reason);
        }
        break;
      case 'error':
        console.warn('room: server refused a message', d.code, d.message);
        break;
      default:
        this.opts.onMessage(m);
    }
  }

  newPC(iceServers) {
    this.closePC();
    const cfg = {
      iceServers: (iceServers || []).map((s) => ({ urls: s.urls, username: s.username, credential: s.credential })),
      bundlePolicy: 'max-bundle',
      rtcpMuxPolicy: 'require',
    };
    if (this.opts.transport === 'relay') cfg.iceTransportPolicy = 'relay';
    const pc = new RTCPeerConnection(cfg);
    this.pc = pc;
    this.published = false;
    this.senders = {};
    this.pending = [];
    const remote = new MediaStream();
    pc.onicecandidate = (e) => {
      const c = e.candidate;
      if (!c || !c.candidate) return;
      if (this.opts.transport === 'tcp' && c.protocol === 'udp') return;
      this.send({ type: 'candidate', data: {
        candidate: c.candidate, sdpMid: c.sdpMid, sdpMLineIndex: c.sdpMLineIndex, usernameFragment: c.usernameFragment,
      } });
    };
    pc.ontrack = (e) => {
      remote.addTrack(e.track);
      this.opts.onRemoteStream(remote);
    };
    pc.onconnectionstatechange = () => {
      if (pc !== this.pc) return;
      const st = pc.connectionState;
      this.opts.onState(st);
      clearTimeout(this.restartTimer);
      if (st === 'connected') clearTimeout(this.stallTimer);
      if (st === 'failed') this.iceRestart();
      // A short outage (Wi-Fi switching) often heals by itself; after two
      // seconds ask the server for new ICE credentials.
      if (st === 'disconnected') this.restartTimer = setTimeout(() => this.iceRestart(), 2000);
    };
  }

  iceRestart() {
    if (!this.pc || Date.now() - this.lastRestart < 3000) return;
    if (!this.send({ type: 'ice-restart' })) return;
    this.lastRestart = Date.now();
    // A socket that died with the network (the Wi-Fi came back with a new
    // address) still looks open, and the request is lost in it: when the
    // restart brings no connection, rejoin on a new socket.
    clearTimeout(this.stallTimer);
    const pc = this.pc;
    this.stallTimer = setTimeout(() => {
      if (!this.stopped && pc === this.pc && pc.connectionState !== 'connected') this.reconnectNow();
    }, 4000);
  }

  async answer(m) {
    const pc = this.pc;
    if (!pc) return;
    let sdp = m.data.sdp;
    if (this.opts.transport === 'tcp') sdp = withoutUDPCandidates(sdp);
    await pc.setRemoteDescription({ type: 'offer', sdp });
    if (!this.published) {
      this.published = true;
      const stream = await this.opts.localStream;
      if (pc !== this.pc) return;
      // addTrack reuses the offer's first two (receive-only) sections,
      // which the server keeps for what this participant publishes.
      // A camera turned off (a disabled track) is not sent at all.
      if (stream) {
        for (const t of stream.getTracks()) {
          this.senders[t.kind] = pc.addTrack(t, stream);
          if (t.kind === 'video' && !t.enabled) await this.senders.video.replaceTrack(null);
        }
      }
    }
    const answer = await pc.createAnswer();
    await pc.setLocalDescription(answer);
    if (pc !== this.pc) return;
    this.send({ type: 'answer', id: m.id, data: { sdp: pc.localDescription.sdp } });
    const pending = this.pending;
    this.pending = [];
    for (const c of pending) await this.addCandidate(c);
  }

  async addCandidate(d) {
    if (!this.pc || !d.candidate) return;
    if (this.opts.transport === 'tcp' && / udp /i.test(d.candidate)) return;
    if (!this.pc.remoteDescription) { this.pending.push(d); return; }
    try {
      await this.pc.addIceCandidate(d);
    } catch (err) {
      console.warn('room: candidate', err);
    }
  }

  // setMediaState tells the other participant whether this side's camera
  // and microphone are on ({camera, microphone}), now if joined, and again
  // after every (re)join.
  setMediaState(st) {
    this.mediaState = { camera: Boolean(st.camera), microphone: Boolean(st.microphone) };
    if (this.joined) this.send({ type: 'media-state', data: this.mediaState });
  }

  // replaceTrack swaps the published track of a kind (device change), or
  // stops sending it (null: the camera turned off).
  async replaceTrack(kind, track) {
    const s = this.senders[kind];
    if (s) await s.replaceTrack(track);
  }

  closePC() {
    clearTimeout(this.restartTimer);
    clearTimeout(this.stallTimer);
    if (this.pc) {
      this.pc.close();
      this.pc = null;
    }
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.reconnectTimer);
    this.closePC();
    if (this.ws) {
      const ws = this.ws;
      this.ws = null;
      ws.close(1000);
    }
  }

  leave() {
    this.send({ type: 'bye', data: { reason: 'leaving' } });
    this.stop();
  }

  dispose() {
    this.stop();
    window.removeEventListener('online', this.onOnline);
  }
}

// withoutUDPCandidates drops UDP candidates from an SDP, so ICE can only
// use TCP (the page's test-only ?transport=tcp, for networks that block UDP).
export function withoutUDPCandidates(sdp) {
  return sdp.split('\r\n').filter((l) => !/^a=candidate:\S+ \d+ udp /i.test(l)).join('\r\n');
}
