package googlefake

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

const maxBody = 1 << 20

// resolve finds an event by id: a stored one, or an instance computed from
// its recurring master. stored tells which.
func (s *Server) resolve(cal *calendarData, id string) (ev Event, stored bool, aerr *apiError) {
	if rec, ok := cal.events[id]; ok {
		return rec.ev, true, nil
	}
	masterID, orig, allDay, ok := parseInstanceID(id)
	if !ok {
		return Event{}, false, errNotFound()
	}
	master, ok := cal.events[masterID]
	if !ok || len(master.ev.Recurrence) == 0 || master.ev.RecurringEventID != "" {
		return Event{}, false, errNotFound()
	}
	sr, aerr := parseSeries(&master.ev)
	if aerr != nil || sr.start.allDay != allDay {
		return Event{}, false, errNotFound()
	}
	orig = sr.norm(orig)
	if !sr.has(orig) {
		return Event{}, false, errNotFound()
	}
	return instanceOf(&master.ev, sr, orig), false, nil
}

// instanceOf computes the instance of master that originally starts at
// orig: the master's fields, its own id, times and originalStartTime, no
// recurrence.
func instanceOf(master *Event, sr *series, orig time.Time) Event {
	in := master.clone()
	in.ID = instanceID(master.ID, orig, sr.start.allDay)
	in.Recurrence = nil
	in.RecurringEventID = master.ID
	in.OriginalStartTime = moment{t: orig, allDay: sr.start.allDay}.format(sr.tz)
	in.Start = moment{t: orig, allDay: sr.start.allDay}.format(sr.tz)
	end := orig.Add(sr.dur)
	if !sr.start.allDay {
		if l, err := time.LoadLocation(sr.endTZ); err == nil {
			end = end.In(l)
		}
	}
	in.End = moment{t: end, allDay: sr.start.allDay}.format(sr.endTZ)
	in.HTMLLink = htmlLink(in.ID, master.Organizer)
	return in
}

func htmlLink(id string, organizer *Person) string {
	owner := ""
	if organizer != nil {
		owner = organizer.Email
	}
	eid := base64.RawURLEncoding.EncodeToString([]byte(id + " " + owner))
	return "https://www.google.com/calendar/event?eid=" + eid
}

func (s *Server) insert(r *http.Request, cal *calendarData) (int, any, *apiError) {
	q := r.URL.Query()
	send, aerr := sendUpdatesOf(q)
	if aerr != nil {
		return 0, nil, aerr
	}
	body, aerr := readObject(r)
	if aerr != nil {
		return 0, nil, aerr
	}
	var in Event
	if aerr := decodeObject(body, &in); aerr != nil {
		return 0, nil, aerr
	}
	if in.ID != "" {
		if !validEventID(in.ID) {
			return 0, nil, errInvalid("Invalid resource id value.", "")
		}
		// Deleted events keep their id: inserting it again is a
		// duplicate, not a resurrection.
		if _, exists := cal.events[in.ID]; exists {
			return 0, nil, errDuplicate()
		}
	} else {
		in.ID = newEventID()
	}
	// Read-only and immutable fields are the server's to set.
	in.RecurringEventID, in.OriginalStartTime = "", nil
	in.Created, in.HangoutLink, in.Locked = "", "", false
	in.Creator, in.Organizer = nil, nil
	if q.Get("conferenceDataVersion") != "1" {
		in.ConferenceData = nil
	}
	ev, aerr := normalize(cal, in, nil)
	if aerr != nil {
		return 0, nil, aerr
	}
	if ev.Sequence < 0 {
		ev.Sequence = 0
	}
	change, updated, etag := s.touch(cal)
	ev.Etag = etag
	ev.Created = updated.Format(updatedTimeForm)
	ev.Updated = ev.Created
	cal.events[ev.ID] = &record{ev: ev, change: change}
	s.notify("events.insert", cal, &ev, send)
	return http.StatusOK, ev.clone(), nil
}

func (s *Server) get(r *http.Request, cal *calendarData) (int, any, *apiError) {
	ev, _, aerr := s.resolve(cal, r.PathValue("eventId"))
	if aerr != nil {
		return 0, nil, aerr
	}
	if inm := r.Header.Get("If-None-Match"); inm != "" && etagMatches(inm, ev.Etag) {
		return http.StatusNotModified, nil, nil
	}
	// The get method always returns cancelled events; a cancelled
	// exception only ever carries its identity.
	if ev.Status == statusCancelled && ev.RecurringEventID != "" {
		return http.StatusOK, ev.cancelledView(), nil
	}
	return http.StatusOK, ev.clone(), nil
}

func (s *Server) update(r *http.Request, cal *calendarData) (int, any, *apiError) {
	return s.modify(r, cal, "events.update", false)
}

func (s *Server) patch(r *http.Request, cal *calendarData) (int, any, *apiError) {
	return s.modify(r, cal, "events.patch", true)
}

