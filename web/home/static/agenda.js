// The shared agenda of one 1on1 occurrence, live: talking points with a
// tag, shared notes, private notes (their author only), action items with
// an owner and a due date, carried-over action items first. Used by the
// stand-alone agenda page (PageTransport: /agenda/ws) and by the room's
// sidebar (attachToRoom: the room's signaling WebSocket). Every change is
// an operation the server orders; a stale edit comes back as a conflict
// with the current value and is shown to its author; operations made
// while offline are queued and replayed on reconnect (the server applies
// each op id once). User text is only ever set with textContent.

const VERSION = 1;
const TAGS = ['consultation', 'progress', 'career', 'wellbeing', 'feedback', 'other'];
const TYPING_MS = 3000;

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'text') e.textContent = v;
    else if (k === 'dataset') Object.assign(e.dataset, v);
    else if (k === 'className') e.className = v;
    else e.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children) if (c) e.append(c);
  return e;
}

function randomId(prefix) {
  const b = new Uint8Array(9);
  crypto.getRandomValues(b);
  return prefix + Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

function fmt(s, vars) {
  return String(s).replace(/\{(\w+)\}/g, (m, k) => (k in vars ? vars[k] : m));
}

// PageTransport is the agenda page's own WebSocket, reconnecting with
// backoff; the server sends a snapshot on every (re)connect.
export class PageTransport {
  constructor(url) {
    this.url = url;
    this.ws = null;
    this.attempt = 0;
    this.timer = 0;
    this.stopped = false;
    this.handlers = null;
    this.onOnline = () => { if (!this.isOpen()) this.connect(); };
  }

  start(handlers) {
    this.handlers = handlers;
    window.addEventListener('online', this.onOnline);
    this.connect();
  }

  stop() {
    this.stopped = true;
    window.removeEventListener('online', this.onOnline);
    clearTimeout(this.timer);
    if (this.ws) this.ws.close();
  }

  isOpen() { return this.ws && this.ws.readyState === WebSocket.OPEN; }

  connect() {
    if (this.stopped) return;
    clearTimeout(this.timer);
    if (this.ws) { const old = this.ws; this.ws = null; old.onclose = null; old.close(); }
    const u = new URL(this.url, location.href);
    u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
    let ws;
    try { ws = new WebSocket(u.href); } catch { this.retry(); return; }
    this.ws = ws;
    ws.onopen = () => { this.attempt = 0; this.handlers.onOpen(); };
    ws.onmessage = (e) => {
      let m;
      try { m = JSON.parse(e.data); } catch { return; }
      if (m && m.v === VERSION) this.handlers.onMessage(m);
    };
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.handlers.onClose();
      this.retry();
    };
  }

  retry() {
    if (this.stopped) return;
    const base = Math.min(8000, 300 * 2 ** Math.min(this.attempt, 5));
    this.attempt++;
    this.timer = setTimeout(() => this.connect(), base / 2 + Math.random() * base / 2);
  }

  send(m) {
    if (!this.isOpen()) return false;
    this.ws.send(JSON.stringify({ v: VERSION, ...m }));
    return true;
  }
}

// RoomTransport speaks over the room's signaling session (web/room's
// Session): its onMessage receives agenda.* messages, its send adds the
// envelope version. It asks for a snapshot each time the room is joined.
export class RoomTransport {
  constructor(session) {
    this.session = session;
  }

  start(handlers) {
    const opts = this.session.opts;
    const prevMessage = opts.onMessage || (() => {});
    const prevJoined = opts.onJoined || (() => {});
    const prevState = opts.onState || (() => {});
    opts.onMessage = (m) => {
      if (typeof m.type === 'string' && m.type.startsWith('agenda.')) handlers.onMessage(m);
      else prevMessage(m);
    };
    opts.onJoined = (d) => { prevJoined(d); handlers.onOpen(); };
    opts.onState = (st) => {
      prevState(st);
      if (st === 'reconnecting') handlers.onClose();
    };
    if (this.session.isOpen && this.session.isOpen()) handlers.onOpen();
  }

