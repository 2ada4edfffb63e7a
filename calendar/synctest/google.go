package synctest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/oneonone/oneonone/calendar/caldav"
	"github.com/oneonone/oneonone/calendar/google"
	"github.com/oneonone/oneonone/calendar/google/googlefake"
)

// GoogleCalendarID is the organizer's calendar in the fake.
const GoogleCalendarID = "aiko@example.com"

// Google starts the Google Calendar fake with aiko's calendar and opens
// our Google provider on it, counting its requests.
func Google(t testing.TB) Backend {
	t.Helper()
	fake := googlefake.New(googlefake.Options{Calendars: []string{GoogleCalendarID}})
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	counter := &caldav.RequestCounter{} // any RoundTripper that counts will do
	p, err := google.New(context.Background(), google.Config{CalendarID: GoogleCalendarID, Endpoint: srv.URL,
		TokenSource: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "test-token"}),
		HTTPClient:  &http.Client{Transport: counter, Timeout: 10 * time.Second}})
	if err != nil {
		t.Fatalf("google.New: %v", err)
	}
	return Backend{Name: "googlefake", ProviderName: "google", Provider: p,
		Remote:   GoogleRemote{Fake: fake, URL: srv.URL},
		FailNext: func(n int) { fake.FailNext(n, http.StatusInternalServerError, "backendError", 0) },
		Requests: counter.Count}
}

// GoogleRemote changes the fake the way another Calendar API client (or
// a person in Google Calendar) would: raw JSON requests, and the fake's
// accessors to look.
type GoogleRemote struct {
	Fake *googlefake.Server
	URL  string
}

var _ Remote = GoogleRemote{}

func (g GoogleRemote) masters(uid string) []googlefake.Event {
	var out []googlefake.Event
	for _, ev := range g.Fake.Events(GoogleCalendarID) {
		if ev.ICalUID == uid && ev.RecurringEventID == "" && ev.Status != "cancelled" {
			out = append(out, ev)
		}
	}
	return out
}

func (g GoogleRemote) master(uid string) (googlefake.Event, error) {
	m := g.masters(uid)
	if len(m) != 1 {
		return googlefake.Event{}, fmt.Errorf("synctest: %d events hold iCalUID %s, want 1", len(m), uid)
	}
	return m[0], nil
}

func (g GoogleRemote) do(ctx context.Context, method, path string, body any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method,
		g.URL+"/calendar/v3/calendars/"+url.PathEscape(GoogleCalendarID)+"/events"+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer other-client")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("synctest: %s %s: HTTP %d: %s", method, path, resp.StatusCode, b)
	}
	return nil
}

func slot(start time.Time, d time.Duration) map[string]any {
	zone := start.Location().String()
	return map[string]any{
		"start": map[string]any{"dateTime": start.Format(time.RFC3339), "timeZone": zone},
		"end":   map[string]any{"dateTime": start.Add(d).Format(time.RFC3339), "timeZone": zone},
	}
}

func instanceID(masterID string, orig time.Time) string {
	return masterID + "_" + orig.UTC().Format("20060102T150405Z")
}

// Count implements Remote.
func (g GoogleRemote) Count(_ context.Context, uid string) (int, error) {
	return len(g.masters(uid)), nil
}

// Timing implements Remote.
func (g GoogleRemote) Timing(_ context.Context, uid string) (time.Time, time.Duration, error) {
	m, err := g.master(uid)
	if err != nil {
		return time.Time{}, 0, err
	}
	start, err := time.Parse(time.RFC3339, m.Start.DateTime)
	if err != nil {
		return time.Time{}, 0, err
	}
	end, err := time.Parse(time.RFC3339, m.End.DateTime)
	if err != nil {
		return time.Time{}, 0, err
	}
	return start, end.Sub(start), nil
}

// MoveOccurrence implements Remote: a patch of one instance.
func (g GoogleRemote) MoveOccurrence(ctx context.Context, uid string, orig, start time.Time, d time.Duration) error {
	m, err := g.master(uid)
	if err != nil {
		return err
	}
	return g.do(ctx, http.MethodPatch, "/"+instanceID(m.ID, orig), slot(start, d))
}

// CancelOccurrence implements Remote: deleting one instance.
func (g GoogleRemote) CancelOccurrence(ctx context.Context, uid string, orig time.Time) error {
	m, err := g.master(uid)
	if err != nil {
		return err
	}
	return g.do(ctx, http.MethodDelete, "/"+instanceID(m.ID, orig), nil)
}

// DeclineOccurrence implements Remote: the attendee answers one instance.
func (g GoogleRemote) DeclineOccurrence(_ context.Context, uid string, orig time.Time, attendee string) error {
	m, err := g.master(uid)
	if err != nil {
		return err
	}
	return g.Fake.SetAttendeeResponse(GoogleCalendarID, instanceID(m.ID, orig), attendee, "declined")
}

// MoveSeries implements Remote: a patch of the master's start and end.
func (g GoogleRemote) MoveSeries(ctx context.Context, uid string, start time.Time) error {
	m, err := g.master(uid)
	if err != nil {
		return err
	}
	s, err := time.Parse(time.RFC3339, m.Start.DateTime)
	if err != nil {
		return err
	}
	e, err := time.Parse(time.RFC3339, m.End.DateTime)
	if err != nil {
		return err
	}
	if loc, err := time.LoadLocation(m.Start.TimeZone); err == nil {
		start = start.In(loc)
	}
	return g.do(ctx, http.MethodPatch, "/"+m.ID, slot(start, e.Sub(s)))
}

// DeleteSeries implements Remote.
func (g GoogleRemote) DeleteSeries(ctx context.Context, uid string) error {
	m, err := g.master(uid)
	if err != nil {
		return err
	}
	return g.do(ctx, http.MethodDelete, "/"+m.ID, nil)
}

// PutBroken implements Remote. The fake refuses whatever our converter
// refuses (a bad recurrence, an end before the start), so nothing
// unreadable can reach us through it; this stores a foreign all-day
// recurring event instead, which the loop must leave alone. Unreadable
// input is covered by the provider's and the reconciler's fuzz tests.
func (g GoogleRemote) PutBroken(ctx context.Context) error {
	return g.do(ctx, http.MethodPost, "", map[string]any{
		"summary":    "x",
		"start":      map[string]any{"date": "2026-12-01"},
		"end":        map[string]any{"date": "2026-12-02"},
		"recurrence": []string{"RRULE:FREQ=WEEKLY"},
	})
}