// modify serves update (the body replaces the event) and patch (the body's
// top-level fields replace the event's; null clears one). On an instance
// id it creates or changes the exception for that instance.
func (s *Server) modify(r *http.Request, cal *calendarData, op string, isPatch bool) (int, any, *apiError) {
	q := r.URL.Query()
	send, aerr := sendUpdatesOf(q)
	if aerr != nil {
		return 0, nil, aerr
	}
	body, aerr := readObject(r)
	if aerr != nil {
		return 0, nil, aerr
	}
	old, _, aerr := s.resolve(cal, r.PathValue("eventId"))
	if aerr != nil {
		return 0, nil, aerr
	}
	if aerr := checkIfMatch(r, old.Etag); aerr != nil {
		return 0, nil, aerr
	}
	fields := body
	if isPatch {
		fields = map[string]json.RawMessage{}
		b, _ := json.Marshal(&old)
		_ = json.Unmarshal(b, &fields)
		for k, v := range body {
			if string(v) == "null" {
				delete(fields, k)
			} else {
				fields[k] = v
			}
		}
	}
	var next Event
	if aerr := decodeObject(fields, &next); aerr != nil {
		return 0, nil, aerr
	}
	// Identity, read-only and immutable fields stay what they were,
	// whatever the body says.
	next.ID, next.RecurringEventID, next.OriginalStartTime = old.ID, old.RecurringEventID, old.OriginalStartTime
	next.Created, next.ICalUID, next.HangoutLink, next.Locked = old.Created, old.ICalUID, old.HangoutLink, old.Locked
	next.Creator, next.Organizer, next.EventType = old.Creator, old.Organizer, old.EventType
	if q.Get("conferenceDataVersion") != "1" {
		next.ConferenceData = old.ConferenceData
	}
	next, aerr = normalize(cal, next, &old)
	if aerr != nil {
		return 0, nil, aerr
	}
	// Per iCalendar, the sequence grows with changes that matter to
	// attendees' answers: times, recurrence, status. A client may raise it
	// but never lower it.
	seq := old.Sequence
	if significantChange(&old, &next) {
		seq++
	}
	if raw, ok := body["sequence"]; ok {
		var n int64
		if err := json.Unmarshal(raw, &n); err != nil {
			return 0, nil, errInvalid("Invalid sequence value.", "")
		}
		if n < old.Sequence {
			return 0, nil, errInvalid("Invalid sequence value. The specified sequence number is below the current sequence number of the resource.", "")
		}
		seq = max(seq, n)
	}
	next.Sequence = seq
	change, updated, etag := s.touch(cal)
	next.Etag, next.Updated = etag, updated.Format(updatedTimeForm)
	cal.events[next.ID] = &record{ev: next, change: change}
	s.notify(op, cal, &next, send)
	if next.Status == statusCancelled && next.RecurringEventID != "" {
		return http.StatusOK, next.cancelledView(), nil
	}
	return http.StatusOK, next.clone(), nil
}

// delete marks an event cancelled; Google keeps deleted events (so they
// reach incremental syncs and can be undeleted) rather than forgetting
// them. On an instance id it stores a cancelled exception.
func (s *Server) delete(r *http.Request, cal *calendarData) (int, any, *apiError) {
	send, aerr := sendUpdatesOf(r.URL.Query())
	if aerr != nil {
		return 0, nil, aerr
	}
	old, _, aerr := s.resolve(cal, r.PathValue("eventId"))
	if aerr != nil {
		return 0, nil, aerr
	}
	if aerr := checkIfMatch(r, old.Etag); aerr != nil {
		return 0, nil, aerr
	}
	if old.Status == statusCancelled {
		return 0, nil, errDeleted()
	}
	next := old.clone()
	next.Status = statusCancelled
	next.Sequence++
	change, updated, etag := s.touch(cal)
	next.Etag, next.Updated = etag, updated.Format(updatedTimeForm)
	cal.events[next.ID] = &record{ev: next, change: change}
	// Deleting a series deletes its exceptions with it, so clients that
	// sync instances (singleEvents=true) see every one go.
	if len(next.Recurrence) > 0 && next.RecurringEventID == "" {
		for _, ex := range cal.events {
			if ex.ev.RecurringEventID == next.ID && ex.ev.Status != statusCancelled {
				exc := ex.ev.clone()
				exc.Status = statusCancelled
				exc.Sequence++
				change, updated, etag := s.touch(cal)
				exc.Etag, exc.Updated = etag, updated.Format(updatedTimeForm)
				cal.events[exc.ID] = &record{ev: exc, change: change}
			}
		}
	}
	s.notify("events.delete", cal, &next, send)
	return http.StatusNoContent, nil, nil
}

