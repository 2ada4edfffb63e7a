// Package meet owns the 1on1 room as a web resource: who may enter a
// series' room (its manager and report, or in capability mode whoever
// picks a free slot), the room page and its WebSocket, handing admitted
// connections to the media server (meet/sfu), relaying each participant's
// camera and microphone state to the other (media.go), and attendance: stays
// stored per occurrence and an occurrence marked held when the pair met
// long enough inside its window.
//
// It decides access but not identity (package identity says who a
// browser is), renders through web/room, and never forwards media itself.
// It must not log tokens, cookies or agenda text.
package meet

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/oneonone/oneonone/calendar"
	"github.com/oneonone/oneonone/identity"
	"github.com/oneonone/oneonone/internal/errs"
	"github.com/oneonone/oneonone/meet/sfu"
	"github.com/oneonone/oneonone/meet/signal"
	"github.com/oneonone/oneonone/web/room"
)

// Identities is what the room needs from package identity
// (*identity.Service implements it).
type Identities interface {
	Mode() identity.Mode
	Current(r *http.Request) (identity.Identity, bool)
	ConsumeLink(w http.ResponseWriter, r *http.Request) bool
	SignIn(w http.ResponseWriter, r *http.Request, next string)
	PersonalLink(ctx context.Context, seriesID, email, role string) (string, error)
}

// Options configure a Service. Store, Identity are required.
type Options struct {
	Store    Store
	Identity Identities
	// Media configures the media server. OnJoin, OnLeave and Now are set
	// by the Service (attendance); OnMessage gets every message but
	// media-state, which the Service relays itself; the rest is passed on.
	Media sfu.Config
	// Signal tunes the room's WebSocket connections; its Codec carries the
	// registered agenda.* types.
	Signal signal.Options
	// PublicURL is the base URL people reach the daemon at; its host is
	// accepted as a WebSocket origin beside the request's own host.
	PublicURL string

	// MinHeld is how long the pair must be in the room together inside
	// an occurrence's window for it to count as held (DefaultMinHeld).
	MinHeld time.Duration
	// Early and Late widen each occurrence's window: a stay counts from
	// Early before its start to Late after its end (DefaultEarly,
	// DefaultLate).
	Early, Late time.Duration
	// ObserveMeeting, when set, is told how long the pair of a series of
	// team was together, once per held occurrence (metrics).
	ObserveMeeting func(team string, together time.Duration)

	Logger *slog.Logger
	Now    func() time.Time
}

// Service serves rooms. Safe for concurrent use.
type Service struct {
	store     Store
	id        Identities
	sfu       *sfu.Server
	att       *attendance
	media     *mediaStates
	sig       signal.Options
	ice       []room.ICEServer
	origins   []string
	secure    bool
	log       *slog.Logger
	now       func() time.Time
	capKey    []byte
	assets    http.Handler
	closeOnce sync.Once

	mu    sync.Mutex
	slots map[string]*[2]slotHolder
}

// slotHolder counts the connections of one slot and, in capability mode,
// which chooser session owns it while any is open.
type slotHolder struct {
	conns int
	cap   string // capability session id; "" for a signed-in person
}

