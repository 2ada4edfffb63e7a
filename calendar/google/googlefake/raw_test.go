package googlefake

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
)

func TestAuthorizationRequired(t *testing.T) {
	fake, srv := newFake(t)
	for _, auth := range []string{"", "Bearer ", "Basic dXNlcjpwYXNz", "bearer x"} {
		req, _ := http.NewRequest("GET", srv.URL+eventsPath(cal1), nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("Authorization %q: status %d, want 401", auth, resp.StatusCode)
		}
	}
	r := call(t, srv, "GET", eventsPath(cal1), nil, "Authorization", "")
	if r.status != 401 || r.errorReason(t) != "authError" {
		t.Errorf("no token: %d %s", r.status, r.body)
	}
	if n := fake.Requests()["events.list"]; n != 5 {
		t.Errorf("events.list counted %d times, want 5 (rejected requests count too)", n)
	}
}

func TestErrorBodyShape(t *testing.T) {
	_, srv := newFake(t)
	ev := timed("oneonone0001", "1on1", "2026-12-01T10:00:00", "2026-12-01T10:30:00")
	if r := call(t, srv, "POST", eventsPath(cal1), ev); r.status != 200 {
		t.Fatalf("insert: %d %s", r.status, r.body)
	}
	r := call(t, srv, "POST", eventsPath(cal1), ev)
	if r.status != http.StatusConflict {
		t.Fatalf("duplicate insert: %d %s", r.status, r.body)
	}
	m := r.json(t)
	e, ok := m["error"].(map[string]any)
	if !ok {
		t.Fatalf("no error object: %s", r.body)
	}
	if e["code"] != float64(409) || e["message"] != "The requested identifier already exists." || e["status"] != "ALREADY_EXISTS" {
		t.Errorf("error = %v", e)
	}
	items, _ := e["errors"].([]any)
	if len(items) != 1 {
		t.Fatalf("errors = %v", e["errors"])
	}
	item := items[0].(map[string]any)
	if item["domain"] != "global" || item["reason"] != "duplicate" || item["message"] != "The requested identifier already exists." {
		t.Errorf("errors[0] = %v", item)
	}
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type %q", ct)
	}
}

func TestInsertIDRules(t *testing.T) {
	_, srv := newFake(t)
	tests := []struct {
		id     string
		status int
	}{
		{"abcde", 200},
		{"0123456789abcdefghijklmnopqrstuv", 200},
		{strings.Repeat("a", 1024), 200},
		{"abcd", 400},                    // too short
		{strings.Repeat("b", 1025), 400}, // too long
		{"abcdw", 400},                   // w is not base32hex
		{"ABCDE", 400},                   // uppercase
		{"abc_def", 400},                 // the instance separator
		{"abc-def-0123", 400},            // uuid dashes
	}
	for _, tt := range tests {
		r := call(t, srv, "POST", eventsPath(cal1), timed(tt.id, "x", "2026-12-01T10:00:00", "2026-12-01T10:30:00"))
		if r.status != tt.status {
			t.Errorf("id %.20q: status %d, want %d: %s", tt.id, r.status, tt.status, r.body)
			continue
		}
		if tt.status == 400 && r.errorReason(t) != "invalid" {
			t.Errorf("id %.20q: reason %s", tt.id, r.body)
		}
	}
	// Without an id the server makes one that follows its own rules.
	r := call(t, srv, "POST", eventsPath(cal1), timed("", "x", "2026-12-01T10:00:00", "2026-12-01T10:30:00"))
	id, _ := r.json(t)["id"].(string)
	if r.status != 200 || !validEventID(id) {
		t.Errorf("generated id %q (%d)", id, r.status)
	}
}