// normalize validates an event about to be stored and fills what Google
// fills: defaults, organizer, iCalUID, links, attendee flags.
func normalize(cal *calendarData, ev Event, old *Event) (Event, *apiError) {
	ev.Kind = kindEvent
	switch ev.Status {
	case "":
		ev.Status = statusConfirmed
	case statusConfirmed, "tentative", statusCancelled:
	default:
		return Event{}, errInvalid("Invalid value for status.", "")
	}
	if ev.EventType == "" {
		ev.EventType = "default"
	}
	start, aerr := parseDateTime(ev.Start, "start")
	if aerr != nil {
		return Event{}, aerr
	}
	end, aerr := parseDateTime(ev.End, "end")
	if aerr != nil {
		return Event{}, aerr
	}
	if start.allDay != end.allDay {
		return Event{}, errInvalid("Start and end times must either both be date or both be dateTime.", "")
	}
	if end.t.Before(start.t) || (start.allDay && !end.t.After(start.t)) {
		return Event{}, errTimeRangeEmpty("end")
	}
	ev.Start = start.format(ev.Start.TimeZone)
	ev.End = end.format(ev.End.TimeZone)
	if ev.RecurringEventID != "" {
		ev.Recurrence = nil // instances never carry the rule
	}
	if len(ev.Recurrence) > 0 {
		if _, aerr := parseSeries(&ev); aerr != nil {
			return Event{}, aerr
		}
	}
	if old != nil && old.Organizer != nil {
		ev.Organizer, ev.Creator = old.Organizer, old.Creator
	} else {
		ev.Organizer = &Person{Email: cal.id, Self: true}
		ev.Creator = &Person{Email: cal.id, Self: true}
	}
	for i := range ev.Attendees {
		a := &ev.Attendees[i]
		if a.Email == "" {
			return Event{}, errRequired("Missing attendee email.")
		}
		if !strings.Contains(a.Email, "@") {
			return Event{}, errInvalid("Invalid attendee email.", "")
		}
		switch a.ResponseStatus {
		case "":
			a.ResponseStatus = "needsAction"
		case "needsAction", "declined", "tentative", "accepted":
		default:
			return Event{}, errInvalid("Invalid attendee response status.", "")
		}
		a.Organizer = strings.EqualFold(a.Email, ev.Organizer.Email)
		a.Self = strings.EqualFold(a.Email, cal.id)
	}
	if ev.ICalUID == "" {
		ev.ICalUID = ev.ID + "@google.com"
	}
	ev.HTMLLink = htmlLink(ev.ID, ev.Organizer)
	if len(ev.Reminders) == 0 {
		ev.Reminders = json.RawMessage(`{"useDefault":true}`)
	}
	return ev, nil
}

func significantChange(old, next *Event) bool {
	return !sameTime(old.Start, next.Start) || !sameTime(old.End, next.End) ||
		!slices.Equal(old.Recurrence, next.Recurrence) || old.Status != next.Status
}

func sameTime(a, b *DateTime) bool {
	if a == nil || b == nil {
		return a == b
	}
	ma, err1 := parseDateTime(a, "")
	mb, err2 := parseDateTime(b, "")
	if err1 != nil || err2 != nil {
		return *a == *b
	}
	return ma.allDay == mb.allDay && ma.t.Equal(mb.t) && a.TimeZone == b.TimeZone
}

func (s *Server) notify(op string, cal *calendarData, ev *Event, send string) {
	n := Notification{Op: op, CalendarID: cal.id, EventID: ev.ID, SendUpdates: send}
	if send == "all" {
		for _, a := range ev.Attendees {
			if !a.Organizer && !a.Self {
				n.Recipients = append(n.Recipients, a.Email)
			}
		}
	}
	s.notes = append(s.notes, n)
}

func sendUpdatesOf(q url.Values) (string, *apiError) {
	v := q.Get("sendUpdates")
	if v == "" {
		if b, _ := strconv.ParseBool(q.Get("sendNotifications")); b {
			return "all", nil
		}
		return "none", nil
	}
	switch v {
	case "all", "externalOnly", "none":
		return v, nil
	}
	return "", errInvalid("Invalid value for sendUpdates: "+v, "sendUpdates")
}

// checkIfMatch refuses a write made on a stale copy.
func checkIfMatch(r *http.Request, etag string) *apiError {
	im := r.Header.Get("If-Match")
	if im == "" || etagMatches(im, etag) {
		return nil
	}
	return errConditionNotMet()
}

// etagMatches compares an If-Match/If-None-Match header (a list of
// entity tags or "*") with an event's etag.
func etagMatches(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == "*" || t == etag {
			return true
		}
	}
	return false
}

func readObject(r *http.Request) (map[string]json.RawMessage, *apiError) {
	b, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil || len(b) > maxBody {
		return nil, errParse()
	}
	obj := map[string]json.RawMessage{}
	if len(strings.TrimSpace(string(b))) == 0 {
		return obj, nil
	}
	if err := json.Unmarshal(b, &obj); err != nil {
		return nil, errParse()
	}
	return obj, nil
}

func decodeObject(obj map[string]json.RawMessage, ev *Event) *apiError {
	b, err := json.Marshal(obj)
	if err != nil {
		return errParse()
	}
	if err := json.Unmarshal(b, ev); err != nil {
		return errInvalid("Invalid value in the event: "+err.Error(), "")
	}
	return nil
}
