package googlefake

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	calendar "google.golang.org/api/calendar/v3"
	"google.golang.org/api/googleapi"
)

// These tests drive the fake with the official client library, to prove
// that it accepts every answer the fake gives.

func apiErr(t *testing.T, err error) *googleapi.Error {
	t.Helper()
	var ge *googleapi.Error
	if !errors.As(err, &ge) {
		t.Fatalf("want a *googleapi.Error, got %v", err)
	}
	return ge
}

func wantAPIError(t *testing.T, err error, code int, reason string) {
	t.Helper()
	ge := apiErr(t, err)
	if ge.Code != code || len(ge.Errors) == 0 || ge.Errors[0].Reason != reason {
		t.Errorf("got %d %+v, want %d %s", ge.Code, ge.Errors, code, reason)
	}
}

func oneOnOne(id string) *calendar.Event {
	return &calendar.Event{
		Id:      id,
		Summary: "1on1 Aiko / Ren",
		Start:   &calendar.EventDateTime{DateTime: "2026-12-01T10:00:00+09:00", TimeZone: "Asia/Tokyo"},
		End:     &calendar.EventDateTime{DateTime: "2026-12-01T10:30:00+09:00", TimeZone: "Asia/Tokyo"},
		Attendees: []*calendar.EventAttendee{
			{Email: cal1, ResponseStatus: "accepted"},
			{Email: "ren@example.com"},
		},
	}
}

func weekly(id string, rule ...string) *calendar.Event {
	ev := oneOnOne(id)
	ev.Recurrence = rule
	return ev
}

func TestClientInsertWithIDAndDuplicate(t *testing.T) {
	fake, srv := newFake(t)
	svc := newClient(t, srv)
	ctx := context.Background()
	got, err := svc.Events.Insert(cal1, oneOnOne("s0001")).SendUpdates("all").ConferenceDataVersion(1).Context(ctx).Do()
	if err != nil {
		t.Fatalf("insert: %v", err)
	}
	if got.Id != "s0001" || got.Etag == "" || got.Status != "confirmed" || got.ICalUID != "s0001@google.com" || got.HTTPStatusCode != 200 {
		t.Errorf("inserted %+v", got)
	}
	_, err = svc.Events.Insert(cal1, oneOnOne("s0001")).Context(ctx).Do()
	wantAPIError(t, err, http.StatusConflict, "duplicate")

	notes := fake.Notifications()
	if len(notes) != 1 || notes[0].SendUpdates != "all" || !slices.Equal(notes[0].Recipients, []string{"ren@example.com"}) {
		t.Errorf("notifications %+v", notes)
	}
}

// listAll pages through a list call and returns every page.
func listAll(t *testing.T, call *calendar.EventsListCall) []*calendar.Events {
	t.Helper()
	var pages []*calendar.Events
	err := call.Pages(context.Background(), func(p *calendar.Events) error {
		pages = append(pages, p)
		return nil
	})
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	return pages
}

func ids(pages ...*calendar.Events) []string {
	var out []string
	for _, p := range pages {
		for _, it := range p.Items {
			out = append(out, it.Id)
		}
	}
	return out
}

