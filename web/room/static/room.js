// The room page: pre-join screen, the two video tiles, controls, connection
// state and quality, time left in the slot. Configuration and strings come
// from JSON data blocks the server rendered; user text is only ever set as
// text (textContent), never as HTML.
import { Session } from './session.js';
import { Quality } from './quality.js';

const $ = (sel) => document.querySelector(sel);
const readJSON = (id) => JSON.parse(document.getElementById(id).textContent);

const cfg = readJSON('room-config');
const strings = readJSON('room-i18n');

function t(key, vars = {}) {
  let s = strings[key] ?? key;
  for (const [k, v] of Object.entries(vars)) s = s.split('{' + k + '}').join(String(v));
  return s;
}

// Test-only restrictions (they can only narrow what ICE may use, never add
// servers): ?transport=tcp keeps ICE on TCP, ?transport=relay on TURN.
const transport = new URLSearchParams(location.search).get('transport') || '';

const shell = $('.room-shell');
const remoteVideo = $('[data-role="remote-video"]');
const selfVideo = $('[data-role="self-video"]');
const preview = $('[data-role="preview"]');
const connEl = $('[data-role="conn-state"]');
const qualityEl = $('[data-role="quality"]');
const timeEl = $('[data-role="time-left"]');
const waitingEl = $('[data-role="waiting"]');
const noticeEl = $('[data-role="notice"]');
const playBtn = $('[data-action="play"]');
const remoteCameraOffEl = $('[data-remote-camera-off]');
const remoteMutedEl = $('[data-remote-muted]');
const selfCameraOffEl = $('[data-self-camera-off]');

function show(state) {
  shell.dataset.state = state;
  $('[data-role="prejoin"]').hidden = state !== 'prejoin';
  $('[data-role="call"]').hidden = state !== 'call';
  $('[data-role="ended"]').hidden = state !== 'ended';
}

let noticeTimer = 0;
function notice(text) {
  noticeEl.textContent = text;
  noticeEl.hidden = false;
  clearTimeout(noticeTimer);
  noticeTimer = setTimeout(() => { noticeEl.hidden = true; }, 5000);
}

// Camera and microphone are asked for on load so the preview shows and the
// tracks are ready when the first offer arrives.
let localStream = null;
function getMedia(constraints) {
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) return Promise.reject(new Error('no media devices'));
  return navigator.mediaDevices.getUserMedia(constraints);
}
const localReady = getMedia({ audio: true, video: { width: { ideal: 1280 }, height: { ideal: 720 } } })
  .catch(() => getMedia({ audio: true }))
  .then((s) => {
    localStream = s;
    preview.srcObject = s;
    selfVideo.srcObject = s;
    showSelfCamera();
    return s;
  })
  .catch((err) => {
    console.warn('room: camera/microphone', err);
    const el = $('[data-role="media-error"]');
    el.textContent = t('media_denied');
    el.hidden = false;
    showSelfCamera();
    return null;
  });

// The self-view shows this side's initials while its camera is off or
// there is none, as the other side's page does.
function showSelfCamera() {
  selfCameraOffEl.hidden = localMediaState().camera;
}

function setConn(state) {
  connEl.dataset.conn = state;
  connEl.textContent = t('conn_' + state);
}

function setPeer(present) {
  $('[data-role="remote"]').dataset.peer = present ? 'present' : 'absent';
  waitingEl.hidden = present;
  // A participant who leaves takes their camera and microphone state
  // along; whoever comes next says their own.
  if (!present) showPeerMedia(null);
}

// The other's camera off: their initials over the (frozen) video; their
// microphone muted: a badge by their name. The video element stays, and
// keeps playing the other's sound.
function showPeerMedia(st) {
  remoteCameraOffEl.hidden = !st || st.camera;
  remoteMutedEl.hidden = !st || st.microphone;
}