// New opens the media server and prepares the handlers.
func New(opts Options) (*Service, error) {
	if opts.Store == nil || opts.Identity == nil {
		return nil, errors.New("meet: Store and Identity are required")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.MinHeld <= 0 {
		opts.MinHeld = DefaultMinHeld
	}
	if opts.Early <= 0 {
		opts.Early = DefaultEarly
	}
	if opts.Late <= 0 {
		opts.Late = DefaultLate
	}
	if opts.Signal.Logger == nil {
		opts.Signal.Logger = opts.Logger
	}
	s := &Service{
		store:  opts.Store,
		id:     opts.Identity,
		sig:    opts.Signal,
		log:    opts.Logger,
		now:    opts.Now,
		assets: http.StripPrefix(room.AssetPrefix, room.Assets()),
		slots:  map[string]*[2]slotHolder{},
		capKey: make([]byte, 32),
	}
	// Capability choices are kept in a cookie MACed with a key that lives
	// as long as the process: a restart only asks people to choose again.
	if _, err := rand.Read(s.capKey); err != nil {
		return nil, fmt.Errorf("meet: key: %w", err)
	}
	if u, err := url.Parse(opts.PublicURL); err == nil && u.Host != "" {
		s.origins = []string{u.Host}
		s.secure = u.Scheme == "https"
	}
	for _, is := range opts.Media.ICEServers {
		s.ice = append(s.ice, room.ICEServer{URLs: is.URLs, Username: is.Username, Credential: is.Credential})
	}
	// Nobody joins before New returns, so s.sfu is set by the first send.
	s.media = newMediaStates(func(roomID, role string, m signal.Message) error { return s.sfu.Send(roomID, role, m) }, opts.Logger)
	s.att = newAttendance(opts.Store, opts.Logger, opts.Now, opts.MinHeld, opts.Early, opts.Late, opts.ObserveMeeting)
	media := opts.Media
	media.OnJoin = s.att.onJoin
	media.OnLeave = func(roomID, role string, at time.Time) {
		s.media.reset(roomID, role)
		s.att.onLeave(roomID, role, at)
	}
	media.OnMessage = func(roomID, role string, m signal.Message) {
		if st, ok := m.Data.(*signal.MediaState); ok && m.Type == signal.TypeMediaState {
			s.media.update(roomID, role, *st)
			return
		}
		if opts.Media.OnMessage != nil {
			opts.Media.OnMessage(roomID, role, m)
		}
	}
	media.Now = opts.Now
	if media.Logger == nil {
		media.Logger = opts.Logger
	}
	srv, err := sfu.NewServer(media)
	if err != nil {
		s.att.close()
		return nil, err
	}
	s.sfu = srv
	return s, nil
}

// SFU is the media server, for Send (the agenda's live updates), Stats
// and its socket addresses.
func (s *Service) SFU() *sfu.Server { return s.sfu }

// Stats are the rooms gauges (metrics).
func (s *Service) Stats() (rooms, participants int) {
	st := s.sfu.Stats()
	return st.RoomsActive, st.Participants
}

// Close tells every participant "bye", waits for them to leave, stores
// their leaving and closes the media sockets.
func (s *Service) Close() error {
	var err error
	s.closeOnce.Do(func() {
		err = s.sfu.Close()
		s.att.close()
	})
	return err
}

// Links returns the personal join links of a series' manager and report.
func (s *Service) Links(ctx context.Context, seriesID string) (manager, report string, err error) {
	se, err := s.store.GetSeries(ctx, seriesID)
	if err != nil {
		return "", "", err
	}
	if manager, err = s.id.PersonalLink(ctx, se.ID, se.Manager.Email, sfu.RoleManager); err != nil {
		return "", "", fmt.Errorf("meet: manager link: %w", err)
	}
	if report, err = s.id.PersonalLink(ctx, se.ID, se.Report.Email, sfu.RoleReport); err != nil {
		return "", "", fmt.Errorf("meet: report link: %w", err)
	}
	return manager, report, nil
}

// Attendance returns the stays of a series that joined in [from, to).
func (s *Service) Attendance(ctx context.Context, seriesID string, from, to time.Time) ([]Attendance, error) {
	if _, err := s.store.GetSeries(ctx, seriesID); err != nil {
		return nil, err
	}
	return s.store.ListAttendance(ctx, seriesID, from, to)
}

// Prefix is where the daemon mounts Handler: every path under it is the
// room's (pages, WebSocket, static assets).
const Prefix = "/r/"

// ServeHTTP serves GET /r/{room}, POST /r/{room}/as, GET /r/{room}/ws and
// GET /r/static/…. It dispatches by hand because a ServeMux cannot hold
// both /r/static/ and /r/{room}/ws.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rest, ok := strings.CutPrefix(r.URL.Path, Prefix)
	if !ok {
		http.NotFound(w, r)
		return
	}
	if strings.HasPrefix(r.URL.Path, room.AssetPrefix) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			methodNotAllowed(w, "GET, HEAD")
			return
		}
		s.assets.ServeHTTP(w, r)
		return
	}
	id, action, _ := strings.Cut(rest, "/")
	if !validRoomID(id) {
		s.renderError(w, r, http.StatusNotFound, room.MsgRoomNotFound)
		return
	}
	switch action {
	case "":
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			methodNotAllowed(w, "GET, HEAD")
			return
		}
		s.page(w, r, id)
	case "as":
		if r.Method != http.MethodPost {
			methodNotAllowed(w, "POST")
			return
		}
		s.choose(w, r, id)
	case "ws":
		if r.Method != http.MethodGet {
			methodNotAllowed(w, "GET")
			return
		}
		s.ws(w, r, id)
	default:
		s.renderError(w, r, http.StatusNotFound, room.MsgRoomNotFound)
	}
}