func TestClientPagesAndSyncTokenOnlyAtTheEnd(t *testing.T) {
	_, srv := newFake(t)
	svc := newClient(t, srv)
	var want []string
	for i := range 5 {
		id := fmt.Sprintf("page%04d", i)
		want = append(want, id)
		if _, err := svc.Events.Insert(cal1, oneOnOne(id)).Do(); err != nil {
			t.Fatal(err)
		}
	}
	pages := listAll(t, svc.Events.List(cal1).MaxResults(2))
	if len(pages) != 3 {
		t.Fatalf("%d pages, want 3", len(pages))
	}
	for i, p := range pages {
		last := i == len(pages)-1
		if (p.NextPageToken == "") != last || (p.NextSyncToken != "") != last {
			t.Errorf("page %d: nextPageToken %q nextSyncToken %q", i, p.NextPageToken, p.NextSyncToken)
		}
		if p.Kind != "calendar#events" || p.TimeZone == "" || p.AccessRole != "owner" {
			t.Errorf("page %d collection fields: %+v", i, p)
		}
	}
	got := ids(pages...)
	sort.Strings(got)
	if !slices.Equal(got, want) {
		t.Errorf("ids %v, want %v", got, want)
	}
	// Nothing changed: one cheap request, no items, a fresh token.
	inc, err := svc.Events.List(cal1).SyncToken(pages[2].NextSyncToken).Do()
	if err != nil {
		t.Fatal(err)
	}
	if len(inc.Items) != 0 || inc.NextSyncToken == "" || inc.NextPageToken != "" {
		t.Errorf("incremental with no change: %d items, sync %q page %q", len(inc.Items), inc.NextSyncToken, inc.NextPageToken)
	}
	// maxResults above 2500 is capped, not refused.
	if _, err := svc.Events.List(cal1).MaxResults(5000).Do(); err != nil {
		t.Errorf("maxResults 5000: %v", err)
	}
	_, err = svc.Events.List(cal1).PageToken("not-a-token").Do()
	wantAPIError(t, err, 400, "invalid")
}

// syncer keeps a sync token like a real client and returns what each
// incremental sync brought.
type syncer struct {
	t      *testing.T
	svc    *calendar.Service
	single bool
	token  string
}

func (s *syncer) next() map[string]*calendar.Event {
	s.t.Helper()
	call := s.svc.Events.List(cal1).SingleEvents(s.single).MaxResults(3)
	if s.token != "" {
		call = call.SyncToken(s.token)
	}
	pages := listAll(s.t, call)
	s.token = pages[len(pages)-1].NextSyncToken
	if s.token == "" {
		s.t.Fatal("no nextSyncToken on the last page")
	}
	got := map[string]*calendar.Event{}
	for _, p := range pages {
		for _, it := range p.Items {
			got[it.Id] = it
		}
	}
	return got
}

