package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestHealthAndReady(t *testing.T) {
	f := newFixture(t)
	if res := f.do("GET", "/healthz", nil, "Authorization", ""); res.Code != 200 || string(res.Body) != "ok" {
		t.Errorf("healthz = %d %q, want 200 ok", res.Code, res.Body)
	}
	if res := f.do("GET", "/readyz", nil, "Authorization", ""); res.Code != 200 || string(res.Body) != "ready" {
		t.Errorf("readyz = %d %q, want 200 ready", res.Code, res.Body)
	}

	down := newFixture(t, func(o *Options) {
		o.Ready = func(context.Context) error { return errors.New("calendar team-caldav unreachable") }
	})
	res := down.do("GET", "/readyz", nil, "Authorization", "")
	if res.Code != http.StatusServiceUnavailable || !strings.Contains(string(res.Body), "team-caldav unreachable") {
		t.Errorf("readyz when not ready = %d %q, want 503 with the reason", res.Code, res.Body)
	}
}

func TestAuth(t *testing.T) {
	f := newFixture(t)
	f.create(seriesBody("aiko@example.com", "ren@example.com"))
	cases := []struct {
		name, method, path, auth string
	}{
		{"no token", "GET", "/api/v1/series", ""},
		{"wrong token", "GET", "/api/v1/series", "Bearer wrong"},
		{"token as basic", "GET", "/api/v1/series", "Basic " + testToken},
		{"prefix of the token", "GET", "/api/v1/series", "Bearer " + testToken[:10]},
		{"openapi", "GET", "/api/v1/openapi.json", ""},
		{"unknown api path", "GET", "/api/v1/nope", ""},
		{"delete", "DELETE", "/api/v1/series/s_x", "Bearer nope"},
		{"create", "POST", "/api/v1/series", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var body any
			if tc.method == "POST" {
				body = seriesBody("x@example.com", "y@example.com")
			}
			res := f.do(tc.method, tc.path, body, "Authorization", tc.auth)
			if res.Code != http.StatusUnauthorized {
				t.Fatalf("status = %d, want 401", res.Code)
			}
			if !strings.HasPrefix(res.Header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("WWW-Authenticate = %q", res.Header.Get("WWW-Authenticate"))
			}
			if e := res.apiError(t); e.Error.Code != "unauthenticated" {
				t.Errorf("code = %q", e.Error.Code)
			}
		})
	}
	if n := f.count(); n != 1 {
		t.Errorf("series count = %d after refused requests, want 1", n)
	}

	// An empty admin token admits nobody, not everybody.
	open := newFixture(t, func(o *Options) { o.AdminToken = "" })
	if res := open.do("GET", "/api/v1/series", nil, "Authorization", "Bearer "); res.Code != http.StatusUnauthorized {
		t.Errorf("empty admin token: status = %d, want 401", res.Code)
	}
}

