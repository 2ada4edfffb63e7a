package googlefake

import (
	"fmt"
	"net/url"
	"slices"
	"testing"
)

func TestListFilters(t *testing.T) {
	_, srv := newFake(t)
	insert := func(ev map[string]any) {
		t.Helper()
		if r := call(t, srv, "POST", eventsPath(cal1), ev); r.status != 200 {
			t.Fatalf("insert: %d %s", r.status, r.body)
		}
	}
	early := timed("first001", "1on1 Aiko/Ren", "2026-12-01T10:00:00", "2026-12-01T10:30:00")
	early["extendedProperties"] = map[string]any{"private": map[string]any{"series": "s1"}}
	insert(early)
	late := timed("late0001", "career talk", "2026-12-03T10:00:00", "2026-12-03T10:30:00")
	late["location"] = "Room Sakura"
	late["extendedProperties"] = map[string]any{"shared": map[string]any{"series": "s2"}}
	insert(late)
	insert(withRecurrence(timed("series01", "weekly 1on1", "2026-12-02T10:00:00", "2026-12-02T10:30:00"), "RRULE:FREQ=WEEKLY;COUNT=3"))

	tests := []struct {
		query string
		want  []string
	}{
		{"", []string{"first001", "late0001", "series01"}},
		{"timeMin=2026-12-01T01:30:00Z", []string{"late0001", "series01"}}, // early ends exactly at timeMin: excluded
		{"timeMax=2026-12-01T01:00:00Z", nil},                              // starts exactly at timeMax: excluded
		{"timeMax=2026-12-01T01:00:01Z", []string{"first001"}},
		{"timeMin=2026-12-20T00:00:00Z", nil}, // after the series' last instance
		{"q=career", []string{"late0001"}},
		{"q=SAKURA", []string{"late0001"}},
		{"q=aiko@example.com+1on1", []string{"first001", "series01"}}, // the organizer's e-mail matches
		{"iCalUID=series01@google.com", []string{"series01"}},
		{"privateExtendedProperty=series%3Ds1", []string{"first001"}},
		{"sharedExtendedProperty=series%3Ds2", []string{"late0001"}},
		{"privateExtendedProperty=series%3Ds2", nil},
		{"singleEvents=true&orderBy=startTime", []string{"first001", "series01_20261202T010000Z", "late0001", "series01_20261209T010000Z", "series01_20261216T010000Z"}},
		{"singleEvents=true&orderBy=startTime&timeMin=2026-12-05T00:00:00Z&timeMax=2026-12-10T00:00:00Z", []string{"series01_20261209T010000Z"}},
		{"orderBy=updated", []string{"first001", "late0001", "series01"}},
	}
	for _, tt := range tests {
		if got := listIDs(t, srv, tt.query); !slices.Equal(got, tt.want) {
			t.Errorf("?%s: %v, want %v", tt.query, got, tt.want)
		}
	}

	bad := []struct {
		query  string
		reason string
	}{
		{"orderBy=startTime", "invalid"}, // only with singleEvents=true
		{"orderBy=summary", "invalid"},
		{"timeMin=2026-12-02T00:00:00Z&timeMax=2026-12-01T00:00:00Z", "timeRangeEmpty"},
		{"timeMin=2026-12-02", "invalid"}, // offset mandatory
		{"maxResults=0", "invalid"},
		{"singleEvents=maybe", "invalid"},
		{"privateExtendedProperty=novalue", "invalid"},
	}
	for _, tt := range bad {
		r := call(t, srv, "GET", eventsPath(cal1)+"?"+tt.query, nil)
		if r.status != 400 || r.errorReason(t) != tt.reason {
			t.Errorf("?%s: %d %s, want 400 %s", tt.query, r.status, r.body, tt.reason)
		}
	}
}

func TestUpdatedMinIncludesDeleted(t *testing.T) {
	_, srv := newFake(t)
	call(t, srv, "POST", eventsPath(cal1), timed("keep0001", "x", "2026-12-01T10:00:00", "2026-12-01T10:30:00"))
	call(t, srv, "POST", eventsPath(cal1), timed("drop0001", "x", "2026-12-01T10:00:00", "2026-12-01T10:30:00"))
	call(t, srv, "DELETE", eventsPath(cal1)+"/drop0001", nil)
	if got := listIDs(t, srv, "updatedMin="+url.QueryEscape("2026-01-01T00:00:00Z")); !slices.Equal(got, []string{"drop0001", "keep0001"}) {
		t.Errorf("updatedMin list %v", got)
	}
	if got := listIDs(t, srv, "updatedMin="+url.QueryEscape("2030-01-01T00:00:00Z")); len(got) != 0 {
		t.Errorf("updatedMin in the future %v", got)
	}
}