func keys(m map[string]*calendar.Event) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func TestClientIncrementalSync(t *testing.T) {
	fake, srv := newFake(t)
	svc := newClient(t, srv)
	if _, err := svc.Events.Insert(cal1, oneOnOne("single01")).Do(); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Events.Insert(cal1, weekly("series01", "RRULE:FREQ=WEEKLY;COUNT=10")).Do(); err != nil {
		t.Fatal(err)
	}
	masters := &syncer{t: t, svc: svc}
	instances := &syncer{t: t, svc: svc, single: true}
	if got := keys(masters.next()); !slices.Equal(got, []string{"series01", "single01"}) {
		t.Fatalf("full sync: %v", got)
	}
	if got := instances.next(); len(got) != 11 {
		t.Fatalf("full sync of instances: %d items: %v", len(got), keys(got))
	}

	const second = "series01_20261208T010000Z"
	const third = "series01_20261215T010000Z"
	steps := []struct {
		name string
		do   func() error
		// what each kind of sync must bring back
		masters, instances []string
		check              func(masters, instances map[string]*calendar.Event)
	}{
		{"nothing", func() error { return nil }, nil, nil, nil},
		{"insert", func() error {
			_, err := svc.Events.Insert(cal1, oneOnOne("single02")).Do()
			return err
		}, []string{"single02"}, []string{"single02"}, nil},
		{"patch", func() error {
			_, err := svc.Events.Patch(cal1, "single01", &calendar.Event{Summary: "1on1 (agenda attached)"}).Do()
			return err
		}, []string{"single01"}, []string{"single01"}, func(m, _ map[string]*calendar.Event) {
			if m["single01"].Summary != "1on1 (agenda attached)" {
				t.Errorf("patched summary %q", m["single01"].Summary)
			}
		}},
		{"delete", func() error { return svc.Events.Delete(cal1, "single02").Do() },
			[]string{"single02"}, []string{"single02"}, func(m, _ map[string]*calendar.Event) {
				if ev := m["single02"]; ev.Status != "cancelled" || ev.Summary != "" {
					t.Errorf("deleted event in incremental sync: %+v", ev)
				}
			}},
		{"instance moved", func() error {
			_, err := svc.Events.Patch(cal1, second, &calendar.Event{
				Start: &calendar.EventDateTime{DateTime: "2026-12-09T15:00:00+09:00", TimeZone: "Asia/Tokyo"},
				End:   &calendar.EventDateTime{DateTime: "2026-12-09T15:30:00+09:00", TimeZone: "Asia/Tokyo"},
			}).Do()
			return err
		}, []string{second}, []string{second}, func(m, i map[string]*calendar.Event) {
			for _, ev := range []*calendar.Event{m[second], i[second]} {
				if ev.RecurringEventId != "series01" || ev.OriginalStartTime == nil ||
					ev.OriginalStartTime.DateTime != "2026-12-08T10:00:00+09:00" ||
					ev.Start.DateTime != "2026-12-09T15:00:00+09:00" || ev.Status != "confirmed" {
					t.Errorf("moved instance %+v start %+v original %+v", ev, ev.Start, ev.OriginalStartTime)
				}
			}
		}},
		{"instance cancelled", func() error { return svc.Events.Delete(cal1, third).Do() },
			[]string{third}, []string{third}, func(m, i map[string]*calendar.Event) {
				for _, ev := range []*calendar.Event{m[third], i[third]} {
					if ev.Status != "cancelled" || ev.RecurringEventId != "series01" || ev.OriginalStartTime == nil || ev.Summary != "" {
						t.Errorf("cancelled instance %+v", ev)
					}
				}
			}},
		{"decline one instance", func() error {
			return fake.SetAttendeeResponse(cal1, "series01_20261222T010000Z", "ren@example.com", "declined")
		}, []string{"series01_20261222T010000Z"}, []string{"series01_20261222T010000Z"}, func(m, _ map[string]*calendar.Event) {
			if rs := m["series01_20261222T010000Z"].Attendees[1].ResponseStatus; rs != "declined" {
				t.Errorf("response %q", rs)
			}
		}},
		{"decline the single event", func() error {
			return fake.SetAttendeeResponse(cal1, "single01", "ren@example.com", "declined")
		}, []string{"single01"}, []string{"single01"}, nil},
	}
	for _, st := range steps {
		if err := st.do(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		m, i := masters.next(), instances.next()
		if got := keys(m); !slices.Equal(got, st.masters) {
			t.Errorf("%s: incremental sync (singleEvents=false) brought %v, want %v", st.name, got, st.masters)
		}
		if got := keys(i); !slices.Equal(got, st.instances) {
			t.Errorf("%s: incremental sync (singleEvents=true) brought %v, want %v", st.name, got, st.instances)
		}
		if st.check != nil && len(m) > 0 && len(i) > 0 {
			st.check(m, i)
		}
	}

	// A change to the series reaches every instance without an exception.
	if _, err := svc.Events.Patch(cal1, "series01", &calendar.Event{Location: "room"}).Do(); err != nil {
		t.Fatal(err)
	}
	if got := keys(masters.next()); !slices.Equal(got, []string{"series01"}) {
		t.Errorf("series patch, masters: %v", got)
	}
	if got := instances.next(); len(got) != 7 {
		t.Errorf("series patch brought %d instances, want the 7 without exception: %v", len(got), keys(got))
	}
	// Deleting the series deletes its live exceptions with it; every
	// instance comes back cancelled.
	if err := svc.Events.Delete(cal1, "series01").Do(); err != nil {
		t.Fatal(err)
	}
	m := masters.next()
	if got := keys(m); !slices.Equal(got, []string{"series01", second, "series01_20261222T010000Z"}) {
		t.Errorf("series delete, masters: %v", got)
	}
	i := instances.next()
	if len(i) != 9 {
		t.Errorf("series delete brought %d instances, want 9 (all but the one cancelled before): %v", len(i), keys(i))
	}
	for _, got := range []map[string]*calendar.Event{m, i} {
		for id, ev := range got {
			if ev.Status != "cancelled" {
				t.Errorf("after series delete, %s is %s", id, ev.Status)
			}
		}
	}
	if items := listIDs(t, srv, "singleEvents=true"); len(items) != 1 || items[0] != "single01" {
		t.Errorf("after series delete, the calendar shows %v", items)
	}
}

func TestClientExpiredSyncToken(t *testing.T) {
	fake, srv := newFake(t)
	svc := newClient(t, srv)
	if _, err := svc.Events.Insert(cal1, oneOnOne("token001")).Do(); err != nil {
		t.Fatal(err)
	}
	full, err := svc.Events.List(cal1).Do()
	if err != nil {
		t.Fatal(err)
	}
	fake.ExpireSyncTokens()
	_, err = svc.Events.List(cal1).SyncToken(full.NextSyncToken).Do()
	wantAPIError(t, err, http.StatusGone, "fullSyncRequired")
	_, err = svc.Events.List(cal1).SyncToken("garbage").Do()
	wantAPIError(t, err, http.StatusGone, "fullSyncRequired")
	again, err := svc.Events.List(cal1).Do()
	if err != nil || len(again.Items) != 1 {
		t.Fatalf("full sync after expiry: %v", err)
	}
	if _, err := svc.Events.List(cal1).SyncToken(again.NextSyncToken).Do(); err != nil {
		t.Errorf("new token refused: %v", err)
	}
}

func TestClientSyncTokenRefusesFilters(t *testing.T) {
	_, srv := newFake(t)
	svc := newClient(t, srv)
	full, err := svc.Events.List(cal1).Do()
	if err != nil {
		t.Fatal(err)
	}
	tok := full.NextSyncToken
	tests := []struct {
		name string
		call *calendar.EventsListCall
	}{
		{"timeMin", svc.Events.List(cal1).TimeMin("2026-12-01T00:00:00Z")},
		{"timeMax", svc.Events.List(cal1).TimeMax("2026-12-01T00:00:00Z")},
		{"q", svc.Events.List(cal1).Q("1on1")},
		{"orderBy", svc.Events.List(cal1).SingleEvents(true).OrderBy("startTime")},
		{"updatedMin", svc.Events.List(cal1).UpdatedMin("2026-11-01T00:00:00Z")},
		{"iCalUID", svc.Events.List(cal1).ICalUID("x@google.com")},
		{"privateExtendedProperty", svc.Events.List(cal1).PrivateExtendedProperty("series=s1")},
		{"sharedExtendedProperty", svc.Events.List(cal1).SharedExtendedProperty("series=s1")},
		{"showDeleted=false", svc.Events.List(cal1).ShowDeleted(false)},
	}
	for _, tt := range tests {
		_, err := tt.call.SyncToken(tok).Do()
		ge := apiErr(t, err)
		if ge.Code != http.StatusBadRequest {
			t.Errorf("%s with syncToken: %d, want 400", tt.name, ge.Code)
		}
	}
	for _, ok := range []*calendar.EventsListCall{
		svc.Events.List(cal1).SingleEvents(true),
		svc.Events.List(cal1).ShowDeleted(true),
		svc.Events.List(cal1).MaxResults(10),
	} {
		if _, err := ok.SyncToken(tok).Do(); err != nil {
			t.Errorf("allowed parameter refused: %v", err)
		}
	}
}

func TestClientPreconditions(t *testing.T) {
	_, srv := newFake(t)
	svc := newClient(t, srv)
	ev, err := svc.Events.Insert(cal1, oneOnOne("etag0001")).Do()
	if err != nil {
		t.Fatal(err)
	}
	stale := ev.Etag
	_, err = svc.Events.Get(cal1, "etag0001").IfNoneMatch(stale).Do()
	if !googleapi.IsNotModified(err) {
		t.Errorf("If-None-Match with the current etag: %v, want 304", err)
	}
	fresh, err := svc.Events.Patch(cal1, "etag0001", &calendar.Event{Description: "agenda"}).Do()
	if err != nil {
		t.Fatal(err)
	}
	if fresh.Etag == stale {
		t.Fatal("etag unchanged by patch")
	}
	got, err := svc.Events.Get(cal1, "etag0001").IfNoneMatch(stale).Do()
	if err != nil || got.Description != "agenda" {
		t.Errorf("If-None-Match with a stale etag: %v %+v", err, got)
	}

	upd := svc.Events.Update(cal1, "etag0001", oneOnOne("etag0001"))
	upd.Header().Set("If-Match", stale)
	_, err = upd.Do()
	wantAPIError(t, err, http.StatusPreconditionFailed, "conditionNotMet")

	pat := svc.Events.Patch(cal1, "etag0001", &calendar.Event{Summary: "x"})
	pat.Header().Set("If-Match", stale)
	_, err = pat.Do()
	wantAPIError(t, err, http.StatusPreconditionFailed, "conditionNotMet")

	del := svc.Events.Delete(cal1, "etag0001")
	del.Header().Set("If-Match", stale)
	wantAPIError(t, del.Do(), http.StatusPreconditionFailed, "conditionNotMet")

	upd = svc.Events.Update(cal1, "etag0001", oneOnOne("etag0001"))
	upd.Header().Set("If-Match", fresh.Etag)
	if _, err := upd.Do(); err != nil {
		t.Errorf("update with the current etag: %v", err)
	}
}

func TestClientInstancesAndExceptions(t *testing.T) {
	_, srv := newFake(t)
	svc := newClient(t, srv)
	// Tuesdays at 10:00 Tokyo (01:00Z), six of them, the third excluded.
	master, err := svc.Events.Insert(cal1, weekly("series02",
		"RRULE:FREQ=WEEKLY;COUNT=6", "EXDATE;TZID=Asia/Tokyo:20261215T100000")).Do()
	if err != nil {
		t.Fatal(err)
	}
	inst, err := svc.Events.Instances(cal1, "series02").Do()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"series02_20261201T010000Z", "series02_20261208T010000Z", "series02_20261222T010000Z",
		"series02_20261229T010000Z", "series02_20270105T010000Z"}
	if got := ids(inst); !slices.Equal(got, want) {
		t.Fatalf("instances %v, want %v", got, want)
	}
	first := inst.Items[0]
	if first.RecurringEventId != "series02" || first.Recurrence != nil || first.ICalUID != master.ICalUID ||
		first.OriginalStartTime.DateTime != "2026-12-01T10:00:00+09:00" || first.Start.DateTime != "2026-12-01T10:00:00+09:00" ||
		first.End.DateTime != "2026-12-01T10:30:00+09:00" || first.Summary != master.Summary {
		t.Errorf("first instance %+v", first)
	}
	if inst.NextSyncToken != "" {
		t.Error("instances answered a nextSyncToken")
	}

	// Move the second occurrence to Wednesday, cancel the fourth.
	moved, err := svc.Events.Patch(cal1, want[1], &calendar.Event{
		Start: &calendar.EventDateTime{DateTime: "2026-12-09T10:00:00+09:00", TimeZone: "Asia/Tokyo"},
		End:   &calendar.EventDateTime{DateTime: "2026-12-09T10:30:00+09:00", TimeZone: "Asia/Tokyo"},
	}).Do()
	if err != nil {
		t.Fatal(err)
	}
	if moved.Id != want[1] || moved.RecurringEventId != "series02" || moved.OriginalStartTime.DateTime != "2026-12-08T10:00:00+09:00" ||
		moved.Sequence != master.Sequence+1 {
		t.Errorf("moved %+v", moved)
	}
	if err := svc.Events.Delete(cal1, want[3]).Do(); err != nil {
		t.Fatal(err)
	}

	expanded, err := svc.Events.List(cal1).SingleEvents(true).OrderBy("startTime").Do()
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(expanded); !slices.Equal(got, []string{want[0], want[1], want[2], want[4]}) {
		t.Errorf("singleEvents list %v", got)
	}
	if expanded.Items[1].Start.DateTime != "2026-12-09T10:00:00+09:00" {
		t.Errorf("moved instance listed at %s", expanded.Items[1].Start.DateTime)
	}
	withDeleted, err := svc.Events.List(cal1).SingleEvents(true).ShowDeleted(true).OrderBy("startTime").Do()
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(withDeleted); !slices.Equal(got, []string{want[0], want[1], want[2], want[3], want[4]}) {
		t.Errorf("singleEvents+showDeleted list %v", got)
	}

	// Unexpanded: the master and both exceptions, the cancelled one bare.
	plain, err := svc.Events.List(cal1).Do()
	if err != nil {
		t.Fatal(err)
	}
	got := ids(plain)
	sort.Strings(got)
	if !slices.Equal(got, []string{"series02", want[1], want[3]}) {
		t.Errorf("singleEvents=false list %v", got)
	}
	for _, it := range plain.Items {
		if it.Id == want[3] && (it.Status != "cancelled" || it.Start != nil || it.OriginalStartTime.DateTime != "2026-12-29T10:00:00+09:00") {
			t.Errorf("cancelled exception %+v", it)
		}
	}

	inst, err = svc.Events.Instances(cal1, "series02").Do()
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(inst); !slices.Equal(got, []string{want[0], want[1], want[2], want[4]}) {
		t.Errorf("instances after changes %v", got)
	}
	one, err := svc.Events.Instances(cal1, "series02").OriginalStart("2026-12-08T10:00:00+09:00").Do()
	if err != nil || len(one.Items) != 1 || one.Items[0].Id != want[1] {
		t.Errorf("instances originalStart: %v %v", err, ids(one))
	}
	page, err := svc.Events.Instances(cal1, "series02").MaxResults(3).Do()
	if err != nil || len(page.Items) != 3 || page.NextPageToken == "" {
		t.Errorf("instances page: %v %d %q", err, len(page.Items), page.NextPageToken)
	}
	// Get works on a computed instance and on an exception.
	if ev, err := svc.Events.Get(cal1, want[2]).Do(); err != nil || ev.RecurringEventId != "series02" {
		t.Errorf("get computed instance: %v %+v", err, ev)
	}
	_, err = svc.Events.Instances(cal1, "nothing1").Do()
	wantAPIError(t, err, 404, "notFound")
}