// What this side's camera and microphone do, for the other participant.
function localMediaState() {
  const on = (kind) => Boolean(localStream && localStream.getTracks().some((tr) => tr.kind === kind && tr.enabled));
  return { camera: on('video'), microphone: on('audio') };
}

function publishMediaState() {
  if (session) session.setMediaState(localMediaState());
}

function playRemote() {
  const p = remoteVideo.play();
  if (p) p.then(() => { playBtn.hidden = true; }, () => { playBtn.hidden = false; });
}

let session = null;
const quality = new Quality();

function join() {
  show('call');
  setPeer(false);
  if (session) session.dispose();
  quality.reset();
  session = new Session({
    wsUrl: cfg.wsUrl,
    iceServers: cfg.iceServers,
    transport,
    localStream: localReady,
    onJoined: () => {},
    onPeer: (present) => {
      const was = $('[data-role="remote"]').dataset.peer === 'present';
      setPeer(present);
      if (present && !was) notice(t('peer_joined', { peer: cfg.peerName }));
      if (!present && was) notice(t('peer_left', { peer: cfg.peerName }));
    },
    onPeerMedia: showPeerMedia,
    onRemoteStream: (stream) => {
      if (remoteVideo.srcObject !== stream) remoteVideo.srcObject = stream;
      playRemote();
    },
    onState: (st) => {
      if (['connecting', 'reconnecting', 'connected', 'failed', 'closed', 'new'].includes(st)) setConn(st);
      else if (st === 'disconnected') setConn('reconnecting');
    },
    onBye: (reason) => {
      $('[data-role="ended-message"]').textContent = t(reason === 'replaced' ? 'replaced' : 'room_closed');
      show('ended');
    },
    onMessage: () => {},
  });
  session.start();
  localReady.then(publishMediaState);
  // The agenda lives in the sidebar and travels over the room's signaling
  // connection; it loads after the call so it never delays the first frame.
  import('/home/static/agenda.js')
    .then((a) => a.attachToRoom(session, document.querySelector('[data-role="agenda"]'), cfg))
    .catch((err) => console.warn('agenda sidebar unavailable', err));
}

function leave() {
  if (session) session.leave();
  $('[data-role="ended-message"]').textContent = t('left_room');
  show('ended');
}

// Controls.
function toggleTrack(kind, button, onKey, offKey) {
  if (!localStream) return;
  const tracks = localStream.getTracks().filter((tr) => tr.kind === kind);
  if (!tracks.length) return;
  const enabled = !tracks[0].enabled;
  for (const tr of tracks) tr.enabled = enabled;
  button.setAttribute('aria-pressed', String(!enabled));
  button.textContent = t(enabled ? offKey : onKey);
  if (kind === 'video') {
    sendCamera(enabled, tracks[0]);
    showSelfCamera();
  }
  publishMediaState();
}

// A disabled camera track still sends (black) frames at the full frame
// rate: with the camera off, send no video at all.
function sendCamera(on, track) {
  if (session) session.replaceTrack('video', on ? track : null);
}

const micBtn = $('[data-action="mic"]');
const camBtn = $('[data-action="camera"]');
micBtn.addEventListener('click', () => toggleTrack('audio', micBtn, 'unmute', 'mute'));
camBtn.addEventListener('click', () => toggleTrack('video', camBtn, 'camera_on', 'camera_off'));
$('[data-action="join"]').addEventListener('click', join);
$('[data-action="rejoin"]').addEventListener('click', join);
$('[data-action="leave"]').addEventListener('click', leave);
playBtn.addEventListener('click', playRemote);

// Device pickers: choosing a device replaces the published track in place
// (RTCRtpSender.replaceTrack), so no renegotiation is needed.
const devicesForm = $('[data-role="devices"]');
const devicesBtn = $('[data-action="devices"]');
devicesBtn.addEventListener('click', async () => {
  devicesForm.hidden = !devicesForm.hidden;
  devicesBtn.setAttribute('aria-expanded', String(!devicesForm.hidden));
  if (!devicesForm.hidden) await listDevices();
});
devicesForm.addEventListener('submit', (e) => e.preventDefault());

