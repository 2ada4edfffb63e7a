package googlefake

import (
	"crypto/rand"
	"encoding/base32"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"
)

// Options configure a fake server. The zero value is usable: no calendars
// (add them with AddCalendar or set AutoCreateCalendars), UTC, real time.
type Options struct {
	// Calendars are created empty when the server starts.
	Calendars []string
	// AutoCreateCalendars creates an unknown calendar on first use instead
	// of answering 404 notFound.
	AutoCreateCalendars bool
	// Primary is the calendar id the keyword "primary" stands for. When
	// empty, "primary" is an ordinary calendar id.
	Primary string
	// TimeZone is the time zone every calendar reports. Default "UTC".
	TimeZone string
	// Now is the clock for created/updated timestamps and the expansion
	// horizon. Default time.Now.
	Now func() time.Time
	// ExpansionHorizon bounds the expansion of recurrences without COUNT
	// or UNTIL when a request gives no timeMax: instances are generated up
	// to this long after the later of now and the series start.
	// Default two years.
	ExpansionHorizon time.Duration
}

// Server is a fake Google Calendar API v3 (events only). It is an
// http.Handler meant to be served by httptest.NewServer; clients use
// srv.URL + "/calendar/v3/" as their endpoint. Safe for concurrent use.
type Server struct {
	opts Options
	mux  *http.ServeMux

	mu         sync.Mutex
	cals       map[string]*calendarData
	change     int64 // increases with every modification, in every calendar
	lastMicros int64 // last updated timestamp handed out, strictly increasing
	epoch      int64 // sync tokens of an older epoch are expired
	faults     []fault
	counts     map[string]int
	log        []Request
	notes      []Notification
}

type calendarData struct {
	id      string
	events  map[string]*record
	updated time.Time
}

// record is one stored event: a single event, a recurring master, or an
// exception (a modified or cancelled instance) of a master.
type record struct {
	ev     Event
	change int64 // Server.change at the last modification
}

type fault struct {
	status     int
	reason     string
	retryAfter time.Duration
}

// Request is one request the server received, for tests that count or
// inspect traffic.
type Request struct {
	Op         string // events.list, events.get, …, or "unknown"
	Method     string
	Path       string // escaped, as received
	Query      url.Values
	CalendarID string
	EventID    string
	Status     int
}

// Notification records a write and the sendUpdates it carried, so a test
// can tell whether Google would have e-mailed the attendees.
type Notification struct {
	Op          string // events.insert, events.update, events.patch, events.delete
	CalendarID  string
	EventID     string
	SendUpdates string // "all", "externalOnly" or "none" (the default)
	// Recipients are the attendees who would be e-mailed with "all": all
	// but the organizer. Empty for "none"; for "externalOnly" the fake
	// cannot tell who is external and leaves it empty.
	Recipients []string
}

// New returns a fake server.
func New(opts Options) *Server {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.TimeZone == "" {
		opts.TimeZone = "UTC"
	}
	if opts.ExpansionHorizon <= 0 {
		opts.ExpansionHorizon = 2 * 365 * 24 * time.Hour
	}
	s := &Server{opts: opts, cals: map[string]*calendarData{}, counts: map[string]int{}}
	for _, id := range opts.Calendars {
		s.addCalendarLocked(id)
	}
	const base = "/calendar/v3/calendars/{calendarId}/events"
	s.mux = http.NewServeMux()
	s.mux.HandleFunc("GET "+base, s.api("events.list", s.list))
	s.mux.HandleFunc("POST "+base, s.api("events.insert", s.insert))
	s.mux.HandleFunc("GET "+base+"/{eventId}", s.api("events.get", s.get))
	s.mux.HandleFunc("PUT "+base+"/{eventId}", s.api("events.update", s.update))
	s.mux.HandleFunc("PATCH "+base+"/{eventId}", s.api("events.patch", s.patch))
	s.mux.HandleFunc("DELETE "+base+"/{eventId}", s.api("events.delete", s.delete))
	s.mux.HandleFunc("GET "+base+"/{eventId}/instances", s.api("events.instances", s.instances))
	s.mux.HandleFunc("/", s.api("unknown", func(*http.Request, *calendarData) (int, any, *apiError) {
		return 0, nil, errNotFound()
	}))
	return s
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// AddCalendar creates an empty calendar; adding an existing one is a no-op.
func (s *Server) AddCalendar(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.addCalendarLocked(id)
}

func (s *Server) addCalendarLocked(id string) *calendarData {
	if c, ok := s.cals[id]; ok {
		return c
	}
	c := &calendarData{id: id, events: map[string]*record{}, updated: s.opts.Now().UTC()}
	s.cals[id] = c
	return c
}

// handlerFunc serves one API method on a calendar. It runs with s.mu held
// and returns the status and body to write, or an error.
type handlerFunc func(r *http.Request, cal *calendarData) (int, any, *apiError)

// api wraps a handler with what every call goes through: counting,
// authentication, injected faults, calendar lookup and the error shape.
func (s *Server) api(op string, h handlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		req := Request{Op: op, Method: r.Method, Path: r.URL.EscapedPath(), Query: cloneValues(r.URL.Query()),
			CalendarID: r.PathValue("calendarId"), EventID: r.PathValue("eventId")}
		s.counts[op]++
		status, body, aerr := s.serve(r, op, h)
		if aerr != nil {
			status = aerr.code
			writeError(w, aerr)
		} else {
			writeBody(w, status, body)
		}
		req.Status = status
		s.log = append(s.log, req)
	}
}