func TestClientAllDayInstances(t *testing.T) {
	_, srv := newFake(t)
	svc := newClient(t, srv)
	_, err := svc.Events.Insert(cal1, &calendar.Event{
		Id: "alldate01", Summary: "review week",
		Start:      &calendar.EventDateTime{Date: "2026-12-01"},
		End:        &calendar.EventDateTime{Date: "2026-12-02"},
		Recurrence: []string{"RRULE:FREQ=DAILY;COUNT=3", "EXDATE;VALUE=DATE:20261202"},
	}).Do()
	if err != nil {
		t.Fatal(err)
	}
	inst, err := svc.Events.Instances(cal1, "alldate01").Do()
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(inst); !slices.Equal(got, []string{"alldate01_20261201", "alldate01_20261203"}) {
		t.Fatalf("all-day instance ids %v", got)
	}
	last := inst.Items[1]
	if last.Start.Date != "2026-12-03" || last.End.Date != "2026-12-04" || last.OriginalStartTime.Date != "2026-12-03" || last.Start.DateTime != "" {
		t.Errorf("all-day instance %+v %+v %+v", last.Start, last.End, last.OriginalStartTime)
	}
	if err := svc.Events.Delete(cal1, "alldate01_20261203").Do(); err != nil {
		t.Errorf("delete all-day instance: %v", err)
	}
}