  stop() {}

  send(m) { return this.session.send(m); }

  // The room socket has no occurrence of its own: ask for the current one.
  wantsSync() { return true; }
}

export class AgendaView {
  // opts: i18n, role, selfName, peerName, selfEmail, peerEmail,
  // privateNotes, templates, templateUrl (or series to build it), lang,
  // occurrence ('' = the server's current one), transport.
  constructor(root, opts) {
    this.root = root;
    this.o = opts;
    this.t = (k, vars) => fmt((opts.i18n && opts.i18n[k]) || k, vars || {});
    this.items = new Map();
    this.seq = 0;
    this.occurrence = opts.occurrence || '';
    this.loaded = false;
    this.pending = [];            // ops not yet answered, in order
    this.notices = new Map();     // item id → text shown to this person
    this.typing = new Map();      // item id → {role, until}
    this.editing = null;          // {id, base, field}
    this.lis = new Map();
    this.lastTyping = 0;
    this.status = 'connecting';
    this.build();
    this.transport = opts.transport;
    this.transport.start({
      onOpen: () => this.onOpen(),
      onClose: () => this.setStatus('offline'),
      onMessage: (m) => this.onMessage(m),
    });
    this.tick = setInterval(() => this.expireTyping(), 1000);
  }

  destroy() {
    clearInterval(this.tick);
    this.transport.stop();
    this.root.replaceChildren();
  }