func TestInsertValidation(t *testing.T) {
	_, srv := newFake(t)
	tests := []struct {
		name   string
		ev     map[string]any
		reason string
	}{
		{"missing end", map[string]any{"start": map[string]any{"date": "2026-12-01"}}, "required"},
		{"end before start", timed("", "x", "2026-12-01T10:00:00", "2026-12-01T09:00:00"), "timeRangeEmpty"},
		{"all-day of zero days", map[string]any{"start": map[string]any{"date": "2026-12-01"}, "end": map[string]any{"date": "2026-12-01"}}, "timeRangeEmpty"},
		{"mixed date and dateTime", map[string]any{"start": map[string]any{"date": "2026-12-01"}, "end": map[string]any{"dateTime": "2026-12-01T10:00:00Z"}}, "invalid"},
		{"local time without zone", map[string]any{"start": map[string]any{"dateTime": "2026-12-01T10:00:00"}, "end": map[string]any{"dateTime": "2026-12-01T11:00:00"}}, "required"},
		{"unknown zone", map[string]any{"start": map[string]any{"dateTime": "2026-12-01T10:00:00", "timeZone": "Asia/Tokio"}, "end": map[string]any{"dateTime": "2026-12-01T11:00:00Z"}}, "invalid"},
		{"recurrence without zone", map[string]any{"start": map[string]any{"dateTime": "2026-12-01T10:00:00+09:00"}, "end": map[string]any{"dateTime": "2026-12-01T11:00:00+09:00"}, "recurrence": []string{"RRULE:FREQ=WEEKLY"}}, "required"},
		{"bad rule", withRecurrence(timed("", "x", "2026-12-01T10:00:00", "2026-12-01T10:30:00"), "RRULE:FREQ=SOMETIMES"), "invalid"},
		{"DTSTART line", withRecurrence(timed("", "x", "2026-12-01T10:00:00", "2026-12-01T10:30:00"), "DTSTART:20261201T010000Z"), "invalid"},
		{"attendee without email", withAttendees(timed("", "x", "2026-12-01T10:00:00", "2026-12-01T10:30:00"), map[string]any{"displayName": "Ren"}), "required"},
	}
	for _, tt := range tests {
		r := call(t, srv, "POST", eventsPath(cal1), tt.ev)
		if r.status != 400 {
			t.Errorf("%s: status %d: %s", tt.name, r.status, r.body)
			continue
		}
		if got := r.errorReason(t); got != tt.reason {
			t.Errorf("%s: reason %q, want %q", tt.name, got, tt.reason)
		}
	}
	r := call(t, srv, "POST", eventsPath(cal1), nil, "Content-Type", "application/json")
	if r.status != 400 {
		t.Errorf("empty body: %d", r.status)
	}
	req := call(t, srv, "POST", eventsPath(cal1)+"?sendUpdates=sometimes", timed("", "x", "2026-12-01T10:00:00", "2026-12-01T10:30:00"))
	if req.status != 400 {
		t.Errorf("sendUpdates=sometimes: %d", req.status)
	}
}

func withRecurrence(ev map[string]any, lines ...string) map[string]any {
	ev["recurrence"] = lines
	return ev
}

func withAttendees(ev map[string]any, attendees ...map[string]any) map[string]any {
	ev["attendees"] = attendees
	return ev
}

func TestInsertFillsServerFields(t *testing.T) {
	_, srv := newFake(t)
	ev := withAttendees(timed("abcdef01", "1on1 Aiko/Ren", "2026-12-01T10:00:00", "2026-12-01T10:30:00"),
		map[string]any{"email": "ren@example.com"}, map[string]any{"email": cal1, "responseStatus": "accepted"})
	ev["created"] = "1999-01-01T00:00:00Z" // read-only: ignored
	ev["conferenceData"] = map[string]any{"conferenceId": "x"}
	r := call(t, srv, "POST", eventsPath(cal1), ev)
	if r.status != 200 {
		t.Fatalf("insert: %d %s", r.status, r.body)
	}
	m := r.json(t)
	for key, want := range map[string]any{
		"kind": "calendar#event", "id": "abcdef01", "status": "confirmed", "sequence": float64(0),
		"iCalUID": "abcdef01@google.com", "eventType": "default",
	} {
		if m[key] != want {
			t.Errorf("%s = %v, want %v", key, m[key], want)
		}
	}
	if m["created"] == "1999-01-01T00:00:00Z" || m["created"] != m["updated"] {
		t.Errorf("created %v updated %v", m["created"], m["updated"])
	}
	if etag, _ := m["etag"].(string); !strings.HasPrefix(etag, `"`) || !strings.HasSuffix(etag, `"`) || r.header.Get("ETag") != etag {
		t.Errorf("etag %q, header %q", etag, r.header.Get("ETag"))
	}
	if _, ok := m["conferenceData"]; ok {
		t.Errorf("conferenceData kept with conferenceDataVersion=0")
	}
	start := m["start"].(map[string]any)
	if start["dateTime"] != "2026-12-01T10:00:00+09:00" || start["timeZone"] != "Asia/Tokyo" {
		t.Errorf("start = %v", start)
	}
	att := m["attendees"].([]any)
	ren, aiko := att[0].(map[string]any), att[1].(map[string]any)
	if ren["responseStatus"] != "needsAction" || ren["organizer"] != nil {
		t.Errorf("ren = %v", ren)
	}
	if aiko["organizer"] != true || aiko["self"] != true {
		t.Errorf("organizer attendee = %v", aiko)
	}
	if org := m["organizer"].(map[string]any); org["email"] != cal1 || org["self"] != true {
		t.Errorf("organizer = %v", org)
	}
}

