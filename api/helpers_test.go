package api

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/oneonone/oneonone/calendar"
	"github.com/oneonone/oneonone/store"
)

const (
	testToken     = "test-admin-token-0123456789"
	testPublicURL = "http://oneonone.test"
)

// testNow is before every series the tests create, so that occurrences
// are all still scheduled.
var testNow = time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)

type fixture struct {
	t      testing.TB
	store  *store.Store
	server *Server
	logs   *bytes.Buffer
}

type fixtureOption func(*Options)

// newFixture starts a server on a fresh SQLite database.
func newFixture(t testing.TB, opts ...fixtureOption) *fixture {
	t.Helper()
	return newFixtureDSN(t, "sqlite:"+t.TempDir()+"/db", opts...)
}

// newFixtureDSN starts a server on the empty database at dsn.
func newFixtureDSN(t testing.TB, dsn string, opts ...fixtureOption) *fixture {
	t.Helper()
	st, err := store.Open(context.Background(), dsn, nil)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	logs := &bytes.Buffer{}
	o := Options{
		Store:      st,
		AdminToken: testToken,
		PublicURL:  testPublicURL,
		Logger:     slog.New(slog.NewTextHandler(logs, nil)),
		Version:    "test",
		Now:        func() time.Time { return testNow },
	}
	for _, f := range opts {
		f(&o)
	}
	return &fixture{t: t, store: st, server: New(o), logs: logs}
}

// with returns the fixture reporting to t (a fuzz target must not use
// its *testing.F).
func (f *fixture) with(t testing.TB) *fixture {
	c := *f
	c.t = t
	return &c
}

type response struct {
	Code   int
	Header http.Header
	Body   []byte
}

func (r response) json(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode response %q: %v", r.Body, err)
	}
}

type apiError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Field   string `json:"field"`
	} `json:"error"`
}

func (r response) apiError(t testing.TB) apiError {
	t.Helper()
	var e apiError
	r.json(t, &e)
	if e.Error.Code == "" || e.Error.Message == "" {
		t.Fatalf("error body %q lacks code or message", r.Body)
	}
	return e
}

// do sends an authorised request (unless headers say otherwise).
func (f *fixture) do(method, path string, body any, headers ...string) response {
	f.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		js, err := json.Marshal(b)
		if err != nil {
			f.t.Fatal(err)
		}
		rd = bytes.NewReader(js)
	}
	req := httptest.NewRequest(method, path, rd)
	req.Header.Set("Authorization", "Bearer "+testToken)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i+1] == "" {
			req.Header.Del(headers[i])
			continue
		}
		req.Header.Set(headers[i], headers[i+1])
	}
	rec := httptest.NewRecorder()
	f.server.ServeHTTP(rec, req)
	return response{Code: rec.Code, Header: rec.Header(), Body: rec.Body.Bytes()}
}

// count is how many series the store holds.
func (f *fixture) count() int {
	f.t.Helper()
	n, err := f.store.CountSeries(context.Background())
	if err != nil {
		f.t.Fatal(err)
	}
	return n
}

func seriesBody(manager, report string) map[string]any {
	return map[string]any{
		"manager":  map[string]any{"email": manager, "name": "Aiko"},
		"report":   map[string]any{"email": report, "name": "Ren"},
		"start":    "2026-12-01T10:00",
		"timezone": "Asia/Tokyo",
		"cadence":  "weekly",
		"duration": "30m",
		"team":     "platform",
	}
}

// create makes a series through the API and returns it.
func (f *fixture) create(body map[string]any) seriesJSON {
	f.t.Helper()
	res := f.do("POST", "/api/v1/series", body)
	if res.Code != http.StatusCreated {
		f.t.Fatalf("create: %d %s", res.Code, res.Body)
	}
	var s seriesJSON
	res.json(f.t, &s)
	return s
}

// storeSeries puts a normalised series straight into the store, for tests
// that need many.
func (f *fixture) storeSeries(manager, report, team string) calendar.Series {
	f.t.Helper()
	loc, err := calendar.LoadLocation("Asia/Tokyo")
	if err != nil {
		f.t.Fatal(err)
	}
	s := calendar.Series{
		ID:       calendar.NewSeriesID(),
		Manager:  calendar.Person{Email: manager},
		Report:   calendar.Person{Email: report},
		Start:    time.Date(2026, 12, 1, 10, 0, 0, 0, loc),
		Timezone: "Asia/Tokyo",
		Team:     team,
	}
	if err := s.Normalize(); err != nil {
		f.t.Fatal(err)
	}
	if err := f.store.CreateSeries(context.Background(), s); err != nil {
		f.t.Fatal(err)
	}
	return s
}