func methodNotAllowed(w http.ResponseWriter, allow string) {
	w.Header().Set("Allow", allow)
	http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
}

// validRoomID accepts what series ids look like, refusing anything that
// could not be one before the store is asked.
func validRoomID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

func (s *Service) renderError(w http.ResponseWriter, r *http.Request, status int, key string) {
	if err := room.RenderError(w, r, status, "", key); err != nil {
		s.log.Warn("meet: render error page", "err", err)
	}
}

// verdict is the access decision for one request.
type verdict int

const (
	admit  verdict = iota // role is set
	choose                // capability mode, no choice yet: the chooser
	signIn                // not signed in: identity's sign-in
	refuse                // signed in as someone else
)

type access struct {
	verdict verdict
	role    string
	capSID  string // set when admitted by a capability choice
	who     identity.Identity
}

// decide says whether the request may enter se's room, and as whom. A
// signed-in member of the pair always enters in their role; capability
// choices only count in capability mode.
func (s *Service) decide(r *http.Request, se calendar.Series) access {
	cur, signed := s.id.Current(r)
	if signed {
		switch {
		case strings.EqualFold(cur.Email, se.Manager.Email):
			return access{verdict: admit, role: sfu.RoleManager, who: cur}
		case strings.EqualFold(cur.Email, se.Report.Email):
			return access{verdict: admit, role: sfu.RoleReport, who: cur}
		}
	}
	if s.id.Mode() == identity.ModeCapability {
		if role, sid, ok := s.readCapability(r, se.ID); ok {
			return access{verdict: admit, role: role, capSID: sid}
		}
		return access{verdict: choose}
	}
	if signed {
		return access{verdict: refuse, who: cur}
	}
	return access{verdict: signIn}
}

// loadSeries reads the room's series, writing the error page itself when
// it cannot.
func (s *Service) loadSeries(w http.ResponseWriter, r *http.Request, id string) (calendar.Series, bool) {
	se, err := s.store.GetSeries(r.Context(), id)
	if errors.Is(err, errs.ErrNotFound) {
		s.renderError(w, r, http.StatusNotFound, room.MsgRoomNotFound)
		return se, false
	}
	if err != nil {
		s.log.Error("meet: load series", "room", id, "err", err)
		s.renderError(w, r, http.StatusInternalServerError, room.MsgInternal)
		return se, false
	}
	return se, true
}

func (s *Service) page(w http.ResponseWriter, r *http.Request, id string) {
	if s.id.ConsumeLink(w, r) {
		return
	}
	se, ok := s.loadSeries(w, r, id)
	if !ok {
		return
	}
	a := s.decide(r, se)
	start, end := s.slotTimes(r.Context(), se)
	switch a.verdict {
	case signIn:
		s.id.SignIn(w, r, Prefix+id)
		return
	case refuse:
		err := room.RenderRefused(w, r, room.RefusedData{ManagerName: firstName(se.Manager), ReportName: firstName(se.Report),
			SignedInAs: a.who.Email, SignOutURL: "/auth/logout"})
		if err != nil {
			s.log.Warn("meet: render refused page", "err", err)
		}
		return
	case choose:
		taken := s.taken(id)
		err := room.RenderChooser(w, r, room.ChooserData{RoomID: id, ManagerName: se.Manager.Name, ReportName: se.Report.Name,
			Start: start, End: end, Timezone: se.Timezone, Action: Prefix + id + "/as",
			ManagerTaken: taken[0], ReportTaken: taken[1]})
		if err != nil {
			s.log.Warn("meet: render chooser", "err", err)
		}
		return
	}
	self, peer := se.Manager, se.Report
	if a.role == sfu.RoleReport {
		self, peer = peer, self
	}
	err := room.Render(w, r, room.PageData{
		RoomID: id, Role: a.role,
		SelfName: self.Name, PeerName: peer.Name, SelfEmail: self.Email, PeerEmail: peer.Email,
		Start: start, End: end, Timezone: se.Timezone,
		WSURL:          Prefix + id + "/ws",
		ICEServers:     s.ice,
		CapabilityMode: s.id.Mode() == identity.ModeCapability,
		// Straight from the chooser, whose click was the person's
		// gesture: the chooser is the only screen before the call.
		JoinNow: a.capSID != "" && r.URL.Query().Get(joinNowParam) == joinNowValue,
	})
	if err != nil {
		s.log.Warn("meet: render room", "err", err)
	}
}

