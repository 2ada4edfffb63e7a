package googlefake

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

const (
	defaultMaxResults = 250
	maxMaxResults     = 2500
)

// eventsPage is the Events collection resource a list answers with.
type eventsPage struct {
	Kind             string `json:"kind"`
	Etag             string `json:"etag"`
	Summary          string `json:"summary"`
	Description      string `json:"description,omitempty"`
	Updated          string `json:"updated"`
	TimeZone         string `json:"timeZone"`
	AccessRole       string `json:"accessRole"`
	DefaultReminders []any  `json:"defaultReminders"`
	NextPageToken    string `json:"nextPageToken,omitempty"`
	NextSyncToken    string `json:"nextSyncToken,omitempty"`
	Items            []any  `json:"items"`
}

type listQuery struct {
	singleEvents  bool
	showDeleted   bool
	timeMin       time.Time
	timeMax       time.Time
	updatedMin    time.Time
	text          string
	iCalUID       string
	orderBy       string
	private       [][2]string
	shared        [][2]string
	maxResults    int
	after         string // sort key of the last item of the previous page
	snapshot      int64  // change number the next sync token will carry
	incremental   bool
	since         int64 // with a sync token: changes after this one
	originalStart time.Time
}

// syncForbidden are the parameters the documentation says cannot be
// combined with syncToken.
var syncForbidden = []string{"iCalUID", "orderBy", "privateExtendedProperty", "q",
	"sharedExtendedProperty", "timeMin", "timeMax", "updatedMin"}

func (s *Server) parseListQuery(q url.Values, instances bool) (*listQuery, *apiError) {
	lq := &listQuery{maxResults: defaultMaxResults, snapshot: s.change}
	var aerr *apiError
	if lq.singleEvents, aerr = boolParam(q, "singleEvents"); aerr != nil {
		return nil, aerr
	}
	if lq.showDeleted, aerr = boolParam(q, "showDeleted"); aerr != nil {
		return nil, aerr
	}
	if v := q.Get("maxResults"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return nil, errInvalid("Invalid value for maxResults: "+v, "maxResults")
		}
		lq.maxResults = min(n, maxMaxResults)
	}
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"timeMin", &lq.timeMin}, {"timeMax", &lq.timeMax}, {"updatedMin", &lq.updatedMin}, {"originalStart", &lq.originalStart}} {
		if v := q.Get(p.name); v != "" {
			t, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				return nil, errInvalid("Bad Request", p.name)
			}
			*p.dst = t
		}
	}
	if !lq.timeMin.IsZero() && !lq.timeMax.IsZero() && !lq.timeMin.Before(lq.timeMax) {
		return nil, errTimeRangeEmpty("timeMax")
	}
	if instances {
		lq.singleEvents = true
	} else {
		lq.text = q.Get("q")
		lq.iCalUID = q.Get("iCalUID")
		switch lq.orderBy = q.Get("orderBy"); lq.orderBy {
		case "", "updated":
		case "startTime":
			if !lq.singleEvents {
				return nil, errInvalid("The requested ordering is not available for the particular query.", "orderBy")
			}
		default:
			return nil, errInvalid("Invalid value for orderBy: "+lq.orderBy, "orderBy")
		}
		for _, p := range []struct {
			name string
			dst  *[][2]string
		}{{"privateExtendedProperty", &lq.private}, {"sharedExtendedProperty", &lq.shared}} {
			for _, v := range q[p.name] {
				k, val, ok := strings.Cut(v, "=")
				if !ok || k == "" {
					return nil, errInvalid("Invalid value for "+p.name+": "+v, p.name)
				}
				*p.dst = append(*p.dst, [2]string{k, val})
			}
		}
		if tok := q.Get("syncToken"); tok != "" {
			for _, name := range syncForbidden {
				if q.Has(name) {
					return nil, errInvalid("Syncing with the "+name+" parameter is not supported.", name)
				}
			}
			if q.Get("showDeleted") == "false" {
				return nil, errInvalid("Deleted events are always returned with a syncToken; showDeleted cannot be false.", "showDeleted")
			}
			since, ok := s.decodeSyncToken(tok)
			if !ok {
				return nil, errFullSyncRequired()
			}
			lq.incremental, lq.since = true, since
		}
	}
	if tok := q.Get("pageToken"); tok != "" {
		after, snapshot, ok := s.decodePageToken(tok)
		if !ok {
			return nil, errInvalid("Invalid page token value.", "pageToken")
		}
		lq.after, lq.snapshot = after, snapshot
	}
	return lq, nil
}

