package google_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/oneonone/oneonone/calendar"
	"github.com/oneonone/oneonone/calendar/google"
	"github.com/oneonone/oneonone/internal/errs"
)

func TestEventID(t *testing.T) {
	for _, uid := range []string{"s_1@oneonone", "x", strings.Repeat("ü", 300)} {
		id := google.EventID(uid)
		if len(id) < 5 || len(id) > 1024 || strings.Trim(id, "0123456789abcdefghijklmnopqrstuv") != "" {
			t.Errorf("EventID(%q) = %q, not a valid Google event id", uid, id)
		}
		if google.EventID(uid) != id {
			t.Errorf("EventID(%q) is not deterministic", uid)
		}
	}
	if google.EventID("a") == google.EventID("b") {
		t.Error("two UIDs share an id")
	}
}

func TestCreate(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	ev := seriesEvent(t, "s_create@oneonone")
	ev.ExDates = []time.Time{time.Date(2026, 12, 29, 10, 0, 0, 0, tokyo(t))}
	ref, err := e.p.PutEvent(ctx, ev, "")
	if err != nil {
		t.Fatal(err)
	}
	id := google.EventID(ev.UID)
	if ref.Href != id || ref.UID != ev.UID || ref.ETag == "" {
		t.Fatalf("ref = %+v, want href %s and an etag", ref, id)
	}
	got, ok := e.fake.Event(calID, id)
	if !ok {
		t.Fatalf("the fake holds no event %s", id)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"iCalUID", got.ICalUID, ev.UID},
		{"etag", got.Etag, ref.ETag},
		{"summary", got.Summary, ev.Summary},
		{"description", got.Description, ev.Description},
		{"location", got.Location, ev.Location},
		{"status", got.Status, "confirmed"},
		{"sequence", got.Sequence, int64(1)},
		{"start", got.Start.DateTime, "2026-12-01T10:00:00+09:00"},
		{"start zone", got.Start.TimeZone, "Asia/Tokyo"},
		{"end", got.End.DateTime, "2026-12-01T10:30:00+09:00"},
		{"recurrence", strings.Join(got.Recurrence, "|"), "RRULE:FREQ=WEEKLY;BYDAY=TU|EXDATE;TZID=Asia/Tokyo:20261229T100000"},
		{"organizer", got.Organizer.Email, calID},
		{"attendees", len(got.Attendees), 1},
		{"attendee", got.Attendees[0].Email + " " + got.Attendees[0].ResponseStatus, "ren@example.com needsAction"},
		{"source", string(got.Source), `{"title":"1on1 Aiko / Ren","url":"http://localhost:8080/r/abc"}`},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	notes := e.fake.Notifications()
	if len(notes) != 1 || notes[0].SendUpdates != "all" || !slices.Equal(notes[0].Recipients, []string{"ren@example.com"}) {
		t.Errorf("notifications = %+v, want one insert announced to ren", notes)
	}

	// Read back through our client: the same event.
	back, err := e.p.GetEvent(ctx, calendar.EventRef{UID: ev.UID})
	if err != nil {
		t.Fatal(err)
	}
	if !back.Start.Equal(ev.Start) || back.Start.Location().String() != "Asia/Tokyo" || back.Duration != ev.Duration ||
		back.RRule != ev.RRule || back.URL != ev.URL || len(back.ExDates) != 1 || !back.ExDates[0].Equal(ev.ExDates[0]) ||
		back.Attendees[0].PartStat != calendar.PartStatNeedsAction || back.Organizer.Email != calID {
		t.Errorf("GetEvent = %+v, want what was written", back)
	}
}