  build() {
    const t = this.t;
    this.root.replaceChildren();
    this.root.classList.add('agenda-view');
    this.statusEl = el('p', { className: 'status', dataset: { role: 'agenda-status' }, 'aria-live': 'polite' });
    this.noticeEl = el('p', { className: 'notice', dataset: { role: 'agenda-notice' }, 'aria-live': 'polite', hidden: true });
    this.tplEl = el('div', { className: 'templates', dataset: { role: 'templates' }, hidden: true });
    this.emptyEl = el('p', { className: 'empty', text: t('empty'), dataset: { role: 'agenda-empty' }, hidden: true });
    this.listEl = el('ol', { className: 'items', dataset: { role: 'agenda-items' } });

    const kind = el('select', { dataset: { role: 'new-kind' }, 'aria-label': t('kind_topic') });
    for (const k of ['topic', 'note', 'private_note', 'action']) {
      if (k === 'private_note' && !this.o.privateNotes) continue;
      kind.append(el('option', { value: k, text: t('kind_' + k) }));
    }
    const text = el('textarea', { dataset: { role: 'new-text' }, rows: '2', maxlength: '10000', placeholder: t('add_placeholder') });
    const tag = el('select', { dataset: { role: 'new-tag' }, 'aria-label': 'tag' });
    for (const g of TAGS) tag.append(el('option', { value: g, text: t('tag_' + g), selected: g === 'other' }));
    const owner = el('select', { dataset: { role: 'new-owner' }, 'aria-label': t('owner') },
      // Without e-mails (the room page) the server takes a role word.
      el('option', { value: this.o.selfEmail || this.o.role, text: this.o.selfName || t('you') }),
      el('option', { value: this.o.peerEmail || (this.o.role === 'manager' ? 'report' : 'manager'), text: this.o.peerName || '' }));
    const due = el('input', { type: 'date', dataset: { role: 'new-due' }, 'aria-label': t('due_date') });
    const ownerLabel = el('label', { className: 'action-only' }, t('owner') + ' ', owner);
    const dueLabel = el('label', { className: 'action-only' }, t('due_date') + ' ', due);
    const add = el('button', { type: 'submit', dataset: { action: 'add' }, text: t('add') });
    const form = el('form', { className: 'add', dataset: { role: 'add-form' } }, kind, tag, text, ownerLabel, dueLabel, add);
    const sync = () => {
      const k = kind.value;
      tag.hidden = k !== 'topic';
      ownerLabel.hidden = dueLabel.hidden = k !== 'action';
    };
    kind.addEventListener('change', sync);
    sync();
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      const v = text.value.trim();
      if (!v) return;
      const k = kind.value;
      const data = { kind: k, text: v };
      if (k === 'topic') data.tag = tag.value;
      if (k === 'action') { if (owner.value) data.owner = owner.value; if (due.value) data.due = due.value; }
      const id = randomId('c');
      this.submit({ id, kind: 'add', item: id, add: data });
      text.value = '';
    });
    this.root.append(this.statusEl, this.noticeEl, this.tplEl, this.emptyEl, this.listEl, form);
    this.setStatus('connecting');
  }

  setStatus(s) {
    this.status = s;
    this.statusEl.dataset.state = s;
    this.statusEl.textContent = s === 'online' ? this.t('online') : s === 'offline' ? this.t('offline') : this.t('reconnecting');
  }

  onOpen() {
    this.setStatus('online');
    if (this.transport.wantsSync && this.transport.wantsSync()) {
      this.transport.send({ type: 'agenda.sync', id: randomId('s'), data: { occurrence: this.occurrence, after_seq: 0 } });
    }
  }

  // flush sends every unanswered op again, in order: after a (re)connect
  // the server answers each op id once, so a replay is safe.
  flush() {
    for (const p of this.pending) {
      p.sent = this.transport.send({ type: 'agenda.op', id: p.op.id, data: p.op }) || p.sent;
    }
  }

  submit(op) {
    const p = { op, sent: false };
    this.pending.push(p);
    if (this.loaded) p.sent = this.transport.send({ type: 'agenda.op', id: op.id, data: op });
    this.render();
  }

  onMessage(m) {
    const d = m.data || {};
    switch (m.type) {
      case 'agenda.snapshot':
        this.occurrence = d.occurrence;
        this.items = new Map((d.items || []).map((it) => [it.id, it]));
        this.seq = d.seq || 0;
        this.loaded = true;
        this.flush();
        break;
      case 'agenda.event':
        if (d.occurrence !== this.occurrence || !this.loaded) return;
        if (d.seq > this.seq) this.seq = d.seq;
        this.put(d.item);
        break;
      case 'agenda.result': {
        this.answered(d.op_id);
        if (d.item) this.put(d.item);
        if (d.status === 'conflict') {
          const c = d.conflict || {};
          const name = this.o.peerName || '';
          this.notices.set(d.item ? d.item.id : '', c.field === 'text' || c.field === 'owner' || c.field === 'due' || c.field === 'tag'
            ? this.t('conflict', { name, current: c.current }) : this.t('conflict_other', { name }));
          this.root.dispatchEvent(new CustomEvent('agenda-conflict', { detail: d }));
        }
        break;
      }
      case 'agenda.error': {
        const p = this.answered(d.op_id);
        const msg = this.t('refused', { message: d.message || d.code || '' });
        if (p && p.op.item) this.notices.set(p.op.item, msg);
        else this.notice(msg);
        break;
      }
      case 'agenda.typing':
        if (d.item) this.typing.set(d.item, { role: d.role, until: Date.now() + TYPING_MS });
        break;
      default:
        return;
    }
    this.render();
  }

  answered(opId) {
    const i = this.pending.findIndex((p) => p.op.id === opId);
    if (i < 0) return null;
    return this.pending.splice(i, 1)[0];
  }

  put(it) {
    const cur = this.items.get(it.id);
    if (cur && cur.version > it.version) return;
    if (it.deleted) this.items.delete(it.id);
    else this.items.set(it.id, it);
  }

  notice(text) {
    this.noticeEl.hidden = !text;
    this.noticeEl.textContent = text || '';
  }

  expireTyping() {
    const now = Date.now();
    let changed = false;
    for (const [id, v] of this.typing) if (v.until < now) { this.typing.delete(id); changed = true; }
    if (changed) this.render();
  }

  // view is the server's items with the pending ops laid over them, in
  // agenda order: carried action items first, then by rank.
  view() {
    const m = new Map();
    for (const [id, it] of this.items) m.set(id, { ...it });
    for (const p of this.pending) {
      const op = p.op;
      if (op.kind === 'add' && !m.has(op.item)) {
        m.set(op.item, { id: op.item, kind: op.add.kind, text: op.add.text, tag: op.add.tag || (op.add.kind === 'topic' ? 'other' : ''),
          owner: op.add.owner || (op.add.kind === 'action' ? this.o.selfEmail : ''), due: op.add.due || '', done: false,
          author_role: this.o.role, position: '~' + op.id, version: 0, occurrence: this.occurrence, pending: true });
        continue;
      }
      const it = m.get(op.item);
      if (!it) continue;
      it.pending = true;
      if (op.kind === 'edit') it[op.field] = op.value;
      else if (op.kind === 'check') it.done = op.value === 'true';
      else if (op.kind === 'delete') m.delete(op.item);
    }
    const list = [...m.values()];
    list.sort((a, b) => {
      const ca = a.occurrence !== this.occurrence, cb = b.occurrence !== this.occurrence;
      if (ca !== cb) return ca ? -1 : 1;
      return (a.occurrence || '').localeCompare(b.occurrence || '') || (a.position < b.position ? -1 : a.position > b.position ? 1 : 0) ||
        (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
    });
    return list;
  }

  render() {
    if (!this.loaded) return;
    const list = this.view();
    const own = list.filter((it) => it.occurrence === this.occurrence);
    this.emptyEl.hidden = list.length > 0;
    this.renderTemplates(own.length === 0);
    const seen = new Set();
    list.forEach((it, i) => {
      seen.add(it.id);
      let li = this.lis.get(it.id);
      if (!li) {
        li = el('li', { dataset: { role: 'item', id: it.id } });
        this.lis.set(it.id, li);
      }
      this.fill(li, it, list, own);
      if (this.listEl.children[i] !== li) this.listEl.insertBefore(li, this.listEl.children[i] || null);
    });
    for (const [id, li] of this.lis) {
      if (!seen.has(id)) { li.remove(); this.lis.delete(id); if (this.editing && this.editing.id === id) this.editing = null; }
    }
  }

  renderTemplates(empty) {
    const show = empty && this.o.role === 'manager' && (this.o.templates || []).length > 0 && this.templateUrl();
    this.tplEl.hidden = !show;
    if (!show || this.tplEl.childElementCount) return;
    this.tplEl.append(el('h3', { text: this.t('template_title') }));
    for (const tp of this.o.templates) {
      const b = el('button', { type: 'button', dataset: { action: 'template', template: tp.id }, text: this.t('template_apply') });
      b.addEventListener('click', () => this.applyTemplate(tp.id));
      this.tplEl.append(el('div', { className: 'template' }, el('strong', { text: tp.name }), el('p', { text: tp.description || '' }), b));
    }
  }

  templateUrl() {
    if (this.o.templateUrl) return this.o.templateUrl;
    if (this.o.series && this.occurrence) return `/api/v1/series/${encodeURIComponent(this.o.series)}/occurrences/${encodeURIComponent(this.occurrence)}/agenda/template`;
    return '';
  }

  async applyTemplate(id) {
    try {
      const res = await fetch(this.templateUrl(), { method: 'POST', credentials: 'same-origin', headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ template: id, lang: this.o.lang || 'en' }) });
      if (!res.ok) this.notice(this.t('refused', { message: String(res.status) }));
    } catch (err) {
      this.notice(this.t('refused', { message: String(err) }));
    }
  }

  fill(li, it, list, own) {
    const t = this.t;
    li.className = `item kind-${it.kind}${it.done ? ' done' : ''}${it.pending ? ' pending' : ''}${it.occurrence !== this.occurrence ? ' carried' : ''}`;
    li.dataset.kind = it.kind;
    li.dataset.version = String(it.version);
    li.dataset.done = String(Boolean(it.done));
    const editing = this.editing && this.editing.id === it.id;
    let view = li.querySelector(':scope > .view');
    if (!view) { view = el('div', { className: 'view' }); li.prepend(view); }
    const parts = [];
    if (it.kind === 'topic' || it.kind === 'action') {
      const cb = el('input', { type: 'checkbox', dataset: { action: 'check' }, 'aria-label': t('done'), checked: Boolean(it.done) });
      cb.checked = Boolean(it.done);
      cb.addEventListener('change', () => this.submit({ id: randomId('c'), kind: 'check', item: it.id, value: String(cb.checked) }));
      parts.push(cb);
    }
    if (it.kind === 'topic') parts.push(el('span', { className: `tag tag-${it.tag}`, dataset: { role: 'tag' }, text: t('tag_' + (it.tag || 'other')) }));
    if (it.kind !== 'topic') parts.push(el('span', { className: 'kind', text: t('kind_' + it.kind) }));
    if (!editing) parts.push(el('span', { className: 'text', dataset: { role: 'text' }, text: it.text }));
    const meta = [];
    meta.push(it.author_role === this.o.role ? t('you') : (this.o.peerName || t('by_' + it.author_role)));
    if (it.kind === 'action') {
      const owner = it.owner === this.o.selfEmail ? (this.o.selfName || t('you')) : it.owner === this.o.peerEmail ? this.o.peerName : it.owner;
      meta.push(`${t('owner')}: ${owner}`);
      if (it.due) meta.push(`${t('due_date')}: ${it.due}`);
    }
    if (it.occurrence !== this.occurrence) meta.push(t('from_occurrence', { date: keyDate(it.occurrence) }));
    if (it.pending) meta.push(t('pending'));
    parts.push(el('span', { className: 'meta', text: meta.join(' · ') }));
    const ty = this.typing.get(it.id);
    if (ty && ty.role !== this.o.role) parts.push(el('span', { className: 'typing', dataset: { role: 'typing' }, text: t('typing', { name: this.o.peerName || '' }) }));
    const note = this.notices.get(it.id);
    if (note) {
      const n = el('span', { className: 'conflict', dataset: { role: 'conflict' }, text: note });
      const x = el('button', { type: 'button', className: 'dismiss', 'aria-label': t('cancel'), text: '×' });
      x.addEventListener('click', () => { this.notices.delete(it.id); this.render(); });
      parts.push(n, x);
    }
    const tools = el('span', { className: 'tools' });
    const button = (action, label, fn) => {
      const b = el('button', { type: 'button', dataset: { action }, text: label });
      b.addEventListener('click', fn);
      tools.append(b);
    };
    if (!editing) button('edit', t('edit'), () => this.startEdit(it));
    const ownIndex = own.findIndex((x) => x.id === it.id);
    if (ownIndex >= 0 && !it.pending) {
      if (ownIndex > 0) button('up', t('up'), () => this.move(it, ownIndex - 2 >= 0 ? own[ownIndex - 2].id : ''));
      if (ownIndex < own.length - 1) button('down', t('down'), () => this.move(it, own[ownIndex + 1].id));
    }
    button('delete', t('delete'), () => this.submit({ id: randomId('c'), kind: 'delete', item: it.id }));
    parts.push(tools);
    view.replaceChildren(...parts);
    let editor = li.querySelector(':scope > .editor');
    if (editing && !editor) li.append(this.editor(it));
    if (!editing && editor) editor.remove();
  }

  move(it, after) {
    this.submit({ id: randomId('c'), kind: 'move', item: it.id, value: after });
  }

  startEdit(it) {
    if (it.pending && it.version === 0) return; // not on the server yet
    this.editing = { id: it.id, base: it.version };
    this.notices.delete(it.id);
    this.render();
    const ta = this.root.querySelector(`li[data-id="${CSS.escape(it.id)}"] textarea`);
    if (ta) ta.focus();
  }

  editor(it) {
    const t = this.t;
    const ta = el('textarea', { dataset: { role: 'edit-text' }, rows: '3', maxlength: '10000' });
    ta.value = it.text;
    ta.addEventListener('input', () => {
      const now = Date.now();
      if (now - this.lastTyping > 1000) {
        this.lastTyping = now;
        this.transport.send({ type: 'agenda.typing', data: { item: it.id } });
      }
    });
    const save = el('button', { type: 'button', dataset: { action: 'save' }, text: t('save') });
    const cancel = el('button', { type: 'button', dataset: { action: 'cancel' }, text: t('cancel') });
    const box = el('div', { className: 'editor' }, ta, save, cancel);
    let tagSel = null;
    if (it.kind === 'topic') {
      tagSel = el('select', { dataset: { role: 'edit-tag' } });
      for (const g of TAGS) tagSel.append(el('option', { value: g, text: t('tag_' + g), selected: g === it.tag }));
      box.insertBefore(tagSel, save);
    }
    save.addEventListener('click', () => {
      const cur = this.items.get(it.id) || it;
      const base = this.editing ? this.editing.base : cur.version;
      const v = ta.value.trim();
      if (v && v !== cur.text) this.submit({ id: randomId('c'), kind: 'edit', item: it.id, field: 'text', value: v, base_version: base });
      if (tagSel && tagSel.value !== cur.tag) this.submit({ id: randomId('c'), kind: 'edit', item: it.id, field: 'tag', value: tagSel.value, base_version: base });
      this.editing = null;
      this.render();
    });
    cancel.addEventListener('click', () => { this.editing = null; this.render(); });
    return box;
  }
}