func TestDeleteKeepsACancelledEvent(t *testing.T) {
	fake, srv := newFake(t)
	path := eventsPath(cal1) + "/gone00001"
	call(t, srv, "POST", eventsPath(cal1), timed("gone00001", "1on1", "2026-12-01T10:00:00", "2026-12-01T10:30:00"))
	if r := call(t, srv, "DELETE", path, nil); r.status != http.StatusNoContent || len(r.body) != 0 {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	r := call(t, srv, "GET", path, nil)
	m := r.json(t)
	if r.status != 200 || m["status"] != "cancelled" || m["summary"] != "1on1" || m["sequence"] != float64(1) {
		t.Errorf("get after delete: %d %s", r.status, r.body)
	}
	if r := call(t, srv, "DELETE", path, nil); r.status != http.StatusGone || r.errorReason(t) != "deleted" {
		t.Errorf("second delete: %d %s", r.status, r.body)
	}
	if r := call(t, srv, "POST", eventsPath(cal1), timed("gone00001", "again", "2026-12-01T10:00:00", "2026-12-01T10:30:00")); r.status != http.StatusConflict {
		t.Errorf("insert over a deleted id: %d %s", r.status, r.body)
	}
	// A full list hides it; showDeleted shows it.
	if items := listIDs(t, srv, ""); len(items) != 0 {
		t.Errorf("list shows %v", items)
	}
	if items := listIDs(t, srv, "showDeleted=true"); !slices.Equal(items, []string{"gone00001"}) {
		t.Errorf("showDeleted list shows %v", items)
	}
	// Undelete: the organizer can patch the status back.
	if r := call(t, srv, "PATCH", path, map[string]any{"status": "confirmed"}); r.status != 200 {
		t.Errorf("undelete: %d %s", r.status, r.body)
	}
	if ev, ok := fake.Event(cal1, "gone00001"); !ok || ev.Status != "confirmed" || ev.Sequence != 2 {
		t.Errorf("after undelete: %+v", ev)
	}
	if r := call(t, srv, "GET", eventsPath(cal1)+"/nothere01", nil); r.status != 404 || r.errorReason(t) != "notFound" {
		t.Errorf("unknown id: %d %s", r.status, r.body)
	}
}

// listIDs lists the calendar once (one page) and returns the item ids in
// the order received.
func listIDs(t *testing.T, srv *httptest.Server, query string) []string {
	t.Helper()
	r := call(t, srv, "GET", eventsPath(cal1)+"?"+query, nil)
	if r.status != 200 {
		t.Fatalf("list ?%s: %d %s", query, r.status, r.body)
	}
	var ids []string
	for _, it := range r.json(t)["items"].([]any) {
		ids = append(ids, it.(map[string]any)["id"].(string))
	}
	return ids
}

func newServer(t *testing.T, h http.Handler) *httptest.Server {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

func TestEtagPreconditions(t *testing.T) {
	_, srv := newFake(t)
	path := eventsPath(cal1) + "/etag00001"
	first := call(t, srv, "POST", eventsPath(cal1), timed("etag00001", "1on1", "2026-12-01T10:00:00", "2026-12-01T10:30:00")).json(t)
	etag1 := first["etag"].(string)

	if r := call(t, srv, "GET", path, nil, "If-None-Match", etag1); r.status != http.StatusNotModified || len(r.body) != 0 {
		t.Errorf("If-None-Match current: %d %s", r.status, r.body)
	}
	r := call(t, srv, "PATCH", path, map[string]any{"summary": "1on1 (moved room)"}, "If-Match", etag1)
	if r.status != 200 {
		t.Fatalf("patch with current etag: %d %s", r.status, r.body)
	}
	etag2 := r.json(t)["etag"].(string)
	if etag2 == etag1 {
		t.Fatal("etag did not change on patch")
	}
	if r := call(t, srv, "GET", path, nil, "If-None-Match", etag1); r.status != 200 {
		t.Errorf("If-None-Match stale: %d", r.status)
	}
	for _, method := range []string{"PATCH", "PUT", "DELETE"} {
		var body any
		if method != "DELETE" {
			body = timed("", "stale write", "2026-12-01T10:00:00", "2026-12-01T10:30:00")
		}
		r := call(t, srv, method, path, body, "If-Match", etag1)
		if r.status != http.StatusPreconditionFailed || r.errorReason(t) != "conditionNotMet" {
			t.Errorf("%s with stale If-Match: %d %s", method, r.status, r.body)
		}
	}
	if r := call(t, srv, "PUT", path, timed("", "replaced", "2026-12-01T10:00:00", "2026-12-01T10:30:00"), "If-Match", etag2); r.status != 200 {
		t.Errorf("PUT with current etag: %d %s", r.status, r.body)
	}
}

func TestSequenceFollowsSignificantChanges(t *testing.T) {
	fake, srv := newFake(t)
	path := eventsPath(cal1) + "/seq000001"
	call(t, srv, "POST", eventsPath(cal1), timed("seq000001", "1on1", "2026-12-01T10:00:00", "2026-12-01T10:30:00"))
	steps := []struct {
		name    string
		patch   map[string]any
		wantSeq int64
	}{
		{"summary", map[string]any{"summary": "renamed"}, 0},
		{"description", map[string]any{"description": "agenda link"}, 0},
		{"attendees", map[string]any{"attendees": []any{map[string]any{"email": "ren@example.com"}}}, 0},
		{"start and end", map[string]any{"start": map[string]any{"dateTime": "2026-12-01T11:00:00+09:00"}, "end": map[string]any{"dateTime": "2026-12-01T11:30:00+09:00"}}, 1},
		{"same instant, other spelling", map[string]any{"start": map[string]any{"dateTime": "2026-12-01T02:00:00Z"}, "end": map[string]any{"dateTime": "2026-12-01T02:30:00Z"}}, 1},
		{"status", map[string]any{"status": "tentative"}, 2},
	}
	prev, _ := fake.Event(cal1, "seq000001")
	for _, st := range steps {
		r := call(t, srv, "PATCH", path, st.patch)
		if r.status != 200 {
			t.Fatalf("%s: %d %s", st.name, r.status, r.body)
		}
		ev, _ := fake.Event(cal1, "seq000001")
		if ev.Sequence != st.wantSeq {
			t.Errorf("after %s: sequence %d, want %d", st.name, ev.Sequence, st.wantSeq)
		}
		if ev.Etag == prev.Etag || ev.Updated <= prev.Updated {
			t.Errorf("after %s: etag %s→%s updated %s→%s", st.name, prev.Etag, ev.Etag, prev.Updated, ev.Updated)
		}
		prev = ev
	}
	lower := timed("", "x", "2026-12-01T10:00:00", "2026-12-01T10:30:00")
	lower["sequence"] = 0
	if r := call(t, srv, "PUT", path, lower); r.status != 400 {
		t.Errorf("lowering the sequence: %d %s", r.status, r.body)
	}
}

func TestCancelledExceptionCarriesOnlyItsIdentity(t *testing.T) {
	_, srv := newFake(t)
	ev := withRecurrence(timed("series001", "1on1", "2026-12-01T10:00:00", "2026-12-01T10:30:00"), "RRULE:FREQ=WEEKLY;COUNT=4")
	if r := call(t, srv, "POST", eventsPath(cal1), ev); r.status != 200 {
		t.Fatalf("insert: %d %s", r.status, r.body)
	}
	instance := "series001_20261208T010000Z"
	if r := call(t, srv, "DELETE", eventsPath(cal1)+"/"+instance, nil); r.status != 204 {
		t.Fatalf("delete instance: %d %s", r.status, r.body)
	}
	r := call(t, srv, "GET", eventsPath(cal1), nil)
	items := r.json(t)["items"].([]any)
	var keys []string
	found := false
	for _, it := range items {
		m := it.(map[string]any)
		if m["id"] != instance {
			continue
		}
		found = true
		for k := range m {
			keys = append(keys, k)
		}
		ost := m["originalStartTime"].(map[string]any)
		if ost["dateTime"] != "2026-12-08T10:00:00+09:00" || ost["timeZone"] != "Asia/Tokyo" {
			t.Errorf("originalStartTime = %v", ost)
		}
	}
	if !found {
		t.Fatalf("cancelled exception not listed with singleEvents=false: %s", r.body)
	}
	sort.Strings(keys)
	want := []string{"etag", "id", "kind", "originalStartTime", "recurringEventId", "status"}
	if !slices.Equal(keys, want) {
		t.Errorf("cancelled exception keys %v, want %v", keys, want)
	}
	g := call(t, srv, "GET", eventsPath(cal1)+"/"+instance, nil)
	if m := g.json(t); g.status != 200 || m["status"] != "cancelled" || m["summary"] != nil {
		t.Errorf("get cancelled instance: %d %s", g.status, g.body)
	}
	if r := call(t, srv, "GET", eventsPath(cal1)+"/series001_20261209T010000Z", nil); r.status != 404 {
		t.Errorf("get of a time that is no instance: %d", r.status)
	}
}

func TestFailNext(t *testing.T) {
	fake, srv := newFake(t)
	fake.FailNext(1, http.StatusTooManyRequests, "", 2500*time.Millisecond)
	fake.FailNext(1, http.StatusForbidden, "userRateLimitExceeded", 0)
	fake.FailNext(1, http.StatusForbidden, "rateLimitExceeded", 0)
	fake.FailNext(1, http.StatusServiceUnavailable, "", time.Second)
	want := []struct {
		status     int
		reason     string
		domain     string
		retryAfter string
	}{
		{429, "rateLimitExceeded", "usageLimits", "3"},
		{403, "userRateLimitExceeded", "usageLimits", ""},
		{403, "rateLimitExceeded", "usageLimits", ""},
		{503, "backendError", "global", "1"},
	}
	for _, w := range want {
		r := call(t, srv, "GET", eventsPath(cal1), nil)
		if r.status != w.status || r.errorReason(t) != w.reason || r.header.Get("Retry-After") != w.retryAfter {
			t.Errorf("got %d %q Retry-After %q, want %+v: %s", r.status, r.errorReason(t), r.header.Get("Retry-After"), w, r.body)
		}
		if !strings.Contains(string(r.body), `"domain":"`+w.domain+`"`) {
			t.Errorf("domain: %s", r.body)
		}
	}
	if r := call(t, srv, "GET", eventsPath(cal1), nil); r.status != 200 {
		t.Errorf("after the faults: %d", r.status)
	}
	if got := fake.Requests()["events.list"]; got != 5 {
		t.Errorf("events.list count %d, want 5", got)
	}
	log := fake.RequestLog()
	if len(log) != 5 || log[0].Status != 429 || log[4].Status != 200 || log[4].CalendarID != cal1 {
		t.Errorf("request log %+v", log)
	}
	fake.ResetRequests()
	if len(fake.Requests()) != 0 || len(fake.RequestLog()) != 0 {
		t.Error("ResetRequests kept something")
	}
}

func TestCalendars(t *testing.T) {
	clk := &testClock{t: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)}
	fake := New(Options{Calendars: []string{"team+1on1@group.calendar.google.com"}, Primary: cal1, Now: clk.Now})
	fake.AddCalendar(cal1)
	srv := newServer(t, fake)
	ev := timed("calendar01", "x", "2026-12-01T10:00:00", "2026-12-01T10:30:00")
	if r := call(t, srv, "POST", eventsPath(url.PathEscape("team+1on1@group.calendar.google.com")), ev); r.status != 200 {
		t.Fatalf("insert in escaped calendar id: %d %s", r.status, r.body)
	}
	if _, ok := fake.Event("team+1on1@group.calendar.google.com", "calendar01"); !ok {
		t.Error("event not in the decoded calendar id")
	}
	if r := call(t, srv, "POST", eventsPath("primary"), ev); r.status != 200 {
		t.Fatalf("insert in primary: %d %s", r.status, r.body)
	}
	if _, ok := fake.Event(cal1, "calendar01"); !ok {
		t.Error("primary did not resolve to Options.Primary")
	}
	if r := call(t, srv, "GET", eventsPath("nobody@example.com"), nil); r.status != 404 || r.errorReason(t) != "notFound" {
		t.Errorf("unknown calendar: %d %s", r.status, r.body)
	}
	if r := call(t, srv, "POST", eventsPath(cal1)+"/calendar01/move", nil); r.status != 404 {
		t.Errorf("unserved method: %d", r.status)
	}

	auto := New(Options{AutoCreateCalendars: true})
	asrv := newServer(t, auto)
	if r := call(t, asrv, "GET", eventsPath("new@example.com"), nil); r.status != 200 {
		t.Errorf("auto-created calendar: %d %s", r.status, r.body)
	}
}