func TestCreateTwice(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	ev := seriesEvent(t, "s_twice@oneonone")
	if _, err := e.p.PutEvent(ctx, ev, ""); err != nil {
		t.Fatal(err)
	}
	_, err := e.p.PutEvent(ctx, ev, "")
	if !errors.Is(err, calendar.ErrEventExists) || !errors.Is(err, errs.ErrConflict) {
		t.Fatalf("second create: %v, want ErrEventExists", err)
	}
	if n := len(e.fake.Events(calID)); n != 1 {
		t.Fatalf("the fake holds %d events, want 1", n)
	}
	// A deleted event keeps its id at Google: creating it again is still
	// "exists", and GetEvent shows it cancelled.
	if err := e.p.DeleteEvent(ctx, calendar.EventRef{UID: ev.UID}, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := e.p.PutEvent(ctx, ev, ""); !errors.Is(err, calendar.ErrEventExists) {
		t.Fatalf("create after delete: %v, want ErrEventExists", err)
	}
	got, err := e.p.GetEvent(ctx, calendar.EventRef{UID: ev.UID})
	if err != nil || got.Status != calendar.EventCancelled {
		t.Fatalf("GetEvent after delete = %v, %v; want status CANCELLED", got.Status, err)
	}
	// Restoring it is a replace with its etag.
	ev.Status = calendar.EventConfirmed
	if _, err := e.p.PutEvent(ctx, ev, got.ETag); err != nil {
		t.Fatalf("restore: %v", err)
	}
	if g, _ := e.fake.Event(calID, google.EventID(ev.UID)); g.Status != "confirmed" {
		t.Fatalf("restored event has status %q", g.Status)
	}
}

func TestUpdate(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	ev := seriesEvent(t, "s_update@oneonone")
	first, err := e.p.PutEvent(ctx, ev, "")
	if err != nil {
		t.Fatal(err)
	}
	ev.Start = ev.Start.Add(time.Hour)
	ev.Summary = "1on1 (new time)"
	second, err := e.p.PutEvent(ctx, ev, first.ETag)
	if err != nil {
		t.Fatal(err)
	}
	if second.ETag == first.ETag || second.Href != first.Href {
		t.Fatalf("update refs: %+v then %+v", first, second)
	}
	got, _ := e.fake.Event(calID, first.Href)
	if got.Start.DateTime != "2026-12-01T11:00:00+09:00" || got.Summary != ev.Summary || got.Sequence != 2 {
		t.Fatalf("after update: start %s, summary %q, sequence %d", got.Start.DateTime, got.Summary, got.Sequence)
	}
	if n := e.fake.Notifications(); n[len(n)-1].Op != "events.update" || n[len(n)-1].SendUpdates != "all" {
		t.Errorf("last notification %+v, want an update sent to all", n[len(n)-1])
	}

	ev.Summary = "stale write"
	_, err = e.p.PutEvent(ctx, ev, first.ETag)
	if !errors.Is(err, calendar.ErrPreconditionFailed) {
		t.Fatalf("update with a stale etag: %v, want ErrPreconditionFailed", err)
	}
	if got, _ := e.fake.Event(calID, first.Href); got.Summary == "stale write" {
		t.Fatal("a stale update was written")
	}
	if err := e.p.DeleteEvent(ctx, first, first.ETag); !errors.Is(err, calendar.ErrPreconditionFailed) {
		t.Fatalf("delete with a stale etag: %v, want ErrPreconditionFailed", err)
	}
	if err := e.p.DeleteEvent(ctx, second, second.ETag); err != nil {
		t.Fatal(err)
	}
	if got, _ := e.fake.Event(calID, first.Href); got.Status != "cancelled" {
		t.Fatalf("after delete the status is %q", got.Status)
	}
	if n := e.fake.Notifications(); n[len(n)-1].Op != "events.delete" || n[len(n)-1].SendUpdates != "all" {
		t.Errorf("last notification %+v, want a delete sent to all", n[len(n)-1])
	}
	if err := e.p.DeleteEvent(ctx, second, ""); !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("deleting twice: %v, want ErrNotFound", err)
	}
	if _, err := e.p.GetEvent(ctx, calendar.EventRef{UID: "never"}); !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("GetEvent of nothing: %v, want ErrNotFound", err)
	}
	if _, err := e.p.PutEvent(ctx, seriesEvent(t, "missing"), `"1"`); !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("replace of nothing: %v, want ErrNotFound", err)
	}
}