func boolParam(q url.Values, name string) (bool, *apiError) {
	v := q.Get(name)
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, errInvalid("Invalid value for "+name+": "+v, name)
	}
	return b, nil
}

// Sync and page tokens are opaque to clients; here they carry the change
// number they stand for and, for sync tokens, the epoch that
// ExpireSyncTokens moves past.

func (s *Server) encodeSyncToken(change int64) string {
	return base64.RawURLEncoding.EncodeToString(fmt.Appendf(nil, "gfs1:%d:%d", s.epoch, change))
}

func (s *Server) decodeSyncToken(tok string) (int64, bool) {
	var epoch, change int64
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return 0, false
	}
	if n, err := fmt.Sscanf(string(b), "gfs1:%d:%d", &epoch, &change); err != nil || n != 2 {
		return 0, false
	}
	if epoch != s.epoch || change < 0 || change > s.change {
		return 0, false
	}
	return change, true
}

// Page tokens carry the sort key of the last item returned rather than an
// offset, so that events changing between two pages never shift an
// unchanged event out of the listing.
func encodePageToken(after string, snapshot int64) string {
	return base64.RawURLEncoding.EncodeToString(fmt.Appendf(nil, "gfp1:%d:%s", snapshot, after))
}

func (s *Server) decodePageToken(tok string) (string, int64, bool) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return "", 0, false
	}
	parts := strings.SplitN(string(b), ":", 3)
	if len(parts) != 3 || parts[0] != "gfp1" || parts[2] == "" {
		return "", 0, false
	}
	snapshot, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil || snapshot < 0 || snapshot > s.change {
		return "", 0, false
	}
	return parts[2], snapshot, true
}

// view is one candidate item of a list: a stored event or a computed
// instance, with what filtering and ordering need.
type view struct {
	ev        Event
	start     time.Time // original start for cancelled instances
	end       time.Time // zero: open-ended (an endless series)
	change    int64
	exception bool // an instance of a recurring event (stored or computed)
	key       string
}

func (v *view) cancelled() bool { return v.ev.Status == statusCancelled }

func (s *Server) list(r *http.Request, cal *calendarData) (int, any, *apiError) {
	lq, aerr := s.parseListQuery(r.URL.Query(), false)
	if aerr != nil {
		return 0, nil, aerr
	}
	var views []view
	for _, rec := range cal.events {
		ev := &rec.ev
		isMaster := len(ev.Recurrence) > 0 && ev.RecurringEventID == ""
		if isMaster && lq.singleEvents {
			views = append(views, s.expand(cal, rec, lq)...)
			continue
		}
		v, ok := s.viewOf(cal, rec)
		if ok {
			views = append(views, v)
		}
	}
	items := make([]view, 0, len(views))
	for i := range views {
		if s.keep(cal, &views[i], lq) {
			items = append(items, views[i])
		}
	}
	sortViews(items, lq.orderBy)
	return s.page(cal, items, lq, true)
}