func TestSeriesLifecycle(t *testing.T) {
	f := newFixture(t)
	res := f.do("POST", "/api/v1/series", map[string]any{
		"manager":  map[string]any{"email": "Aiko@Example.com", "name": "Aiko"},
		"report":   map[string]any{"email": "ren@example.com", "name": "Ren"},
		"start":    "2026-12-01T10:00",
		"timezone": "Asia/Tokyo",
		"team":     "platform",
		"calendar": "team-caldav",
	})
	if res.Code != http.StatusCreated {
		t.Fatalf("create: %d %s", res.Code, res.Body)
	}
	var raw map[string]any
	res.json(t, &raw)
	id, _ := raw["id"].(string)
	if !strings.HasPrefix(id, "s_") {
		t.Fatalf("id = %q", id)
	}
	if loc := res.Header.Get("Location"); loc != "/api/v1/series/"+id {
		t.Errorf("Location = %q", loc)
	}
	want := map[string]any{
		"id":       id,
		"manager":  map[string]any{"email": "aiko@example.com", "name": "Aiko"},
		"report":   map[string]any{"email": "ren@example.com", "name": "Ren"},
		"start":    "2026-12-01T10:00:00",
		"timezone": "Asia/Tokyo",
		"cadence":  "weekly",
		"duration": "30m",
		"team":     "platform",
		"calendar": "team-caldav",
		"state":    "active",
		"room_url": testPublicURL + "/r/" + id,
	}
	for k, v := range want {
		if fmt.Sprint(raw[k]) != fmt.Sprint(v) {
			t.Errorf("%s = %v, want %v", k, raw[k], v)
		}
	}

	got := f.do("GET", "/api/v1/series/"+id, nil)
	if got.Code != 200 {
		t.Fatalf("get: %d %s", got.Code, got.Body)
	}
	var s seriesJSON
	got.json(t, &s)
	if s.ID != id || s.Manager.Email != "aiko@example.com" {
		t.Errorf("get = %+v", s)
	}

	patched := f.do("PATCH", "/api/v1/series/"+id, map[string]any{
		"state": "paused", "team": "infra", "duration": "45m", "report": map[string]any{"name": "Ren K."},
		"version": s.Version,
	})
	if patched.Code != 200 {
		t.Fatalf("patch: %d %s", patched.Code, patched.Body)
	}
	var p seriesJSON
	patched.json(t, &p)
	if p.State != "paused" || p.Team != "infra" || p.Duration != "45m" || p.Report.Name != "Ren K." || p.Version <= s.Version {
		t.Errorf("patched = %+v (was version %d)", p, s.Version)
	}
	if p.Calendar != "team-caldav" || p.Start != "2026-12-01T10:00:00" {
		t.Errorf("patch changed fields it did not name: %+v", p)
	}

	// A new zone keeps the wall clock; null clears an optional field.
	tz := f.do("PATCH", "/api/v1/series/"+id, `{"timezone":"Europe/Berlin","calendar":null}`)
	if tz.Code != 200 {
		t.Fatalf("patch timezone: %d %s", tz.Code, tz.Body)
	}
	tz.json(t, &p)
	if p.Timezone != "Europe/Berlin" || p.Start != "2026-12-01T10:00:00" || p.Calendar != "" {
		t.Errorf("after timezone patch: %+v", p)
	}

	// The copy read before the last two writes is stale.
	stale := f.do("PATCH", "/api/v1/series/"+id, map[string]any{"state": "active", "version": s.Version})
	if stale.Code != http.StatusConflict || stale.apiError(t).Error.Code != "conflict" {
		t.Errorf("stale patch: %d %s, want 409 conflict", stale.Code, stale.Body)
	}

	if del := f.do("DELETE", "/api/v1/series/"+id, nil); del.Code != http.StatusNoContent {
		t.Fatalf("delete: %d %s", del.Code, del.Body)
	}
	if gone := f.do("GET", "/api/v1/series/"+id, nil); gone.Code != http.StatusNotFound || gone.apiError(t).Error.Code != "not_found" {
		t.Errorf("get after delete: %d %s", gone.Code, gone.Body)
	}
	if again := f.do("DELETE", "/api/v1/series/"+id, nil); again.Code != http.StatusNotFound {
		t.Errorf("second delete: %d, want 404", again.Code)
	}
}

func TestCreateSeriesRejectsBadInput(t *testing.T) {
	f := newFixture(t)
	f.create(seriesBody("aiko@example.com", "ren@example.com"))
	with := func(k string, v any) map[string]any {
		b := seriesBody("mei@example.com", "sora@example.com")
		b[k] = v
		return b
	}
	cases := []struct {
		name   string
		body   any
		status int
		code   string
		field  string
	}{
		{"misspelled timezone", with("timezone", "Asia/Tokio"), 400, "invalid_argument", "timezone"},
		{"missing timezone", with("timezone", ""), 400, "invalid_argument", "timezone"},
		{"bad start", with("start", "2026-13-01T10:00"), 400, "invalid_argument", "start"},
		{"start with words", with("start", "next tuesday"), 400, "invalid_argument", "start"},
		{"bad cadence", with("cadence", "fortnightly"), 400, "invalid_argument", "cadence"},
		{"bad duration", with("duration", "30 minutes"), 400, "invalid_argument", "duration"},
		{"negative duration", with("duration", "-30m"), 400, "invalid_argument", "duration"},
		{"bad state", with("state", "archived"), 400, "invalid_argument", "state"},
		{"bad manager e-mail", with("manager", map[string]any{"email": "aiko"}), 400, "invalid_argument", "manager.email"},
		{"missing report", with("report", nil), 400, "invalid_argument", "report.email"},
		{"same person twice", with("report", map[string]any{"email": "mei@example.com"}), 400, "invalid_argument", "report.email"},
		{"duplicate pair", seriesBody("aiko@example.com", "ren@example.com"), 409, "conflict", ""},
		{"duplicate pair in other case", seriesBody("AIKO@example.com", "ren@example.com"), 409, "conflict", ""},
		{"unknown field", with("colour", "blue"), 400, "invalid_argument", "colour"},
		{"unknown nested field", with("manager", map[string]any{"email": "mei@example.com", "phone": "1"}), 400, "invalid_argument", "manager.phone"},
		{"wrong type", with("duration", 30), 400, "invalid_argument", "duration"},
		{"wrong nested type", with("manager", map[string]any{"email": 7}), 400, "invalid_argument", "manager.email"},
		{"object expected", with("manager", "mei@example.com"), 400, "invalid_argument", "manager"},
		{"array body", `[1,2]`, 400, "invalid_argument", ""},
		{"malformed JSON", `{"manager":`, 400, "invalid_argument", ""},
		{"not JSON", `manager=aiko`, 400, "invalid_argument", ""},
		{"empty body", ``, 400, "invalid_argument", ""},
		{"two objects", `{} {}`, 400, "invalid_argument", ""},
		{"oversized body", `{"team":"` + strings.Repeat("x", 2<<20) + `"}`, 413, "request_too_large", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := f.count()
			res := f.do("POST", "/api/v1/series", tc.body)
			if res.Code != tc.status {
				t.Fatalf("status = %d %s, want %d", res.Code, res.Body, tc.status)
			}
			e := res.apiError(t)
			if e.Error.Code != tc.code || e.Error.Field != tc.field {
				t.Errorf("error = %+v, want code %q field %q", e.Error, tc.code, tc.field)
			}
			if after := f.count(); after != before {
				t.Errorf("series count %d → %d after a refused create", before, after)
			}
		})
	}
	var list seriesList
	f.do("GET", "/api/v1/series", nil).json(t, &list)
	if len(list.Series) != 1 {
		t.Errorf("list has %d series, want 1", len(list.Series))
	}
}

