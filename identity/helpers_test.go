package identity_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oneonone/oneonone/internal/testutil"

	"github.com/oneonone/oneonone/calendar"
	"github.com/oneonone/oneonone/identity"
	"github.com/oneonone/oneonone/store"
)

// secret is the test daemon's key; tests grep logs for it.
var secret = []byte("0123456789abcdef0123456789abcdef-test-secret")

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// env is a daemon-like server: the identity routes plus a stand-in room
// page that consumes links and says who the visitor is.
type env struct {
	t     *testing.T
	svc   *identity.Service
	store *store.Store
	srv   *httptest.Server
	clock *clock
	logs  *testutil.SyncBuffer
}

const (
	manager = "aiko@example.com"
	report  = "ren@example.com"
)

func newEnv(t *testing.T, configure func(*identity.Options)) *env {
	t.Helper()
	ctx := context.Background()
	logs := &testutil.SyncBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	st, err := store.Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "oneonone.db"), logger)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	tokyo, _ := time.LoadLocation("Asia/Tokyo")
	for _, ser := range []calendar.Series{
		{ID: "s_1", Manager: calendar.Person{Email: manager, Name: "Aiko"}, Report: calendar.Person{Email: report, Name: "Ren"}},
		{ID: "s_2", Manager: calendar.Person{Email: manager, Name: "Aiko"}, Report: calendar.Person{Email: "kai@example.com", Name: "Kai"}},
	} {
		ser.Start = time.Date(2026, 12, 1, 10, 0, 0, 0, tokyo)
		ser.Timezone, ser.Cadence, ser.Duration, ser.State = "Asia/Tokyo", calendar.CadenceWeekly, calendar.DefaultDuration, calendar.StateActive
		if err := st.CreateSeries(ctx, ser); err != nil {
			t.Fatal(err)
		}
	}
	e := &env{t: t, store: st, clock: &clock{t: time.Now().UTC()}, logs: logs}
	var handler http.Handler
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
	t.Cleanup(e.srv.Close)
	opts := identity.Options{Store: st, Secret: secret, PublicURL: e.srv.URL, Logger: logger, Now: e.clock.Now}
	if configure != nil {
		configure(&opts)
	}
	svc, err := identity.New(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Close)
	e.svc = svc
	mux := http.NewServeMux()
	for _, rt := range svc.Routes() {
		mux.Handle(rt.Method+" "+rt.Pattern, rt.Handler)
	}
	mux.HandleFunc("GET /r/{room}", func(w http.ResponseWriter, r *http.Request) {
		if svc.ConsumeLink(w, r) {
			return
		}
		id, ok := svc.Current(r)
		if !ok {
			http.Error(w, "nobody", http.StatusUnauthorized)
			return
		}
		fmt.Fprintf(w, "room %s: %s via %s", r.PathValue("room"), id.Email, id.Via)
	})
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "home") })
	handler = mux
	return e
}

// client is a browser: a cookie jar, and redirects followed unless
// noFollow.
func (e *env) client(noFollow bool) *http.Client {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	if noFollow {
		c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	}
	return c
}

type answer struct {
	status int
	body   string
	url    string
	header http.Header
}

func do(t *testing.T, c *http.Client, method, u string, body io.Reader, header ...string) answer {
	t.Helper()
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{status: resp.StatusCode, body: string(b), url: resp.Request.URL.String(), header: resp.Header}
}

func get(t *testing.T, c *http.Client, u string, header ...string) answer {
	t.Helper()
	return do(t, c, "GET", u, nil, header...)
}

func post(t *testing.T, c *http.Client, u, form string) answer {
	t.Helper()
	return do(t, c, "POST", u, strings.NewReader(form))
}

// whoami opens the stand-in room page with c's cookies.
func (e *env) whoami(c *http.Client) string {
	e.t.Helper()
	a := get(e.t, c, e.srv.URL+"/r/s_1")
	if a.status != http.StatusOK {
		return ""
	}
	return a.body
}

func (e *env) link(series, email, role string) string {
	e.t.Helper()
	l, err := e.svc.PersonalLink(context.Background(), series, email, role)
	if err != nil {
		e.t.Fatal(err)
	}
	return l
}

func sessionCookie(h http.Header) *http.Cookie {
	for _, c := range (&http.Response{Header: h}).Cookies() {
		if c.Name == identity.SessionCookie {
			return c
		}
	}
	return nil
}