// A listing that pages while the calendar changes must still return every
// event that did not change, and the changes must reach the next sync.
func TestPagingSurvivesConcurrentChanges(t *testing.T) {
	_, srv := newFake(t)
	for i := range 6 {
		call(t, srv, "POST", eventsPath(cal1), timed(fmt.Sprintf("page%04d", i), "x", "2026-12-01T10:00:00", "2026-12-01T10:30:00"))
	}
	first := call(t, srv, "GET", eventsPath(cal1)+"?maxResults=2", nil).json(t)
	tok, _ := first["nextPageToken"].(string)
	if tok == "" || first["nextSyncToken"] != nil {
		t.Fatalf("first page %v", first)
	}
	// Between pages: a listed event changes, an unlisted one is deleted,
	// a new one arrives.
	call(t, srv, "PATCH", eventsPath(cal1)+"/page0000", map[string]any{"summary": "changed"})
	call(t, srv, "DELETE", eventsPath(cal1)+"/page0003", nil)
	call(t, srv, "POST", eventsPath(cal1), timed("page0009", "x", "2026-12-01T10:00:00", "2026-12-01T10:30:00"))

	seen := map[string]bool{}
	for _, it := range first["items"].([]any) {
		seen[it.(map[string]any)["id"].(string)] = true
	}
	var syncTok string
	for tok != "" {
		p := call(t, srv, "GET", eventsPath(cal1)+"?maxResults=2&pageToken="+url.QueryEscape(tok), nil).json(t)
		for _, it := range p["items"].([]any) {
			seen[it.(map[string]any)["id"].(string)] = true
		}
		tok, _ = p["nextPageToken"].(string)
		syncTok, _ = p["nextSyncToken"].(string)
	}
	for _, id := range []string{"page0001", "page0002", "page0004", "page0005"} {
		if !seen[id] {
			t.Errorf("unchanged %s lost from the listing (saw %v)", id, seen)
		}
	}
	inc := call(t, srv, "GET", eventsPath(cal1)+"?syncToken="+url.QueryEscape(syncTok), nil).json(t)
	var changed []string
	for _, it := range inc["items"].([]any) {
		changed = append(changed, it.(map[string]any)["id"].(string))
	}
	slices.Sort(changed)
	if !slices.Equal(changed, []string{"page0000", "page0003", "page0009"}) {
		t.Errorf("next sync brought %v", changed)
	}
}

func TestUpdateOnInstanceAndRestore(t *testing.T) {
	fake, srv := newFake(t)
	call(t, srv, "POST", eventsPath(cal1), withRecurrence(timed("series01", "1on1", "2026-12-01T10:00:00", "2026-12-01T10:30:00"), "RRULE:FREQ=WEEKLY"))
	id := "series01_20261208T010000Z"
	body := timed("", "1on1 (career)", "2026-12-08T10:00:00", "2026-12-08T10:30:00")
	body["recurrence"] = []string{"RRULE:FREQ=DAILY"} // instances never take a rule
	r := call(t, srv, "PUT", eventsPath(cal1)+"/"+id, body)
	if r.status != 200 {
		t.Fatalf("update instance: %d %s", r.status, r.body)
	}
	ex, ok := fake.Event(cal1, id)
	if !ok || ex.RecurringEventID != "series01" || ex.Summary != "1on1 (career)" || ex.Recurrence != nil || ex.Sequence != 0 {
		t.Errorf("exception %+v", ex)
	}
	if master, _ := fake.Event(cal1, "series01"); master.Summary != "1on1" {
		t.Errorf("master changed: %+v", master)
	}
	stored := fake.Events(cal1)
	if len(stored) != 2 || stored[0].ID != "series01" || stored[1].ID != id {
		t.Errorf("stored %v", stored)
	}
	// Endless series: the expansion stops at the horizon.
	inst := call(t, srv, "GET", eventsPath(cal1)+"/series01/instances?maxResults=2500", nil).json(t)
	if n := len(inst["items"].([]any)); n < 100 || n > 110 {
		t.Errorf("endless weekly series expanded to %d instances, want about two years", n)
	}
	if r := call(t, srv, "GET", eventsPath(cal1)+"/"+id+"/instances", nil); r.status != 400 {
		t.Errorf("instances of an instance: %d", r.status)
	}
}

func TestSetAttendeeResponse(t *testing.T) {
	fake, srv := newFake(t)
	call(t, srv, "POST", eventsPath(cal1), withAttendees(timed("decline1", "1on1", "2026-12-01T10:00:00", "2026-12-01T10:30:00"),
		map[string]any{"email": "ren@example.com"}))
	before, _ := fake.Event(cal1, "decline1")
	if err := fake.SetAttendeeResponse(cal1, "decline1", "Ren@Example.com", "declined"); err != nil {
		t.Fatal(err)
	}
	after, _ := fake.Event(cal1, "decline1")
	if after.Attendees[0].ResponseStatus != "declined" || after.Etag == before.Etag || after.Updated == before.Updated || after.Sequence != before.Sequence {
		t.Errorf("before %+v after %+v", before, after)
	}
	for _, tt := range []struct{ cal, id, email, resp string }{
		{cal1, "decline1", "nobody@example.com", "declined"},
		{cal1, "decline1", "ren@example.com", "maybe"},
		{cal1, "nothere1", "ren@example.com", "declined"},
		{"other@example.com", "decline1", "ren@example.com", "declined"},
	} {
		if err := fake.SetAttendeeResponse(tt.cal, tt.id, tt.email, tt.resp); err == nil {
			t.Errorf("SetAttendeeResponse%v: no error", tt)
		}
	}
}
