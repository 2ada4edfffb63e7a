package googlefake

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	calendar "google.golang.org/api/calendar/v3"
	"google.golang.org/api/option"
)

const cal1 = "aiko@example.com"

// testClock starts at a fixed time and moves one second per reading, so
// timestamps are deterministic and distinct.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Second)
	return c.t
}

func newFake(t *testing.T) (*Server, *httptest.Server) {
	t.Helper()
	clk := &testClock{t: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)}
	fake := New(Options{Calendars: []string{cal1}, Now: clk.Now})
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	return fake, srv
}

// bearer adds the access token every Google client sends.
type bearer struct{ next http.RoundTripper }

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer test-token")
	return b.next.RoundTrip(r)
}

// newClient is the official client library pointed at the fake.
func newClient(t *testing.T, srv *httptest.Server) *calendar.Service {
	t.Helper()
	hc := &http.Client{Transport: bearer{next: http.DefaultTransport}, Timeout: 10 * time.Second}
	svc, err := calendar.NewService(context.Background(),
		option.WithEndpoint(srv.URL+"/calendar/v3/"), option.WithHTTPClient(hc))
	if err != nil {
		t.Fatalf("calendar.NewService: %v", err)
	}
	return svc
}

type rawResponse struct {
	status int
	header http.Header
	body   []byte
}

func (r rawResponse) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("response is not a JSON object: %v: %s", err, r.body)
	}
	return m
}

// errorReason returns error.errors[0].reason of a Google error body.
func (r rawResponse) errorReason(t *testing.T) string {
	t.Helper()
	var e struct {
		Error struct {
			Code   int `json:"code"`
			Errors []struct {
				Reason string `json:"reason"`
			} `json:"errors"`
		} `json:"error"`
	}
	if err := json.Unmarshal(r.body, &e); err != nil || len(e.Error.Errors) == 0 {
		t.Fatalf("not a Google error body (%v): %s", err, r.body)
	}
	if e.Error.Code != r.status {
		t.Errorf("error.code = %d, HTTP status %d", e.Error.Code, r.status)
	}
	return e.Error.Errors[0].Reason
}

// call makes a raw HTTP request with a bearer token; headers are pairs.
func call(t *testing.T, srv *httptest.Server, method, path string, body any, headers ...string) rawResponse {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer x")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return rawResponse{status: resp.StatusCode, header: resp.Header, body: b}
}

func eventsPath(calendarID string) string {
	return "/calendar/v3/calendars/" + calendarID + "/events"
}

func timed(id, summary, start, end string) map[string]any {
	ev := map[string]any{
		"summary": summary,
		"start":   map[string]any{"dateTime": start, "timeZone": "Asia/Tokyo"},
		"end":     map[string]any{"dateTime": end, "timeZone": "Asia/Tokyo"},
	}
	if id != "" {
		ev["id"] = id
	}
	return ev
}