// TestWriteExceptions: exceptions we put become instance exceptions at
// Google, and are not rewritten (nor re-announced) when unchanged.
func TestWriteExceptions(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	ev := seriesEvent(t, "s_exc@oneonone")
	orig := time.Date(2026, 12, 8, 10, 0, 0, 0, tokyo(t))
	moved := orig.Add(26 * time.Hour)
	ev.Exceptions = []calendar.Exception{{RecurrenceID: orig, Start: moved, End: moved.Add(30 * time.Minute)}}
	ref, err := e.p.PutEvent(ctx, ev, "")
	if err != nil {
		t.Fatal(err)
	}
	inst, ok := e.fake.Event(calID, ref.Href+"_20261208T010000Z")
	if !ok || inst.RecurringEventID != ref.Href || inst.Start.DateTime != "2026-12-09T12:00:00+09:00" {
		t.Fatalf("instance = %+v (%v), want moved to 12-09 12:00", inst.Start, ok)
	}
	got, err := e.p.GetEvent(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Exceptions) != 1 || !got.Exceptions[0].Moved() || !got.Exceptions[0].Start.Equal(moved) {
		t.Fatalf("exceptions read back: %+v", got.Exceptions)
	}
	before := len(e.fake.Notifications())
	ev.Summary = "renamed"
	if _, err := e.p.PutEvent(ctx, ev, got.ETag); err != nil {
		t.Fatal(err)
	}
	if n := e.fake.Notifications()[before:]; len(n) != 1 || n[0].EventID != ref.Href {
		t.Fatalf("an unchanged exception was rewritten: %+v", n)
	}
}