async function listDevices() {
  if (!navigator.mediaDevices || !navigator.mediaDevices.enumerateDevices) return;
  const devices = await navigator.mediaDevices.enumerateDevices();
  for (const [kind, role, word] of [['audioinput', 'audio-input', 'microphone'], ['videoinput', 'video-input', 'camera']]) {
    const select = $(`[data-role="${role}"]`);
    const current = localStream && localStream.getTracks().find((tr) => tr.kind === kind.replace('input', ''));
    const currentId = current && current.getSettings().deviceId;
    select.replaceChildren();
    let n = 0;
    for (const d of devices.filter((d) => d.kind === kind)) {
      const o = document.createElement('option');
      o.value = d.deviceId;
      o.textContent = d.label || `${t(word)} ${++n}`;
      o.selected = d.deviceId === currentId;
      select.append(o);
    }
  }
}

for (const [role, kind] of [['audio-input', 'audio'], ['video-input', 'video']]) {
  $(`[data-role="${role}"]`).addEventListener('change', async (e) => {
    try {
      const s = await getMedia({ [kind]: { deviceId: { exact: e.target.value } } });
      const track = s.getTracks()[0];
      if (!localStream) { localStream = s; selfVideo.srcObject = s; return; }
      const old = localStream.getTracks().find((tr) => tr.kind === kind);
      if (old) {
        track.enabled = old.enabled;
        localStream.removeTrack(old);
        old.stop();
      }
      localStream.addTrack(track);
      // A camera that is off stays unsent.
      if (session && track.enabled) await session.replaceTrack(kind, track);
    } catch (err) {
      console.warn('room: switch device', err);
    }
  });
}
if (navigator.mediaDevices) navigator.mediaDevices.addEventListener('devicechange', () => { if (!devicesForm.hidden) listDevices(); });

// Quality every two seconds.
setInterval(async () => {
  const pc = session && session.pc;
  if (!pc || pc.connectionState !== 'connected') { qualityEl.textContent = ''; quality.reset(); return; }
  try {
    const q = await quality.sample(pc);
    if (!q) return;
    qualityEl.dataset.level = q.level;
    qualityEl.textContent = t('quality_' + q.level) + ' · ' + t('quality_detail', {
      rtt: q.rtt === null ? '–' : Math.round(q.rtt), loss: q.loss.toFixed(1), kbps: Math.round(q.kbps),
    });
  } catch (err) {
    console.warn('room: stats', err);
  }
}, 2000);

// Time left in the slot.
function clock(ms) {
  const s = Math.floor(Math.abs(ms) / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const pad = (n) => String(n).padStart(2, '0');
  return h ? `${h}:${pad(m)}:${pad(s % 60)}` : `${m}:${pad(s % 60)}`;
}
function tick() {
  if (!cfg.end) { timeEl.textContent = ''; return; }
  const now = Date.now();
  const start = cfg.start ? Date.parse(cfg.start) : now;
  const end = Date.parse(cfg.end);
  if (now < start) { timeEl.textContent = t('starts_in', { time: clock(start - now) }); timeEl.dataset.phase = 'before'; }
  else if (now <= end) { timeEl.textContent = t('time_left', { time: clock(end - now) }); timeEl.dataset.phase = end - now < 5 * 60000 ? 'ending' : 'during'; }
  else { timeEl.textContent = t('overtime', { time: clock(now - end) }); timeEl.dataset.phase = 'over'; }
}
tick();
setInterval(tick, 1000);

setConn('new');
show('prejoin');
// The button works only once this module runs; until then it is disabled,
// so an early click (or a monitoring script) waits for it to be enabled.
$('[data-action="join"]').disabled = false;
if (cfg.joinNow) join();