func TestClientDaylightSavingKeepsWallClock(t *testing.T) {
	_, srv := newFake(t)
	svc := newClient(t, srv)
	_, err := svc.Events.Insert(cal1, &calendar.Event{
		Id:         "dst00001",
		Start:      &calendar.EventDateTime{DateTime: "2026-10-26T10:00:00", TimeZone: "America/New_York"},
		End:        &calendar.EventDateTime{DateTime: "2026-10-26T10:30:00", TimeZone: "America/New_York"},
		Recurrence: []string{"RRULE:FREQ=WEEKLY;COUNT=2"},
	}).Do()
	if err != nil {
		t.Fatal(err)
	}
	inst, err := svc.Events.Instances(cal1, "dst00001").Do()
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(inst); !slices.Equal(got, []string{"dst00001_20261026T140000Z", "dst00001_20261102T150000Z"}) {
		t.Errorf("ids across the DST change %v", got)
	}
	if s := inst.Items[1].Start.DateTime; s != "2026-11-02T10:00:00-05:00" {
		t.Errorf("second instance starts %s, want 10:00 local", s)
	}
}

func TestClientRateLimits(t *testing.T) {
	fake, srv := newFake(t)
	svc := newClient(t, srv)
	fake.FailNext(1, http.StatusTooManyRequests, "", 3*time.Second)
	_, err := svc.Events.List(cal1).Do()
	ge := apiErr(t, err)
	if ge.Code != 429 || ge.Header.Get("Retry-After") != "3" || ge.Errors[0].Reason != "rateLimitExceeded" {
		t.Errorf("429: %d %q %+v", ge.Code, ge.Header.Get("Retry-After"), ge.Errors)
	}
	fake.FailNext(1, http.StatusForbidden, "userRateLimitExceeded", 0)
	_, err = svc.Events.Insert(cal1, oneOnOne("limit001")).Do()
	wantAPIError(t, err, 403, "userRateLimitExceeded")
	fake.FailNext(1, http.StatusServiceUnavailable, "", 0)
	wantAPIError(t, svc.Events.Delete(cal1, "limit001").Do(), 503, "backendError")
	if _, err := svc.Events.Insert(cal1, oneOnOne("limit001")).Do(); err != nil {
		t.Errorf("after the faults: %v", err)
	}
	counts := fake.Requests()
	if counts["events.list"] != 1 || counts["events.insert"] != 2 || counts["events.delete"] != 1 {
		t.Errorf("counts %v", counts)
	}
}