func (s *Server) serve(r *http.Request, op string, h handlerFunc) (int, any, *apiError) {
	auth := r.Header.Get("Authorization")
	if !strings.HasPrefix(auth, "Bearer ") || strings.TrimSpace(auth[len("Bearer "):]) == "" {
		return 0, nil, errAuth()
	}
	if len(s.faults) > 0 {
		f := s.faults[0]
		s.faults = s.faults[1:]
		return 0, nil, injectedError(f.status, f.reason, f.retryAfter)
	}
	if op == "unknown" {
		return h(r, nil)
	}
	cal, aerr := s.calendar(r.PathValue("calendarId"))
	if aerr != nil {
		return 0, nil, aerr
	}
	return h(r, cal)
}

func (s *Server) calendar(id string) (*calendarData, *apiError) {
	if id == "primary" && s.opts.Primary != "" {
		id = s.opts.Primary
	}
	if c, ok := s.cals[id]; ok {
		return c, nil
	}
	if s.opts.AutoCreateCalendars && id != "" {
		return s.addCalendarLocked(id), nil
	}
	return nil, errNotFound()
}

// writeBody writes a successful answer. A nil body is an empty answer
// (204 for delete, 304 for a matching If-None-Match).
func writeBody(w http.ResponseWriter, status int, body any) {
	if body == nil {
		w.WriteHeader(status)
		return
	}
	if ev, ok := body.(Event); ok {
		w.Header().Set("ETag", ev.Etag)
	}
	writeJSON(w, status, body)
}

func cloneValues(v url.Values) url.Values {
	c := make(url.Values, len(v))
	for k, vs := range v {
		c[k] = append([]string(nil), vs...)
	}
	return c
}

// touch records a modification: it returns the change number and the
// updated timestamp for it, both strictly increasing, and the etag that
// goes with them.
func (s *Server) touch(cal *calendarData) (change int64, updated time.Time, etag string) {
	s.change++
	now := s.opts.Now().UTC()
	micros := now.UnixMicro()
	// Etags are Google's quoted microsecond timestamps; two writes in the
	// same microsecond (or a frozen test clock) must still differ.
	if micros <= s.lastMicros {
		micros = s.lastMicros + 1
	}
	s.lastMicros = micros
	updated = time.UnixMicro(micros).UTC()
	cal.updated = updated
	return s.change, updated, fmt.Sprintf(`"%d"`, micros)
}

// newEventID makes an id of the kind Google generates: 26 base32hex
// characters, lowercase.
func newEventID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand.Read never returns an error
	return strings.ToLower(base32.HexEncoding.WithPadding(base32.NoPadding).EncodeToString(b))
}

// ExpireSyncTokens invalidates every sync token handed out so far, as
// Google does "for various reasons including token expiration or changes
// in related ACLs": the next list with one of them answers 410 with reason
// fullSyncRequired.
func (s *Server) ExpireSyncTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.epoch++
}

