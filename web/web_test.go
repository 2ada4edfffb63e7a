package web

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/oneonone/oneonone/calendar"
	"github.com/oneonone/oneonone/store"
)

const testToken = "web-test-admin-token-42"

var testNow = time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)

type fixture struct {
	t     *testing.T
	store *store.Store
	h     *Handler
	now   time.Time
}

func newFixture(t *testing.T, publicURL string) *fixture {
	t.Helper()
	st, err := store.Open(context.Background(), "sqlite:"+t.TempDir()+"/db", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f := &fixture{t: t, store: st, now: testNow}
	f.h = New(Options{Store: st, AdminToken: testToken, PublicURL: publicURL, Now: func() time.Time { return f.now }})
	return f
}

func (f *fixture) addSeries(manager, managerName, report, team string, state calendar.State) calendar.Series {
	f.t.Helper()
	loc, _ := calendar.LoadLocation("Asia/Tokyo")
	s := calendar.Series{
		ID:       calendar.NewSeriesID(),
		Manager:  calendar.Person{Email: manager, Name: managerName},
		Report:   calendar.Person{Email: report, Name: "Ren"},
		Start:    time.Date(2026, 12, 1, 10, 0, 0, 0, loc),
		Timezone: "Asia/Tokyo",
		Cadence:  "biweekly",
		Team:     team,
		State:    state,
	}
	if err := s.Normalize(); err != nil {
		f.t.Fatal(err)
	}
	if err := f.store.CreateSeries(context.Background(), s); err != nil {
		f.t.Fatal(err)
	}
	return s
}

func (f *fixture) request(method, target string, form url.Values, cookies []*http.Cookie, headers ...string) *httptest.ResponseRecorder {
	f.t.Helper()
	var req *http.Request
	if form != nil {
		req = httptest.NewRequest(method, target, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	} else {
		req = httptest.NewRequest(method, target, nil)
	}
	for _, c := range cookies {
		req.AddCookie(c)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, req)
	return rec
}

func (f *fixture) signIn() []*http.Cookie {
	f.t.Helper()
	rec := f.request("POST", "/login", url.Values{"token": {testToken}}, nil)
	if rec.Code != http.StatusSeeOther {
		f.t.Fatalf("sign-in: %d %s", rec.Code, rec.Body)
	}
	return rec.Result().Cookies()
}

func checkSecurityHeaders(t *testing.T, rec *httptest.ResponseRecorder) {
	t.Helper()
	want := map[string]string{
		"Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
		"X-Content-Type-Options":  "nosniff",
		"Referrer-Policy":         "no-referrer",
	}
	for k, v := range want {
		if got := rec.Header().Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
}

func TestSignInFlow(t *testing.T) {
	f := newFixture(t, "http://localhost:8080")
	f.addSeries("aiko@example.com", "Aiko", "ren@example.com", "platform", calendar.StateActive)

	rec := f.request("GET", "/", nil, nil)
	checkSecurityHeaders(t, rec)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `action="/login"`) || strings.Contains(rec.Body.String(), "aiko@example.com") {
		t.Fatalf("signed-out page: %d\n%s", rec.Code, rec.Body)
	}

	wrong := f.request("POST", "/login", url.Values{"token": {"guess"}}, nil)
	checkSecurityHeaders(t, wrong)
	if wrong.Code != http.StatusUnauthorized || len(wrong.Result().Cookies()) != 0 {
		t.Errorf("wrong token: %d cookies %v", wrong.Code, wrong.Result().Cookies())
	}

	cookies := f.signIn()
	var session *http.Cookie
	for _, c := range cookies {
		if c.Name == sessionCookie {
			session = c
		}
	}
	if session == nil {
		t.Fatalf("no session cookie in %v", cookies)
	}
	if !session.HttpOnly || session.SameSite != http.SameSiteStrictMode || session.Secure {
		t.Errorf("session cookie flags: %+v", session)
	}
	if strings.Contains(session.Value, testToken) {
		t.Error("the session cookie carries the admin token")
	}

	page := f.request("GET", "/", nil, cookies)
	checkSecurityHeaders(t, page)
	body := page.Body.String()
	for _, want := range []string{"aiko@example.com", "ren@example.com", "platform", "Every two weeks", "2026-12-01 (Tue) 10:00", "Asia/Tokyo", "Active", `action="/logout"`} {
		if !strings.Contains(body, want) {
			t.Errorf("series page lacks %q", want)
		}
	}

	// A tampered or expired cookie is no session.
	for _, i := range []int{12, len(session.Value) - 3} {
		forged := *session
		b := []byte(forged.Value)
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		forged.Value = string(b)
		if body := f.request("GET", "/", nil, []*http.Cookie{&forged}).Body.String(); strings.Contains(body, "aiko@example.com") {
			t.Errorf("a cookie altered at %d was accepted", i)
		}
	}
	f.now = testNow.Add(13 * time.Hour)
	if b := f.request("GET", "/", nil, cookies).Body.String(); strings.Contains(b, "aiko@example.com") {
		t.Error("an expired session was accepted")
	}
	f.now = testNow

	out := f.request("POST", "/logout", url.Values{}, cookies)
	if out.Code != http.StatusSeeOther {
		t.Fatalf("sign-out: %d", out.Code)
	}
	// Even a client that keeps the old cookie is signed out.
	if b := f.request("GET", "/", nil, cookies).Body.String(); strings.Contains(b, "aiko@example.com") {
		t.Error("the session still works after sign-out")
	}

	// A new admin token ends every session.
	other := New(Options{Store: f.store, AdminToken: "another-token", Now: func() time.Time { return testNow }})
	fresh := f.signIn()
	req := httptest.NewRequest("GET", "/", nil)
	for _, c := range fresh {
		req.AddCookie(c)
	}
	rec2 := httptest.NewRecorder()
	other.ServeHTTP(rec2, req)
	if strings.Contains(rec2.Body.String(), "aiko@example.com") {
		t.Error("a session outlived a change of admin token")
	}
}

func TestSecureCookieOverHTTPS(t *testing.T) {
	f := newFixture(t, "https://1on1.example.com")
	for _, c := range f.signIn() {
		if c.Name == sessionCookie && !c.Secure {
			t.Errorf("session cookie not Secure under an https public URL: %+v", c)
		}
	}
}

func TestEmptyAdminTokenAdmitsNobody(t *testing.T) {
	f := newFixture(t, "")
	f.h = New(Options{Store: f.store, AdminToken: ""})
	if rec := f.request("POST", "/login", url.Values{"token": {""}}, nil); rec.Code != http.StatusUnauthorized {
		t.Errorf("empty token sign-in: %d", rec.Code)
	}
}

func TestSeriesPage(t *testing.T) {
	f := newFixture(t, "")
	f.addSeries("evil@example.com", `<script>alert("x")</script>`, "ren@example.com", `<b>team</b>`, calendar.StateActive)
	f.addSeries("mei@example.com", "Mei", "sora@example.com", "design", calendar.StatePaused)
	f.addSeries("nao@example.com", "Nao", "rio@example.com", "", calendar.StateActive)
	cookies := f.signIn()

	body := f.request("GET", "/", nil, cookies).Body.String()
	if strings.Contains(body, `<script>alert`) || strings.Contains(body, "<b>team</b>") {
		t.Errorf("user text rendered as HTML:\n%s", body)
	}
	if !strings.Contains(body, `&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;`) || !strings.Contains(body, "&lt;b&gt;team&lt;/b&gt;") {
		t.Errorf("user text not shown escaped:\n%s", body)
	}
	// Teams by name, the unnamed team last.
	iBold, iDesign, iNone := strings.Index(body, "&lt;b&gt;team"), strings.Index(body, ">design<"), strings.Index(body, "(no team)")
	if !(iBold < iDesign && iDesign < iNone) || iBold < 0 {
		t.Errorf("team order: <b>team at %d, design at %d, no team at %d", iBold, iDesign, iNone)
	}
	if !strings.Contains(body, "Paused") {
		t.Error("paused series not shown as paused")
	}
	if !strings.Contains(body, `<span data-role="count">3</span>`) {
		t.Error("count missing")
	}
	if strings.Contains(body, " style=") || strings.Contains(body, "<script>") {
		t.Error("inline style or script would break the CSP")
	}
}

func TestLanguages(t *testing.T) {
	f := newFixture(t, "")
	f.addSeries("aiko@example.com", "Aiko", "ren@example.com", "platform", calendar.StatePaused)
	cookies := f.signIn()

	ja := f.request("GET", "/", nil, cookies, "Accept-Language", "ja-JP,ja;q=0.9,en;q=0.5").Body.String()
	for _, want := range []string{`lang="ja"`, "1on1ミーティング一覧", "一時停止", "隔週", "マネージャー"} {
		if !strings.Contains(ja, want) {
			t.Errorf("Japanese page lacks %q", want)
		}
	}
	en := f.request("GET", "/", nil, cookies, "Accept-Language", "en-US,ja;q=0.3").Body.String()
	if !strings.Contains(en, `lang="en"`) || !strings.Contains(en, "Paused") {
		t.Error("English not chosen for en-US")
	}
	if fr := f.request("GET", "/", nil, cookies, "Accept-Language", "fr").Body.String(); !strings.Contains(fr, `lang="en"`) {
		t.Error("unsupported languages must fall back to English")
	}

	// The switch: ?lang=ja wins over the header and is remembered.
	sw := f.request("GET", "/?lang=ja", nil, cookies, "Accept-Language", "en")
	if !strings.Contains(sw.Body.String(), `lang="ja"`) {
		t.Error("?lang=ja not honoured")
	}
	var langC *http.Cookie
	for _, c := range sw.Result().Cookies() {
		if c.Name == langCookie {
			langC = c
		}
	}
	if langC == nil || langC.Value != "ja" {
		t.Fatalf("no lang cookie: %v", sw.Result().Cookies())
	}
	again := f.request("GET", "/", nil, append(cookies, langC), "Accept-Language", "en")
	if !strings.Contains(again.Body.String(), `lang="ja"`) {
		t.Error("lang cookie not honoured")
	}
	if b := f.request("GET", "/?lang=xx", nil, cookies).Body.String(); !strings.Contains(b, `lang="en"`) {
		t.Error("unknown ?lang must be ignored")
	}
}

func TestMatchAcceptLanguage(t *testing.T) {
	for header, want := range map[string]string{
		"":                       "en",
		"ja":                     "ja",
		"JA-jp":                  "ja",
		"en;q=0.4, ja;q=0.8":     "ja",
		"de, ja;q=0.1":           "ja",
		"de, fr":                 "en",
		"ja;q=0, en;q=0.1":       "en",
		"ja;q=oops, en":          "en",
		"*":                      "en",
		"zh-Hant, ja-JP;q=0.9 ,": "ja",
	} {
		if got := matchAcceptLanguage(header); got != want {
			t.Errorf("matchAcceptLanguage(%q) = %q, want %q", header, got, want)
		}
	}
}

// Every key used anywhere is translated in both languages, and both files
// have the same keys.
func TestTranslationsComplete(t *testing.T) {
	langs, err := loadTranslations(i18nFS)
	if err != nil {
		t.Fatal(err)
	}
	en, ja := langs["en"], langs["ja"]
	if !slices.Equal(slices.Sorted(maps.Keys(en)), slices.Sorted(maps.Keys(ja))) {
		t.Errorf("en.json and ja.json differ in keys")
	}
	used := []string{"cadence_weekly", "cadence_biweekly", "cadence_monthly", "state_active", "state_paused", "language_name"}
	for i := range 7 {
		used = append(used, "weekday_"+string(rune('0'+i)))
	}
	tmpl, _ := fs.ReadFile(templateFS, "templates/layout.html")
	for _, name := range []string{"login", "series"} {
		b, _ := fs.ReadFile(templateFS, "templates/"+name+".html")
		tmpl = append(tmpl, b...)
	}
	for _, m := range regexp.MustCompile(`T\.Get "(\w+)"`).FindAllStringSubmatch(string(tmpl), -1) {
		used = append(used, m[1])
	}
	for _, k := range used {
		for code, d := range langs {
			if strings.TrimSpace(d[k]) == "" {
				t.Errorf("%s.json lacks %q", code, k)
			}
		}
	}
	var raw map[string]any
	b, _ := fs.ReadFile(i18nFS, "i18n/ja.json")
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
}

func TestStaticFiles(t *testing.T) {
	f := newFixture(t, "")
	for path, ctype := range map[string]string{"/static/app.css": "text/css", "/static/app.js": "text/javascript"} {
		rec := f.request("GET", path, nil, nil)
		if rec.Code != 200 || !strings.HasPrefix(rec.Header().Get("Content-Type"), ctype) {
			t.Errorf("%s: %d %q", path, rec.Code, rec.Header().Get("Content-Type"))
		}
		checkSecurityHeaders(t, rec)
	}
	if rec := f.request("GET", "/static/nope.js", nil, nil); rec.Code != 404 {
		t.Errorf("missing static file: %d", rec.Code)
	}
}

// TestAuthorizeCalendarNeedsAdminSession: the consent flow starts only in
// a signed-in admin's browser; others are sent to sign in first.
func TestAuthorizeCalendarNeedsAdminSession(t *testing.T) {
	f := newFixture(t, "http://localhost")
	var started []string
	f.h.authorize = func(w http.ResponseWriter, r *http.Request, id string) error {
		if id != "small" {
			return errors.New("not a Google calendar")
		}
		started = append(started, id)
		http.Redirect(w, r, "https://accounts.example/consent", http.StatusFound)
		return nil
	}
	if res := f.request("GET", "/calendars/small/authorize", nil, nil); res.Code != http.StatusSeeOther || res.Header().Get("Location") != "/" {
		t.Fatalf("without a session: %d to %q, want 303 to /", res.Code, res.Header().Get("Location"))
	}
	cookies := f.signIn()
	if res := f.request("GET", "/calendars/small/authorize", nil, cookies); res.Code != http.StatusFound || res.Header().Get("Location") != "https://accounts.example/consent" {
		t.Fatalf("signed in: %d to %q, want 302 to the consent page", res.Code, res.Header().Get("Location"))
	}
	if res := f.request("GET", "/calendars/other/authorize", nil, cookies); res.Code != http.StatusNotFound {
		t.Fatalf("a calendar without a consent flow: %d, want 404", res.Code)
	}
	if len(started) != 1 {
		t.Fatalf("consent started %d times, want once", len(started))
	}
}