function keyDate(key) {
  const m = /^(\d{4})(\d{2})(\d{2})T/.exec(key || '');
  return m ? `${m[1]}-${m[2]}-${m[3]}` : key;
}

function ensureStyles() {
  if (document.querySelector('link[data-agenda-css]')) return;
  document.head.append(el('link', { rel: 'stylesheet', href: '/home/static/agenda.css', dataset: { agendaCss: '1' } }));
}

// attachToRoom mounts the agenda in the room page's sidebar, over the
// room's signaling session. The room page calls it once per session:
//   import('/home/static/agenda.js').then((a) => a.attachToRoom(session, document.querySelector('[data-role="agenda"]'), cfg));
export async function attachToRoom(session, sidebar, cfg) {
  if (!sidebar) return null;
  ensureStyles();
  let holder = sidebar.querySelector(':scope > [data-role="agenda-live"]');
  if (holder && holder.agendaView) holder.agendaView.destroy();
  if (!holder) { holder = el('div', { dataset: { role: 'agenda-live' } }); sidebar.append(holder); }
  const lang = cfg.lang === 'ja' ? 'ja' : 'en';
  let i18n = {};
  try {
    const res = await fetch(`/home/static/i18n/${lang}.json`, { credentials: 'same-origin' });
    if (res.ok) i18n = await res.json();
  } catch { /* English keys as a fallback */ }
  const view = new AgendaView(holder, {
    i18n, lang, role: cfg.role, selfName: cfg.selfName, peerName: cfg.peerName,
    selfEmail: cfg.selfEmail || '', peerEmail: cfg.peerEmail || '',
    privateNotes: !cfg.capabilityMode, templates: cfg.templates || [], series: cfg.roomId,
    transport: new RoomTransport(session),
  });
  holder.agendaView = view;
  return view;
}

// mountPage starts the stand-alone agenda page from its config block.
export function mountPage(cfg, root) {
  return new AgendaView(root, { ...cfg, transport: new PageTransport(cfg.wsUrl) });
}
