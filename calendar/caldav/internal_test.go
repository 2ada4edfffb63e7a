package caldav

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oneonone/oneonone/calendar"
	"github.com/oneonone/oneonone/calendar/icsfeed"
	"github.com/oneonone/oneonone/internal/davtest"
	"github.com/oneonone/oneonone/internal/errs"
)

// TestInvalidSyncToken: a token the server refuses (Radicale 403
// valid-sync-token, Xandikos 500) turns into a full listing.
func TestInvalidSyncToken(t *testing.T) {
	davtest.Each(t, func(t *testing.T, s davtest.Server) {
		ctx := context.Background()
		counter := &RequestCounter{}
		cal, err := Open(ctx, Config{URL: s.URL, Username: s.Username, Password: s.Password,
			HTTPClient: &http.Client{Transport: counter}}, "")
		if err != nil {
			t.Fatal(err)
		}
		loc, _ := time.LoadLocation("Asia/Tokyo")
		s1 := calendar.Series{ID: "s_tok", Manager: calendar.Person{Email: "aiko@example.com"}, Report: calendar.Person{Email: "ren@example.com"},
			Start: time.Date(2026, 12, 1, 10, 0, 0, 0, loc), Timezone: "Asia/Tokyo", Cadence: "weekly", Duration: 30 * time.Minute}
		ev, err := icsfeed.SeriesEvent(icsfeed.Entry{Series: s1}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := cal.PutEvent(ctx, ev, ""); err != nil {
			t.Fatal(err)
		}
		for _, token := range []string{"http://radicale.org/ns/sync/0000", "0000000000000000000000000000000000000000", "<&>"} {
			counter.Reset()
			ch, err := cal.Changes(ctx, cursor{Sync: token}.encode())
			if err != nil {
				t.Fatalf("token %q: %v", token, err)
			}
			if !ch.Full || len(ch.Updated) != 1 || ch.Updated[0].UID != ev.UID || len(ch.Deleted) != 0 {
				t.Errorf("token %q: full %v, %d updated, %d deleted; want a full listing of one event", token, ch.Full, len(ch.Updated), len(ch.Deleted))
			}
			want := int64(2) // refused sync, full sync
			if !s.SyncData {
				want++ // and a calendar-multiget
			}
			if n := counter.Count(); n != want {
				t.Errorf("token %q: %d requests, want %d", token, n, want)
			}
			if next, ok := decodeCursor(ch.Cursor); !ok || next.Sync == "" || next.Sync == token {
				t.Errorf("token %q: next cursor %+v, want the server's new token", token, next)
			}
		}
	})
}

// faultyServer answers every request with status after it answered the
// first `healthy` requests (PROPFIND of a calendar) correctly.
func faultyServer(t *testing.T, status int, retryAfter string) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 && r.Method == "PROPFIND" {
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(http.StatusMultiStatus)
			_, _ = w.Write([]byte(`<d:multistatus xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><d:response><d:href>/cal/</d:href><d:propstat><d:prop><d:resourcetype><d:collection/><c:calendar/></d:resourcetype></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response></d:multistatus>`))
			return
		}
		if retryAfter != "" {
			w.Header().Set("Retry-After", retryAfter)
		}
		http.Error(w, "down for maintenance", status)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func TestFaults(t *testing.T) {
	tests := []struct {
		status     int
		retryAfter string
		reason     string
		retryable  bool
		wait       time.Duration
		is         error
	}{
		{503, "7", calendar.ReasonUnavailable, true, 7 * time.Second, nil},
		{500, "", calendar.ReasonUnavailable, true, 0, nil},
		{429, "2", calendar.ReasonRateLimited, true, 2 * time.Second, nil},
		{401, "", calendar.ReasonUnauthorized, false, 0, errs.ErrUnauthorized},
		{400, "", calendar.ReasonRejected, false, 0, nil},
	}
	for _, tt := range tests {
		t.Run(http.StatusText(tt.status), func(t *testing.T) {
			srv, _ := faultyServer(t, tt.status, tt.retryAfter)
			cal, err := Open(context.Background(), Config{URL: srv.URL + "/cal/"}, "")
			if err != nil {
				t.Fatal(err)
			}
			_, err = cal.Changes(context.Background(), "")
			pe, ok := calendar.AsProviderError(err)
			if !ok || pe.Reason != tt.reason || pe.Retryable() != tt.retryable || pe.RetryAfter != tt.wait || pe.Status != tt.status {
				t.Fatalf("Changes: %v (%+v), want reason %s, retryable %v, retry after %v", err, pe, tt.reason, tt.retryable, tt.wait)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %v does not wrap %v", err, tt.is)
			}
			_, err = cal.PutEvent(context.Background(), calendar.Event{UID: "x@y", Start: time.Now()}, "")
			if pe, ok := calendar.AsProviderError(err); !ok || pe.Reason != tt.reason {
				t.Errorf("PutEvent: %v, want reason %s", err, tt.reason)
			}
		})
	}
	t.Run("connection refused", func(t *testing.T) {
		srv, _ := faultyServer(t, 200, "")
		cal, err := Open(context.Background(), Config{URL: srv.URL + "/cal/"}, "")
		if err != nil {
			t.Fatal(err)
		}
		srv.Close()
		_, err = cal.Changes(context.Background(), "")
		if pe, ok := calendar.AsProviderError(err); !ok || pe.Reason != calendar.ReasonNetwork || !pe.Retryable() {
			t.Errorf("Changes against a closed server: %v, want a retryable network error", err)
		}
	})
}

func TestCalendarURL(t *testing.T) {
	tests := []struct {
		url, email, want string
		bad              bool
	}{
		{"http://h/aiko/1on1/", "", "http://h/aiko/1on1/", false},
		{"https://h/dav/{user}/1on1/", "aiko@example.com", "https://h/dav/aiko/1on1/", false},
		{"https://h/dav/{email}/", "aiko@example.com", "https://h/dav/aiko@example.com/", false},
		{"https://h/dav/{user}/", "a/b c@example.com", "https://h/dav/a%2Fb%20c/", false},
		{"https://h/dav/{user}/", "", "", true},
		{"https://h/dav/{user}/", "no-at-sign", "", true},
		{"ftp://h/x/", "", "", true},
		{"/relative/", "", "", true},
	}
	for _, tt := range tests {
		got, err := Config{URL: tt.url}.CalendarURL(tt.email)
		if tt.bad {
			if _, ok := errs.AsInvalid(err); !ok {
				t.Errorf("CalendarURL(%q, %q) = %q, %v; want an *errs.Invalid", tt.url, tt.email, got, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("CalendarURL(%q, %q) = %q, %v; want %q", tt.url, tt.email, got, err, tt.want)
		}
	}
}

func TestNormalizeHref(t *testing.T) {
	base, _ := url.Parse("http://127.0.0.1:5232/aiko/1on1/")
	tests := []struct{ href, want string }{
		{"/aiko/1on1/s_x%40oneonone.ics", "/aiko/1on1/s_x@oneonone.ics"},
		{"/aiko/1on1/s_x@oneonone.ics", "/aiko/1on1/s_x@oneonone.ics"},
		{"http://127.0.0.1:5232/aiko/1on1/a%20b.ics", "/aiko/1on1/a b.ics"},
		{"s_y.ics", "/aiko/1on1/s_y.ics"},
		{"/aiko/./1on1/../1on1/z.ics", "/aiko/1on1/z.ics"},
		{"/aiko/1on1/", "/aiko/1on1/"},
		{" /aiko/1on1/%7Eq.ics ", "/aiko/1on1/~q.ics"},
	}
	for _, tt := range tests {
		if got, err := normalizeHref(base, tt.href); err != nil || got != tt.want {
			t.Errorf("normalizeHref(%q) = %q, %v; want %q", tt.href, got, err, tt.want)
		}
	}
}

func TestObjectName(t *testing.T) {
	for uid, want := range map[string]string{
		"s_abc@oneonone":                   "s_abc@oneonone",
		"040000008200E00074C5B7101A82E008": "040000008200E00074C5B7101A82E008",
	} {
		if got := objectName(uid); got != want {
			t.Errorf("objectName(%q) = %q, want %q", uid, got, want)
		}
	}
	for _, uid := range []string{"../../etc", "a/b", "x y", ".hidden", strings.Repeat("a", 300)} {
		got := objectName(uid)
		if len(got) != 32 || strings.ContainsAny(got, "/. ") {
			t.Errorf("objectName(%q) = %q, want a 32-hex hash", uid, got)
		}
	}
}

func TestCursorRoundTrip(t *testing.T) {
	for _, c := range []cursor{{Sync: "http://radicale.org/ns/sync/abc"}, {CTag: "x", ETags: map[string]string{"/a/b.ics": "e1"}}} {
		got, ok := decodeCursor(c.encode())
		if !ok || got.Sync != c.Sync || got.CTag != c.CTag || len(got.ETags) != len(c.ETags) {
			t.Errorf("round trip of %+v = %+v, %v", c, got, ok)
		}
	}
	for _, bad := range []string{"", "!!", "e30"} { // e30 = "{}": decodes, but empty
		if got, ok := decodeCursor(bad); ok && (got.Sync != "" || got.ETags != nil) {
			t.Errorf("decodeCursor(%q) = %+v", bad, got)
		}
	}
}