func TestPatchSeriesRejectsBadInput(t *testing.T) {
	f := newFixture(t)
	s := f.create(seriesBody("aiko@example.com", "ren@example.com"))
	cases := []struct {
		name   string
		id     string
		body   string
		status int
		field  string
	}{
		{"unknown id", "s_doesnotexist", `{"team":"x"}`, 404, ""},
		{"misspelled timezone", s.ID, `{"timezone":"Asia/Tokio"}`, 400, "timezone"},
		{"bad start", s.ID, `{"start":"2026-12-01 25:00"}`, 400, "start"},
		{"bad cadence", s.ID, `{"cadence":"FREQ=SOMETIMES"}`, 400, "cadence"},
		{"bad duration", s.ID, `{"duration":"forever"}`, 400, "duration"},
		{"bad state", s.ID, `{"state":"archived"}`, 400, "state"},
		{"null required field", s.ID, `{"timezone":null}`, 400, "timezone"},
		{"the pair cannot change", s.ID, `{"manager":{"email":"mei@example.com"}}`, 400, "manager.email"},
		{"unknown field", s.ID, `{"room":"x"}`, 400, "room"},
		{"wrong type", s.ID, `{"team":3}`, 400, "team"},
		{"wrong version type", s.ID, `{"version":"1"}`, 400, "version"},
		{"zero version", s.ID, `{"version":0}`, 400, "version"},
		{"stale version", s.ID, fmt.Sprintf(`{"team":"x","version":%d}`, s.Version+5), 409, ""},
		{"oversized body", s.ID, `{"team":"` + strings.Repeat("x", 2<<20) + `"}`, 413, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := f.do("PATCH", "/api/v1/series/"+tc.id, tc.body)
			if res.Code != tc.status {
				t.Fatalf("status = %d %s, want %d", res.Code, res.Body, tc.status)
			}
			if e := res.apiError(t); e.Error.Field != tc.field {
				t.Errorf("field = %q, want %q (%s)", e.Error.Field, tc.field, e.Error.Message)
			}
			var now seriesJSON
			f.do("GET", "/api/v1/series/"+s.ID, nil).json(t, &now)
			if now != s {
				t.Errorf("series changed by a refused patch:\n got %+v\nwant %+v", now, s)
			}
		})
	}
}