// FailNext makes the next n API requests (after authentication) fail with
// status and reason, e.g. (1, 403, "rateLimitExceeded", 0),
// (1, 403, "userRateLimitExceeded", 0), (2, 429, "", 5*time.Second) or
// (1, 503, "", 0). An empty reason picks the documented one for the
// status. A positive retryAfter is sent as a Retry-After header in whole
// seconds. Calls add up: failures queue behind those not yet used.
func (s *Server) FailNext(n int, status int, reason string, retryAfter time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.faults = append(s.faults, fault{status: status, reason: reason, retryAfter: retryAfter})
	}
}

// Requests returns how many requests each API method received, keyed by
// Google's method names: events.list, events.get, events.insert,
// events.update, events.patch, events.delete, events.instances (and
// "unknown" for paths the fake does not serve). Failed requests count.
func (s *Server) Requests() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := make(map[string]int, len(s.counts))
	for k, v := range s.counts {
		c[k] = v
	}
	return c
}

// RequestLog returns every request received, oldest first.
func (s *Server) RequestLog() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Request, len(s.log))
	for i, r := range s.log {
		r.Query = cloneValues(r.Query)
		out[i] = r
	}
	return out
}

// ResetRequests forgets the counts and the log, e.g. between the setup
// and the measured part of a benchmark.
func (s *Server) ResetRequests() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counts = map[string]int{}
	s.log = nil
}

// Notifications returns the writes received, with their sendUpdates.
func (s *Server) Notifications() []Notification {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Notification, len(s.notes))
	for i, n := range s.notes {
		n.Recipients = append([]string(nil), n.Recipients...)
		out[i] = n
	}
	return out
}

// Event returns one event as Google stores it, without going through
// HTTP: a single event, a recurring master, an exception, or an instance
// computed from its master. Deleted events are returned with status
// cancelled, as events.get does.
func (s *Server) Event(calendarID, id string) (Event, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cal, ok := s.cals[calendarID]
	if !ok {
		return Event{}, false
	}
	ev, _, aerr := s.resolve(cal, id)
	if aerr != nil {
		return Event{}, false
	}
	return ev.clone(), true
}

// Events returns every stored event of a calendar — single events,
// recurring masters and exceptions, deleted ones included — ordered by id.
// Instances without an exception are not stored and not returned.
func (s *Server) Events(calendarID string) []Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	cal, ok := s.cals[calendarID]
	if !ok {
		return nil
	}
	ids := make([]string, 0, len(cal.events))
	for id := range cal.events {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	out := make([]Event, len(ids))
	for i, id := range ids {
		out[i] = cal.events[id].ev.clone()
	}
	return out
}

// SetAttendeeResponse changes one attendee's responseStatus ("accepted",
// "declined", "tentative", "needsAction") as if they had answered the
// invitation: the event's etag and updated change, its sequence does not,
// and it shows up in the next incremental sync. Answering for one instance
// of a recurring event creates an exception for that instance, as Google
// does.
func (s *Server) SetAttendeeResponse(calendarID, eventID, email, response string) error {
	switch response {
	case "accepted", "declined", "tentative", "needsAction":
	default:
		return fmt.Errorf("googlefake: response status %q is not one Google knows", response)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cal, ok := s.cals[calendarID]
	if !ok {
		return fmt.Errorf("googlefake: calendar %q does not exist", calendarID)
	}
	ev, _, aerr := s.resolve(cal, eventID)
	if aerr != nil {
		return fmt.Errorf("googlefake: event %q in %q: %w", eventID, calendarID, aerr)
	}
	next := ev.clone()
	found := false
	for i := range next.Attendees {
		if strings.EqualFold(next.Attendees[i].Email, email) {
			next.Attendees[i].ResponseStatus = response
			found = true
		}
	}
	if !found {
		return fmt.Errorf("googlefake: %s is not an attendee of event %q", email, eventID)
	}
	change, updated, etag := s.touch(cal)
	next.Etag, next.Updated = etag, updated.Format(updatedTimeForm)
	cal.events[next.ID] = &record{ev: next, change: change}
	return nil
}
