package google_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/oneonone/oneonone/calendar"
	"github.com/oneonone/oneonone/calendar/google"
	"github.com/oneonone/oneonone/calendar/google/googlefake"
)

const calID = "aiko@example.com"

// clock moves one second per reading, so the fake's timestamps are
// deterministic and distinct.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Second)
	return c.t
}

type env struct {
	fake *googlefake.Server
	srv  *httptest.Server
	p    *google.Provider
}

// newEnv starts a fake Google with aiko's calendar and our provider on it.
func newEnv(t testing.TB, mod func(*google.Config)) env {
	t.Helper()
	clk := &clock{t: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)}
	fake := googlefake.New(googlefake.Options{Calendars: []string{calID}, Now: clk.Now})
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	cfg := google.Config{CalendarID: calID, Endpoint: srv.URL,
		TokenSource: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "test-token"}),
		HTTPClient:  &http.Client{Timeout: 10 * time.Second}}
	if mod != nil {
		mod(&cfg)
	}
	p, err := google.New(context.Background(), cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return env{fake: fake, srv: srv, p: p}
}

func tokyo(t testing.TB) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// seriesEvent is a weekly Tuesday 10:00 Tokyo 1on1 of aiko and ren,
// starting 2026-12-01.
func seriesEvent(t testing.TB, uid string) calendar.Event {
	t.Helper()
	return calendar.Event{
		UID: uid, Sequence: 1,
		Start:       time.Date(2026, 12, 1, 10, 0, 0, 0, tokyo(t)),
		Duration:    30 * time.Minute,
		RRule:       "FREQ=WEEKLY;BYDAY=TU",
		Summary:     "1on1 Aiko / Ren",
		Description: "Agenda and room: http://localhost:8080/r/abc",
		Location:    "http://localhost:8080/r/abc",
		URL:         "http://localhost:8080/r/abc",
		Organizer:   calendar.Attendee{Email: calID, Name: "Aiko"},
		Attendees:   []calendar.Attendee{{Email: "ren@example.com", Name: "Ren", PartStat: calendar.PartStatNeedsAction}},
		Status:      calendar.EventConfirmed,
	}
}

// raw sends a request to the fake the way another calendar client would,
// and fails the test unless it answers 2xx.
func raw(t testing.TB, srv *httptest.Server, method, eventPath string, body any) map[string]any {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	u := srv.URL + "/calendar/v3/calendars/" + url.PathEscape(calID) + "/events" + eventPath
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer other-client")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		t.Fatalf("%s %s: HTTP %d: %s", method, eventPath, resp.StatusCode, b)
	}
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return m
}

func total(counts map[string]int) int {
	n := 0
	for _, c := range counts {
		n += c
	}
	return n
}

func slot(t testing.TB, day, hour int) map[string]any {
	t.Helper()
	s := time.Date(2026, 12, day, hour, 0, 0, 0, tokyo(t))
	return map[string]any{
		"start": map[string]any{"dateTime": s.Format(time.RFC3339), "timeZone": "Asia/Tokyo"},
		"end":   map[string]any{"dateTime": s.Add(30 * time.Minute).Format(time.RFC3339), "timeZone": "Asia/Tokyo"},
	}
}