func TestListSeriesPaging(t *testing.T) {
	f := newFixture(t)
	all := map[string]bool{}
	for i := range 250 {
		team := "platform"
		if i%5 == 0 {
			team = "design"
		}
		s := f.storeSeries(fmt.Sprintf("m%03d@example.com", i), fmt.Sprintf("r%03d@example.com", i), team)
		all[s.ID] = false
	}
	var sizes []int
	cursor, last := "", ""
	for page := 0; ; page++ {
		if page > 10 {
			t.Fatal("paging does not end")
		}
		path := "/api/v1/series?limit=100"
		if cursor != "" {
			path += "&cursor=" + url.QueryEscape(cursor)
		}
		res := f.do("GET", path, nil)
		if res.Code != 200 {
			t.Fatalf("page %d: %d %s", page, res.Code, res.Body)
		}
		var l seriesList
		res.json(t, &l)
		sizes = append(sizes, len(l.Series))
		for _, s := range l.Series {
			seen, ok := all[s.ID]
			if !ok || seen {
				t.Fatalf("page %d: series %s unknown or seen twice", page, s.ID)
			}
			if s.ID <= last {
				t.Fatalf("page %d: %s is not after %s", page, s.ID, last)
			}
			all[s.ID], last = true, s.ID
		}
		if l.NextCursor == "" {
			break
		}
		cursor = l.NextCursor
	}
	if fmt.Sprint(sizes) != "[100 100 50]" {
		t.Errorf("page sizes = %v, want [100 100 50]", sizes)
	}
	for id, seen := range all {
		if !seen {
			t.Errorf("series %s never listed", id)
		}
	}

	var def seriesList
	f.do("GET", "/api/v1/series", nil).json(t, &def)
	if len(def.Series) != 100 || def.NextCursor == "" {
		t.Errorf("default page: %d series, cursor %q; want 100 and a cursor", len(def.Series), def.NextCursor)
	}
	var design seriesList
	f.do("GET", "/api/v1/series?team=design&limit=1000", nil).json(t, &design)
	if len(design.Series) != 50 || design.NextCursor != "" {
		t.Errorf("team filter: %d series, cursor %q; want 50 and none", len(design.Series), design.NextCursor)
	}
	if !strings.Contains(string(f.do("GET", "/api/v1/series?limit=250", nil).Body), `"series"`) {
		t.Error("limit=250 refused")
	}

	for _, q := range []string{"limit=0", "limit=1001", "limit=ten", "limit=-1", "cursor=***"} {
		res := f.do("GET", "/api/v1/series?"+q, nil)
		if res.Code != 400 {
			t.Errorf("?%s: status %d, want 400", q, res.Code)
			continue
		}
		field := strings.SplitN(q, "=", 2)[0]
		if e := res.apiError(t); e.Error.Field != field {
			t.Errorf("?%s: field %q, want %q", q, e.Error.Field, field)
		}
	}
}

func TestUnknownRoutesAnswerJSON(t *testing.T) {
	f := newFixture(t)
	res := f.do("GET", "/api/v1/nothing-here", nil)
	if res.Code != 404 || res.apiError(t).Error.Code != "not_found" {
		t.Errorf("unknown path: %d %s", res.Code, res.Body)
	}
	res = f.do("PUT", "/api/v1/series/s_x", `{}`)
	if res.Code != 405 || res.apiError(t).Error.Code != "method_not_allowed" || res.Header.Get("Allow") == "" {
		t.Errorf("wrong method: %d %s allow %q", res.Code, res.Body, res.Header.Get("Allow"))
	}
}

func TestCrossOriginWritesRefused(t *testing.T) {
	f := newFixture(t)
	res := f.do("POST", "/api/v1/series", seriesBody("aiko@example.com", "ren@example.com"), "Sec-Fetch-Site", "cross-site")
	if res.Code != http.StatusForbidden {
		t.Fatalf("cross-site POST: %d %s, want 403", res.Code, res.Body)
	}
	res.apiError(t)
	if n := f.count(); n != 0 {
		t.Errorf("cross-site POST created %d series", n)
	}
	// A script without browser headers is not a browser: allowed.
	f.create(seriesBody("aiko@example.com", "ren@example.com"))
}

func TestRequestLogs(t *testing.T) {
	f := newFixture(t)
	f.create(seriesBody("aiko@example.com", "ren@example.com"))
	f.do("GET", "/ical/SECRETFEEDTOKEN.ics", nil, "Authorization", "")
	f.do("GET", "/api/v1/series?cursor=SECRETQUERY", nil)
	logs := f.logs.String()
	for _, secret := range []string{"SECRETFEEDTOKEN", "SECRETQUERY", testToken} {
		if strings.Contains(logs, secret) {
			t.Errorf("logs contain %q:\n%s", secret, logs)
		}
	}
	for _, want := range []string{"path=/ical/[redacted].ics", "status=404", "method=POST", "path=/api/v1/series", "status=201", "duration="} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %q:\n%s", want, logs)
		}
	}
}