// firstName is what a stranger is told of the pair: the first word of a
// name, or the e-mail's local part when there is no name.
func firstName(p calendar.Person) string {
	if f := strings.Fields(p.Name); len(f) > 0 {
		return f[0]
	}
	local, _, _ := strings.Cut(p.Email, "@")
	return local
}

// slotTimes are the current (or else next) occurrence's start and end;
// zero when there is none.
func (s *Service) slotTimes(ctx context.Context, se calendar.Series) (time.Time, time.Time) {
	now := s.now()
	if w, err := s.att.occurrenceAt(ctx, se, now); err == nil && w.key != "" {
		return w.start, w.end
	}
	overrides, err := s.store.ListOverrides(ctx, se.ID, now.Add(-overrideMargin), now.Add(overrideMargin))
	if err != nil {
		return time.Time{}, time.Time{}
	}
	if o, ok := se.Next(now, overrides); ok {
		return o.Start, o.End
	}
	return time.Time{}, time.Time{}
}

// choose takes the chooser's answer (capability mode only).
func (s *Service) choose(w http.ResponseWriter, r *http.Request, id string) {
	if s.id.Mode() != identity.ModeCapability {
		s.renderError(w, r, http.StatusNotFound, room.MsgRoomNotFound)
		return
	}
	se, ok := s.loadSeries(w, r, id)
	if !ok {
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
	role := r.PostFormValue("role")
	slot := slotOf(role)
	if slot < 0 {
		http.Error(w, `role must be "manager" or "report"`, http.StatusBadRequest)
		return
	}
	sid := ""
	if prev, psid, ok := s.readCapability(r, se.ID); ok && prev == role {
		sid = psid // choosing the same again keeps the session
	}
	if sid == "" {
		sid = rand.Text()
	}
	if !s.mayTake(id, slot, sid) {
		s.renderError(w, r, http.StatusConflict, room.MsgRoomFull)
		return
	}
	s.writeCapability(w, se.ID, role, sid)
	http.Redirect(w, r, Prefix+id+"?"+joinNowParam+"="+joinNowValue, http.StatusSeeOther)
}

// After a choice the room page joins at once: the chooser redirects with
// ?join=now. The parameter only counts with a capability choice, so on
// its own it skips nothing for a signed-in person.
const (
	joinNowParam = "join"
	joinNowValue = "now"
)

// Capability cookie: role, session id and expiry, MACed; its path keeps
// it to one room.
const (
	capCookie = "oneonone_room"
	capTTL    = 12 * time.Hour
)

func (s *Service) capMAC(room, payload string) string {
	m := hmac.New(sha256.New, s.capKey)
	m.Write([]byte(room + "\x00" + payload))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func (s *Service) writeCapability(w http.ResponseWriter, roomID, role, sid string) {
	payload := role + "." + sid + "." + strconv.FormatInt(s.now().Add(capTTL).Unix(), 10)
	http.SetCookie(w, &http.Cookie{Name: capCookie, Value: payload + "." + s.capMAC(roomID, payload),
		Path: Prefix + roomID, MaxAge: int(capTTL / time.Second), HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode})
}

func (s *Service) readCapability(r *http.Request, roomID string) (role, sid string, ok bool) {
	c, err := r.Cookie(capCookie)
	if err != nil {
		return "", "", false
	}
	i := strings.LastIndexByte(c.Value, '.')
	if i < 0 {
		return "", "", false
	}
	payload, mac := c.Value[:i], c.Value[i+1:]
	if !hmac.Equal([]byte(mac), []byte(s.capMAC(roomID, payload))) {
		return "", "", false
	}
	parts := strings.Split(payload, ".")
	if len(parts) != 3 || slotOf(parts[0]) < 0 {
		return "", "", false
	}
	exp, err := strconv.ParseInt(parts[2], 10, 64)
	if err != nil || s.now().Unix() > exp {
		return "", "", false
	}
	return parts[0], parts[1], true
}

// taken reports which slots have a connection.
func (s *Service) taken(roomID string) [2]bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := s.slots[roomID]
	if h == nil {
		return [2]bool{}
	}
	return [2]bool{h[0].conns > 0, h[1].conns > 0}
}

// mayTake reports whether capability session sid may use slot: it is
// free, or sid holds it already (a reload).
func (s *Service) mayTake(roomID string, slot int, sid string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := s.slots[roomID]
	return h == nil || h[slot].conns == 0 || h[slot].cap == sid
}

// acquire counts a connection for slot. In capability mode one chooser
// session owns a slot while it has a connection: another session is
// refused, while the same session (a reload) replaces its old connection
// in the SFU. A signed-in person is always the slot's owner.
func (s *Service) acquire(roomID string, slot int, capSID string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := s.slots[roomID]
	if h == nil {
		h = &[2]slotHolder{}
		s.slots[roomID] = h
	}
	hs := &h[slot]
	if hs.conns > 0 && capSID != "" && hs.cap != capSID {
		return false
	}
	hs.conns++
	hs.cap = capSID
	return true
}

func (s *Service) release(roomID string, slot int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := s.slots[roomID]
	if h == nil {
		return
	}
	h[slot].conns--
	if h[slot].conns == 0 {
		h[slot].cap = ""
	}
	if h[0].conns == 0 && h[1].conns == 0 {
		delete(s.slots, roomID)
	}
}

// Reasons sent in "bye" when a connection is refused after the upgrade,
// so the page can say why.
const (
	ByeTaken = "taken" // capability mode: someone else holds this place
)

func (s *Service) ws(w http.ResponseWriter, r *http.Request, id string) {
	se, err := s.store.GetSeries(r.Context(), id)
	if errors.Is(err, errs.ErrNotFound) {
		http.Error(w, "no such room", http.StatusNotFound)
		return
	}
	if err != nil {
		s.log.Error("meet: load series", "room", id, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	a := s.decide(r, se)
	switch a.verdict {
	case signIn, choose:
		http.Error(w, "sign in or open your personal link first", http.StatusUnauthorized)
		return
	case refuse:
		http.Error(w, "this room is for two other people", http.StatusForbidden)
		return
	}
	// The HTTP server's read and write timeouts stay on a hijacked
	// connection; a meeting lasts longer. The signal connection has its
	// own keepalive and write timeouts.
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Time{})
	_ = rc.SetWriteDeadline(time.Time{})
	ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{OriginPatterns: s.origins})
	if err != nil {
		// Accept has answered (a bad origin is 403).
		s.log.Info("meet: websocket refused", "room", id, "err", err)
		return
	}
	conn := signal.NewWSConn(ws, s.sig)
	slot := slotOf(a.role)
	if !s.acquire(id, slot, a.capSID) {
		conn.Send(signal.Message{Type: signal.TypeBye, Data: &signal.Bye{Reason: ByeTaken}})
		conn.Close(ByeTaken)
		<-conn.Done()
		return
	}
	defer s.release(id, slot)
	if err := s.sfu.Join(r.Context(), id, a.role, s.media.conn(id, slot, conn)); err != nil && !errors.Is(err, sfu.ErrClosed) {
		s.log.Info("meet: session ended", "room", id, "role", a.role, "err", err)
	}
}

var roleNames = [2]string{sfu.RoleManager, sfu.RoleReport}

// slotOf is 0 for the manager, 1 for the report, -1 otherwise.
func slotOf(role string) int {
	switch role {
	case sfu.RoleManager:
		return 0
	case sfu.RoleReport:
		return 1
	}
	return -1
}