func (s *Server) instances(r *http.Request, cal *calendarData) (int, any, *apiError) {
	rec, ok := cal.events[r.PathValue("eventId")]
	if !ok {
		return 0, nil, errNotFound()
	}
	if len(rec.ev.Recurrence) == 0 || rec.ev.RecurringEventID != "" {
		return 0, nil, errInvalid("The event is not a recurring event.", "eventId")
	}
	lq, aerr := s.parseListQuery(r.URL.Query(), true)
	if aerr != nil {
		return 0, nil, aerr
	}
	views := s.expand(cal, rec, lq)
	for _, ex := range cal.events {
		if ex.ev.RecurringEventID == rec.ev.ID {
			if v, ok := s.viewOf(cal, ex); ok {
				views = append(views, v)
			}
		}
	}
	items := make([]view, 0, len(views))
	for i := range views {
		v := &views[i]
		if !lq.originalStart.IsZero() && !originalStartOf(v).Equal(lq.originalStart) {
			continue
		}
		if v.cancelled() && !lq.showDeleted {
			continue
		}
		// For instances, timeMin bounds the end inclusively.
		if !lq.timeMin.IsZero() && !v.end.IsZero() && v.end.Before(lq.timeMin) {
			continue
		}
		if !lq.timeMax.IsZero() && !v.start.Before(lq.timeMax) {
			continue
		}
		items = append(items, *v)
	}
	sortViews(items, "originalStart")
	return s.page(cal, items, lq, false)
}

func originalStartOf(v *view) time.Time {
	if v.ev.OriginalStartTime != nil {
		if m, err := parseDateTime(v.ev.OriginalStartTime, "original start"); err == nil {
			return m.t
		}
	}
	return v.start
}

// viewOf makes the list candidate of a stored event. A master listed
// without expansion spans from its first start to its last end.
func (s *Server) viewOf(cal *calendarData, rec *record) (view, bool) {
	ev := rec.ev
	v := view{ev: ev, change: rec.change, exception: ev.RecurringEventID != ""}
	start, err1 := parseDateTime(ev.Start, "start")
	end, err2 := parseDateTime(ev.End, "end")
	if err1 != nil || err2 != nil {
		return view{}, false
	}
	v.start, v.end = start.t, end.t
	if v.exception && v.cancelled() {
		v.start = originalStartOf(&v)
		v.end = v.start
	}
	if len(ev.Recurrence) > 0 && !v.exception {
		sr, aerr := parseSeries(&ev)
		if aerr != nil {
			return view{}, false
		}
		v.end = time.Time{}
		if last, ok := sr.last(); ok {
			v.end = last.Add(sr.dur)
		}
	}
	return v, true
}

// expand lists the instances of a master that have no stored exception
// (exceptions are listed as records of their own).
func (s *Server) expand(cal *calendarData, rec *record, lq *listQuery) []view {
	sr, aerr := parseSeries(&rec.ev)
	if aerr != nil {
		return nil
	}
	from := sr.start.t
	if !lq.timeMin.IsZero() && lq.timeMin.Add(-sr.dur).After(from) {
		from = lq.timeMin.Add(-sr.dur)
	}
	to := lq.timeMax
	if to.IsZero() {
		base := s.opts.Now()
		if sr.start.t.After(base) {
			base = sr.start.t
		}
		to = base.Add(s.opts.ExpansionHorizon)
	}
	var out []view
	for _, t := range sr.between(from, to) {
		id := instanceID(rec.ev.ID, t, sr.start.allDay)
		if _, ok := cal.events[id]; ok {
			continue
		}
		in := instanceOf(&rec.ev, sr, t)
		out = append(out, view{ev: in, start: t, end: t.Add(sr.dur), change: rec.change, exception: true})
	}
	return out
}

