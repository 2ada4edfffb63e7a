package daemon

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/oneonone/oneonone/config"
	"github.com/oneonone/oneonone/internal/davtest"
)

// A series created through the API appears in the configured CalDAV
// calendar within a few sync intervals, with nothing but the config.
func TestCalendarSyncWritesSeriesToCalDAV(t *testing.T) {
	s := davtest.Radicale(t)
	dir := t.TempDir()
	r := startWith(t, dir, func(c *config.Config) {
		c.Calendars = []config.CalendarConfig{{ID: "team", CalDAV: &config.CalDAVConfig{
			URL: s.URL, Username: s.Username, Password: config.NewSecret(s.Password)}}}
		c.Sync.Interval = 100 * time.Millisecond
	})
	token, err := os.ReadFile(filepath.Join(dir, TokenFile))
	if err != nil {
		t.Fatal(err)
	}
	body := `{"manager":{"email":"aiko@example.com"},"report":{"email":"ren@example.com"},
		"start":"2026-12-01T10:00","timezone":"Asia/Tokyo","cadence":"weekly","calendar":"team"}`
	req, _ := http.NewRequest(http.MethodPost, r.url+"/api/v1/series", bytes.NewBufferString(body))
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(token)))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST series = %d %s", resp.StatusCode, b)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		objs, err := s.Query(context.Background(), s.URL)
		if err != nil {
			t.Fatal(err)
		}
		if len(objs) == 1 && strings.Contains(objs[0].Data, "@oneonone") && strings.Contains(objs[0].Data, "mailto:ren@example.com") {
			break
		}
		if len(objs) > 1 {
			t.Fatalf("server holds %d objects, want 1", len(objs))
		}
		if time.Now().After(deadline) {
			t.Fatalf("the series did not reach the calendar within 15s\nlogs:\n%s", r.logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if code := get(t, r.url+"/readyz"); code != http.StatusOK {
		t.Fatalf("/readyz = %d with a reachable calendar, want 200\nlogs:\n%s", code, r.logs)
	}
}

// A calendar that cannot be reached makes the daemon unready, naming it;
// the daemon itself keeps running.
func TestReadyzReportsUnreachableCalendar(t *testing.T) {
	r := startWith(t, t.TempDir(), func(c *config.Config) {
		c.Calendars = []config.CalendarConfig{{ID: "team", CalDAV: &config.CalDAVConfig{URL: "http://127.0.0.1:1/aiko/1on1/"}}}
		c.Sync.Interval = 100 * time.Millisecond
	})
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get(r.url + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusServiceUnavailable && strings.Contains(string(b), "calendar team") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz = %d %q; want 503 naming calendar team", resp.StatusCode, b)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if code := get(t, r.url+"/healthz"); code != http.StatusOK {
		t.Fatalf("/healthz = %d, want 200", code)
	}
}

// A Google calendar whose credentials cannot be used makes the daemon
// unready, naming the calendar, instead of stopping it.
func TestReadyzReportsUnusableGoogleCalendar(t *testing.T) {
	r := startWith(t, t.TempDir(), func(c *config.Config) {
		c.Calendars = []config.CalendarConfig{{ID: "workspace", Google: &config.GoogleConfig{
			CalendarID: "primary", Credentials: config.NewSecret(`{"type":"nonsense"}`)}}}
		c.Sync.Interval = 100 * time.Millisecond
	})
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get(r.url + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusServiceUnavailable && strings.Contains(string(b), "calendar workspace") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz = %d %q; want 503 naming calendar workspace", resp.StatusCode, b)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