// TestChanges walks what people do in Google Calendar and what each poll
// reports.
func TestChanges(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	ev := seriesEvent(t, "s_changes@oneonone")
	ref, err := e.p.PutEvent(ctx, ev, "")
	if err != nil {
		t.Fatal(err)
	}
	id := ref.Href

	ch, err := e.p.Changes(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if !ch.Full || len(ch.Updated) != 1 || ch.Updated[0].UID != ev.UID || ch.Cursor == "" || len(ch.Deleted) != 0 {
		t.Fatalf("first listing: full %v, %d updated, cursor %q", ch.Full, len(ch.Updated), ch.Cursor)
	}
	cur := ch.Cursor

	poll := func(t *testing.T) calendar.Changes {
		t.Helper()
		ch, err := e.p.Changes(ctx, cur)
		if err != nil {
			t.Fatal(err)
		}
		if ch.Full || ch.Cursor == "" || len(ch.Bad) != 0 {
			t.Fatalf("poll: full %v, cursor %q, bad %v", ch.Full, ch.Cursor, ch.Bad)
		}
		cur = ch.Cursor
		return ch
	}
	one := func(t *testing.T, ch calendar.Changes) calendar.Event {
		t.Helper()
		if len(ch.Updated) != 1 || len(ch.Deleted) != 0 || ch.Updated[0].Href != id {
			t.Fatalf("changes: %d updated, deleted %v; want exactly %s updated", len(ch.Updated), ch.Deleted, id)
		}
		return ch.Updated[0]
	}

	t.Run("no change costs one request", func(t *testing.T) {
		e.fake.ResetRequests()
		ch := poll(t)
		if len(ch.Updated)+len(ch.Deleted) != 0 {
			t.Fatalf("nothing changed, got %+v", ch)
		}
		if n := e.fake.Requests(); total(n) != 1 || n["events.list"] != 1 {
			t.Fatalf("requests = %v, want one events.list", n)
		}
	})

	t.Run("moved, cancelled and declined instances", func(t *testing.T) {
		raw(t, e.srv, "PATCH", "/"+id+"_20261208T010000Z", slot(t, 9, 15))
		raw(t, e.srv, "DELETE", "/"+id+"_20261215T010000Z", nil)
		if err := e.fake.SetAttendeeResponse(calID, id+"_20261222T010000Z", "ren@example.com", "declined"); err != nil {
			t.Fatal(err)
		}
		got := one(t, poll(t))
		if len(got.Exceptions) != 3 {
			t.Fatalf("exceptions = %+v, want 3", got.Exceptions)
		}
		loc := tokyo(t)
		mv, cx, dc := got.Exceptions[0], got.Exceptions[1], got.Exceptions[2]
		if !mv.RecurrenceID.Equal(time.Date(2026, 12, 8, 10, 0, 0, 0, loc)) || !mv.Moved() ||
			!mv.Start.Equal(time.Date(2026, 12, 9, 15, 0, 0, 0, loc)) || mv.End.Sub(mv.Start) != 30*time.Minute || mv.Cancelled {
			t.Errorf("moved instance = %+v", mv)
		}
		if !cx.RecurrenceID.Equal(time.Date(2026, 12, 15, 10, 0, 0, 0, loc)) || !cx.Cancelled || cx.Moved() {
			t.Errorf("cancelled instance = %+v", cx)
		}
		if !dc.RecurrenceID.Equal(time.Date(2026, 12, 22, 10, 0, 0, 0, loc)) || dc.Cancelled || dc.Moved() ||
			got.PartStat(dc, "ren@example.com") != calendar.PartStatDeclined {
			t.Errorf("declined instance = %+v", dc)
		}
		if got.PartStat(mv, "ren@example.com") != calendar.PartStatNeedsAction {
			t.Errorf("ren's answer to the moved instance = %q", got.PartStat(mv, "ren@example.com"))
		}
		if mv.RecurrenceID.Location().String() != "Asia/Tokyo" {
			t.Errorf("RecurrenceID zone = %s", mv.RecurrenceID.Location())
		}
	})

	t.Run("attendee declines the whole series", func(t *testing.T) {
		if err := e.fake.SetAttendeeResponse(calID, id, "ren@example.com", "declined"); err != nil {
			t.Fatal(err)
		}
		got := one(t, poll(t))
		if got.Attendees[0].PartStat != calendar.PartStatDeclined || len(got.Exceptions) != 3 {
			t.Fatalf("attendees %+v, %d exceptions", got.Attendees, len(got.Exceptions))
		}
	})

	t.Run("series time change", func(t *testing.T) {
		raw(t, e.srv, "PATCH", "/"+id, slot(t, 1, 16))
		got := one(t, poll(t))
		if !got.Start.Equal(time.Date(2026, 12, 1, 16, 0, 0, 0, tokyo(t))) || got.Duration != 30*time.Minute || got.Sequence <= ev.Sequence {
			t.Fatalf("start %v, duration %v, sequence %d", got.Start, got.Duration, got.Sequence)
		}
		if len(got.Exceptions) != 3 {
			t.Fatalf("the series lost its exceptions: %+v", got.Exceptions)
		}
	})

	t.Run("foreign event is listed too", func(t *testing.T) {
		created := raw(t, e.srv, "POST", "", map[string]any{"summary": "lunch",
			"start": map[string]any{"dateTime": "2026-12-02T12:00:00+09:00"}, "end": map[string]any{"dateTime": "2026-12-02T13:00:00+09:00"}})
		ch := poll(t)
		if len(ch.Updated) != 1 || ch.Updated[0].Href != created["id"] || !strings.HasSuffix(ch.Updated[0].UID, "@google.com") {
			t.Fatalf("foreign event: %+v", ch.Updated)
		}
	})

	t.Run("series delete", func(t *testing.T) {
		e.fake.ResetRequests()
		raw(t, e.srv, "DELETE", "/"+id, nil)
		ch := poll(t)
		if len(ch.Updated) != 0 || len(ch.Deleted) != 1 || ch.Deleted[0].Href != id || ch.Deleted[0].UID != ev.UID {
			t.Fatalf("after a series delete: updated %d, deleted %+v", len(ch.Updated), ch.Deleted)
		}
		if n := e.fake.Requests()["events.list"]; n != 1 {
			t.Fatalf("a series delete cost %d listings, want 1", n)
		}
	})
}

func TestPaging(t *testing.T) {
	e := newEnv(t, func(c *google.Config) { c.PageSize = 3 })
	ctx := context.Background()
	for i := range 7 {
		if _, err := e.p.PutEvent(ctx, seriesEvent(t, "s_page"+string(rune('a'+i))), ""); err != nil {
			t.Fatal(err)
		}
	}
	e.fake.ResetRequests()
	ch, err := e.p.Changes(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if !ch.Full || len(ch.Updated) != 7 {
		t.Fatalf("full listing: full %v, %d events, want 7", ch.Full, len(ch.Updated))
	}
	log := e.fake.RequestLog()
	if len(log) != 3 {
		t.Fatalf("%d requests for 7 events in pages of 3, want 3", len(log))
	}
	for i, r := range log {
		if r.Query.Get("maxResults") != "3" || r.Query.Get("singleEvents") != "false" || r.Query.Get("showDeleted") != "true" ||
			r.Query.Has("syncToken") || (i > 0) != r.Query.Has("pageToken") {
			t.Errorf("request %d: %v", i, r.Query)
		}
	}
	// The cursor is the last page's nextSyncToken: the next poll works
	// and costs one request.
	e.fake.ResetRequests()
	next, err := e.p.Changes(ctx, ch.Cursor)
	if err != nil || next.Full || len(next.Updated) != 0 {
		t.Fatalf("poll after paging: %+v, %v", next, err)
	}
	if n := total(e.fake.Requests()); n != 1 {
		t.Fatalf("no-change poll cost %d requests", n)
	}
}

func TestExpiredSyncToken(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	a, _ := e.p.PutEvent(ctx, seriesEvent(t, "s_a"), "")
	b, _ := e.p.PutEvent(ctx, seriesEvent(t, "s_b"), "")
	ch, err := e.p.Changes(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.p.DeleteEvent(ctx, b, ""); err != nil {
		t.Fatal(err)
	}
	e.fake.ExpireSyncTokens()
	ch, err = e.p.Changes(ctx, ch.Cursor)
	if err != nil {
		t.Fatal(err)
	}
	if !ch.Full || len(ch.Deleted) != 0 || len(ch.Updated) != 1 || ch.Updated[0].Href != a.Href {
		t.Fatalf("after expiry: full %v, updated %v, deleted %v; want a full listing of %s only", ch.Full, len(ch.Updated), ch.Deleted, a.Href)
	}
	if _, err := e.p.Changes(ctx, "garbage"); err != nil {
		t.Fatalf("a token Google does not know: %v", err)
	}
}

func TestFaults(t *testing.T) {
	for _, tc := range []struct {
		status     int
		reason     string
		retryAfter time.Duration
		want       string
		wantErr    error
		retryable  bool
	}{
		{http.StatusTooManyRequests, "", 7 * time.Second, calendar.ReasonRateLimited, nil, true},
		{http.StatusForbidden, "rateLimitExceeded", 0, calendar.ReasonRateLimited, nil, true},
		{http.StatusForbidden, "userRateLimitExceeded", 2 * time.Second, calendar.ReasonRateLimited, nil, true},
		{http.StatusForbidden, "forbidden", 0, calendar.ReasonUnauthorized, errs.ErrForbidden, false},
		{http.StatusInternalServerError, "", 0, calendar.ReasonUnavailable, nil, true},
		{http.StatusServiceUnavailable, "", 30 * time.Second, calendar.ReasonUnavailable, nil, true},
		{http.StatusBadRequest, "invalid", 0, calendar.ReasonRejected, nil, false},
	} {
		t.Run(tc.reason+http.StatusText(tc.status), func(t *testing.T) {
			e := newEnv(t, nil)
			ctx := context.Background()
			ops := map[string]func() error{
				"changes": func() error { _, err := e.p.Changes(ctx, ""); return err },
				"put":     func() error { _, err := e.p.PutEvent(ctx, seriesEvent(t, "s_fault"), ""); return err },
				"get":     func() error { _, err := e.p.GetEvent(ctx, calendar.EventRef{UID: "s_fault"}); return err },
				"delete":  func() error { return e.p.DeleteEvent(ctx, calendar.EventRef{UID: "s_fault"}, "") },
			}
			for _, name := range []string{"changes", "put", "get", "delete"} {
				e.fake.ResetRequests()
				e.fake.FailNext(1, tc.status, tc.reason, tc.retryAfter)
				err := ops[name]()
				pe, ok := calendar.AsProviderError(err)
				if !ok {
					t.Fatalf("%s: %v, want a *ProviderError", name, err)
				}
				if pe.Provider != "google" || pe.Reason != tc.want || pe.Status != tc.status || pe.RetryAfter != tc.retryAfter || pe.Retryable() != tc.retryable {
					t.Errorf("%s: %+v, want reason %s, status %d, retry after %v", name, pe, tc.want, tc.status, tc.retryAfter)
				}
				if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
					t.Errorf("%s: %v does not wrap %v", name, err, tc.wantErr)
				}
				// The client library must not retry on its own.
				if n := total(e.fake.Requests()); n != 1 {
					t.Errorf("%s: %d requests, want 1 (no retry by the library)", name, n)
				}
			}
		})
	}
}

func TestNew(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		cfg  google.Config
	}{
		{"no calendar", google.Config{Credentials: []byte(`{"type":"service_account"}`)}},
		{"no credentials", google.Config{CalendarID: calID}},
		{"not JSON", google.Config{CalendarID: calID, Credentials: []byte("nope")}},
		{"OAuth client without the flow", google.Config{CalendarID: calID, Credentials: []byte(`{"installed":{"client_id":"x"}}`)}},
		{"unknown type", google.Config{CalendarID: calID, Credentials: []byte(`{"type":"external_account"}`)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := google.New(ctx, tc.cfg); err == nil {
				t.Fatal("New accepted it")
			} else if _, ok := errs.AsInvalid(err); !ok {
				t.Fatalf("New: %v, want an *errs.Invalid", err)
			}
		})
	}
}