// keep applies the list filters of the documentation to one candidate.
func (s *Server) keep(cal *calendarData, v *view, lq *listQuery) bool {
	if lq.incremental && v.change <= lq.since {
		return false
	}
	if v.change > lq.snapshot {
		// Written after the first page of this listing: it belongs to
		// the next sync, which the token of this listing will return.
		return false
	}
	if v.cancelled() {
		deletedShown := lq.showDeleted || lq.incremental || !lq.updatedMin.IsZero()
		// Cancelled instances of a recurring event are listed even without
		// showDeleted when the series is not expanded.
		if !deletedShown && !(v.exception && !lq.singleEvents) {
			return false
		}
	} else if v.exception {
		// A modified instance of a deleted series goes with its series.
		if m, ok := cal.events[v.ev.RecurringEventID]; ok && m.ev.Status == statusCancelled && !lq.showDeleted && !lq.incremental {
			return false
		}
	}
	if !lq.timeMin.IsZero() && !v.end.IsZero() && !v.end.After(lq.timeMin) {
		return false
	}
	if !lq.timeMax.IsZero() && !v.start.Before(lq.timeMax) {
		return false
	}
	if !lq.updatedMin.IsZero() {
		u, err := time.Parse(time.RFC3339Nano, v.ev.Updated)
		if err == nil && u.Before(lq.updatedMin) {
			return false
		}
	}
	if lq.iCalUID != "" && v.ev.ICalUID != lq.iCalUID {
		return false
	}
	if lq.text != "" && !matchesText(&v.ev, lq.text) {
		return false
	}
	for _, kv := range lq.private {
		if v.ev.ExtendedProperties == nil || v.ev.ExtendedProperties.Private[kv[0]] != kv[1] {
			return false
		}
	}
	for _, kv := range lq.shared {
		if v.ev.ExtendedProperties == nil || v.ev.ExtendedProperties.Shared[kv[0]] != kv[1] {
			return false
		}
	}
	return true
}

// matchesText is the q search over the documented fields, every term
// required, case-insensitive.
func matchesText(ev *Event, q string) bool {
	hay := []string{ev.Summary, ev.Description, ev.Location}
	for _, a := range ev.Attendees {
		hay = append(hay, a.DisplayName, a.Email)
	}
	if ev.Organizer != nil {
		hay = append(hay, ev.Organizer.DisplayName, ev.Organizer.Email)
	}
	all := strings.ToLower(strings.Join(hay, "\n"))
	for _, term := range strings.Fields(strings.ToLower(q)) {
		if !strings.Contains(all, term) {
			return false
		}
	}
	return true
}

// keyLayout formats instants so that byte order is time order.
const keyLayout = "20060102T150405.000000000"

// sortViews orders items by the documented orderBy (by id when none is
// given: "an unspecified, stable order") and gives each its cursor key.
func sortViews(items []view, orderBy string) {
	for i := range items {
		v := &items[i]
		switch orderBy {
		case "startTime":
			v.key = v.start.UTC().Format(keyLayout) + "|" + v.ev.ID
		case "updated":
			v.key = v.ev.Updated + "|" + v.ev.ID
		case "originalStart":
			v.key = originalStartOf(v).UTC().Format(keyLayout) + "|" + v.ev.ID
		default:
			v.key = v.ev.ID
		}
	}
	sort.Slice(items, func(i, j int) bool { return items[i].key < items[j].key })
}

// page cuts one page out of the filtered items. Only the last page of a
// listing carries nextSyncToken; the others carry nextPageToken.
func (s *Server) page(cal *calendarData, items []view, lq *listQuery, syncable bool) (int, any, *apiError) {
	out := eventsPage{Kind: kindEvents, Etag: fmt.Sprintf(`"p%d"`, lq.snapshot), Summary: cal.id,
		Updated: cal.updated.Format(updatedTimeForm), TimeZone: s.opts.TimeZone, AccessRole: "owner",
		DefaultReminders: []any{}, Items: []any{}}
	lo := 0
	if lq.after != "" {
		lo = sort.Search(len(items), func(i int) bool { return items[i].key > lq.after })
	}
	hi := min(lo+lq.maxResults, len(items))
	for i := lo; i < hi; i++ {
		out.Items = append(out.Items, itemBody(&items[i], lq))
	}
	if hi < len(items) {
		out.NextPageToken = encodePageToken(items[hi-1].key, lq.snapshot)
	} else if syncable {
		out.NextSyncToken = s.encodeSyncToken(lq.snapshot)
	}
	return http.StatusOK, out, nil
}

// itemBody is what a listed item looks like. Cancelled instances carry
// only their identity; deleted events in an incremental sync without
// showDeleted=true carry only their id and status.
func itemBody(v *view, lq *listQuery) any {
	if v.cancelled() {
		if v.exception {
			return v.ev.cancelledView()
		}
		if lq.incremental && !lq.showDeleted {
			return v.ev.cancelledView()
		}
	}
	return v.ev.clone()
}