func TestClientPollCostsOneRequest(t *testing.T) {
	fake, srv := newFake(t)
	svc := newClient(t, srv)
	for i := range 30 {
		if _, err := svc.Events.Insert(cal1, weekly(fmt.Sprintf("poll%04d", i), "RRULE:FREQ=WEEKLY")).Do(); err != nil {
			t.Fatal(err)
		}
	}
	s := &syncer{t: t, svc: svc}
	s.next()
	fake.ResetRequests()
	if got := s.next(); len(got) != 0 {
		t.Errorf("idle poll brought %v", keys(got))
	}
	if n := fake.Requests(); n["events.list"] != 1 || len(n) != 1 {
		t.Errorf("idle poll cost %v", n)
	}
}

func TestClientConcurrentWriters(t *testing.T) {
	fake, srv := newFake(t)
	svc := newClient(t, srv)
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for i := range 20 {
		wg.Go(func() {
			id := fmt.Sprintf("conc%04d", i)
			if _, err := svc.Events.Insert(cal1, oneOnOne(id)).Do(); err != nil {
				errs <- err
				return
			}
			if _, err := svc.Events.Patch(cal1, id, &calendar.Event{Summary: "changed"}).Do(); err != nil {
				errs <- err
			}
			if _, err := svc.Events.List(cal1).Do(); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := len(fake.Events(cal1)); n != 20 {
		t.Errorf("%d events stored, want 20", n)
	}
}
