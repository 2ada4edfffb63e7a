package identity_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/oneonone/oneonone/identity"
	"github.com/oneonone/oneonone/internal/errs"
	"github.com/oneonone/oneonone/meet/joinlink"
)

func TestPersonalLinkSignsInAndDropsTheToken(t *testing.T) {
	e := newEnv(t, nil)
	link := e.link("s_1", "Ren@Example.com", joinlink.RoleReport)
	if !strings.HasPrefix(link, e.srv.URL+"/r/s_1?t=v1.") {
		t.Fatalf("link = %s", link)
	}
	c := e.client(true)
	a := get(t, c, link)
	if a.status != http.StatusSeeOther || a.header.Get("Location") != "/r/s_1" {
		t.Fatalf("opening the link: %d Location %q, want 303 /r/s_1", a.status, a.header.Get("Location"))
	}
	if a.header.Get("Referrer-Policy") != "no-referrer" {
		t.Errorf("the redirect leaks the token through Referer: Referrer-Policy %q", a.header.Get("Referrer-Policy"))
	}
	ck := sessionCookie(a.header)
	if ck == nil {
		t.Fatal("no session cookie")
	}
	if !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Secure || ck.Path != "/" || ck.MaxAge != int((30*24*time.Hour).Seconds()) {
		t.Errorf("cookie %+v: want HttpOnly, SameSite=Lax, not Secure over http, Path=/, Max-Age 30 days", ck)
	}
	if got := e.whoami(c); got != "room s_1: ren@example.com via link" {
		t.Errorf("after the link: %q", got)
	}
	// Other query parameters survive the redirect.
	a = get(t, e.client(true), link+"&lang=ja")
	if loc := a.header.Get("Location"); loc != "/r/s_1?lang=ja" {
		t.Errorf("Location = %q, want /r/s_1?lang=ja", loc)
	}
	// Links handed out in the same week are identical, so a polled feed
	// does not change every time.
	e.clock.Add(time.Minute)
	if again := e.link("s_1", report, joinlink.RoleReport); again != link {
		t.Errorf("a minute later the link changed")
	}
}

func TestPersonalLinkRefusals(t *testing.T) {
	other, err := joinlink.NewSigner([]byte("another-daemon-secret-of-32-bytes!!"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		link   func(e *env) string
		status int
		text   string
	}{
		{"expired", func(e *env) string {
			l := e.link("s_1", report, joinlink.RoleReport)
			e.clock.Add(identity.DefaultLinkTTL + 8*24*time.Hour)
			return l
		}, http.StatusGone, "expired"},
		{"tampered", func(e *env) string {
			l := e.link("s_1", report, joinlink.RoleReport)
			i := strings.Index(l, "?t=v1.") + 8
			b := []byte(l)
			if b[i] == 'A' {
				b[i] = 'B'
			} else {
				b[i] = 'A'
			}
			return string(b)
		}, http.StatusForbidden, "not valid"},
		{"truncated", func(e *env) string { return e.link("s_1", report, joinlink.RoleReport)[:60] }, http.StatusForbidden, "not valid"},
		{"empty", func(e *env) string { return e.srv.URL + "/r/s_1?t=" }, http.StatusForbidden, "not valid"},
		{"signed by another daemon", func(e *env) string {
			return e.srv.URL + "/r/s_1?t=" + other.Sign(joinlink.Claims{Series: "s_1", Email: report, Role: joinlink.RoleReport, Expires: e.clock.Now().Add(time.Hour)})
		}, http.StatusForbidden, "not valid"},
		{"revoked", func(e *env) string {
			l := e.link("s_1", report, joinlink.RoleReport)
			if err := e.svc.RevokeLinks(context.Background(), report); err != nil {
				e.t.Fatal(err)
			}
			return l
		}, http.StatusGone, "expired"},
		{"series deleted", func(e *env) string {
			l := e.link("s_1", report, joinlink.RoleReport)
			if err := e.store.DeleteSeries(context.Background(), "s_1"); err != nil {
				e.t.Fatal(err)
			}
			return l
		}, http.StatusGone, "expired"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, nil)
			c := e.client(true)
			a := get(t, c, tt.link(e))
			if a.status != tt.status || !strings.Contains(a.body, tt.text) {
				t.Errorf("got %d %q, want %d containing %q", a.status, a.body, tt.status, tt.text)
			}
			if sessionCookie(a.header) != nil {
				t.Error("a refused link set a session cookie")
			}
			if csp := a.header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
				t.Errorf("error page CSP = %q", csp)
			}
			if got := e.whoami(c); got != "" {
				t.Errorf("signed in after a refused link: %q", got)
			}
		})
	}
}

func TestRevokedLinkEndsSessionsAndNewLinksWork(t *testing.T) {
	e := newEnv(t, nil)
	old := e.link("s_1", report, joinlink.RoleReport)
	c := e.client(false)
	get(t, c, old)
	if e.whoami(c) == "" {
		t.Fatal("link did not sign in")
	}
	if err := e.svc.RevokeLinks(context.Background(), report); err != nil {
		t.Fatal(err)
	}
	if got := e.whoami(c); got != "" {
		t.Errorf("session survived revocation: %q", got)
	}
	fresh := e.link("s_1", report, joinlink.RoleReport)
	if fresh == old {
		t.Fatal("the new link equals the revoked one")
	}
	get(t, c, fresh)
	if got := e.whoami(c); got != "room s_1: ren@example.com via link" {
		t.Errorf("new link: %q", got)
	}
	// The manager's links were not touched.
	m := e.client(false)
	get(t, m, e.link("s_1", manager, joinlink.RoleManager))
	if got := e.whoami(m); got != "room s_1: aiko@example.com via link" {
		t.Errorf("manager: %q", got)
	}
}

func TestPersonalLinkOnlyForTheRole(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	for _, tt := range []struct{ series, email, role string }{
		{"s_1", report, joinlink.RoleManager},
		{"s_1", "mallory@example.com", joinlink.RoleReport},
		{"s_1", manager, "admin"},
	} {
		if _, err := e.svc.PersonalLink(ctx, tt.series, tt.email, tt.role); err == nil {
			t.Errorf("PersonalLink(%v) succeeded", tt)
		} else if _, ok := errs.AsInvalid(err); !ok {
			t.Errorf("PersonalLink(%v) = %v, want *errs.Invalid", tt, err)
		}
	}
	if _, err := e.svc.PersonalLink(ctx, "s_nope", report, joinlink.RoleReport); !errors.Is(err, errs.ErrNotFound) {
		t.Errorf("missing series: %v", err)
	}
}

func TestErrorPageSpeaksJapanese(t *testing.T) {
	e := newEnv(t, nil)
	a := get(t, e.client(true), e.srv.URL+"/r/s_1?t=v1.bogus", "Accept-Language", "ja-JP,ja;q=0.9,en;q=0.8")
	if a.status != http.StatusForbidden || !strings.Contains(a.body, "このリンクは使えません") || !strings.Contains(a.body, `lang="ja"`) {
		t.Errorf("got %d %q", a.status, a.body)
	}
	a = get(t, e.client(true), e.srv.URL+"/r/s_1?t=v1.bogus", "Accept-Language", "en-US,ja;q=0.5")
	if !strings.Contains(a.body, "This link does not work") {
		t.Errorf("English: %q", a.body)
	}
}

func TestSessionsAndLogout(t *testing.T) {
	e := newEnv(t, nil)
	c := e.client(false)
	get(t, c, e.link("s_1", report, joinlink.RoleReport))
	u, _ := url.Parse(e.srv.URL)
	cookie := c.Jar.Cookies(u)[0]

	// A copy of the cookie works until sign-out, which holds server-side.
	thief := e.client(false)
	thief.Jar.SetCookies(u, []*http.Cookie{{Name: cookie.Name, Value: cookie.Value}})
	if e.whoami(thief) == "" {
		t.Fatal("copied cookie did not work")
	}
	a := post(t, e.client(true), e.srv.URL+"/auth/logout", "") // no cookie: harmless
	if a.status != http.StatusOK {
		t.Errorf("logout without a session: %d", a.status)
	}
	a = do(t, c, "POST", e.srv.URL+"/auth/logout", nil)
	if a.status != http.StatusOK || !strings.Contains(a.body, "signed out") {
		t.Errorf("logout: %d %q", a.status, a.body)
	}
	if got := e.whoami(c); got != "" {
		t.Errorf("still signed in after logout: %q", got)
	}
	if got := e.whoami(thief); got != "" {
		t.Errorf("the copied cookie outlived logout: %q", got)
	}

	// Expiry.
	c = e.client(false)
	get(t, c, e.link("s_1", report, joinlink.RoleReport))
	e.clock.Add(identity.DefaultSessionTTL - time.Minute)
	if e.whoami(c) == "" {
		t.Fatal("session ended before its TTL")
	}
	e.clock.Add(2 * time.Minute)
	if got := e.whoami(c); got != "" {
		t.Errorf("expired session admitted: %q", got)
	}

	// Forged and foreign cookies.
	for _, v := range []string{"", "v1.", "garbage", cookie.Value + "x", strings.Replace(cookie.Value, "v1.", "v2.", 1)} {
		f := e.client(false)
		f.Jar.SetCookies(u, []*http.Cookie{{Name: identity.SessionCookie, Value: v}})
		if got := e.whoami(f); got != "" {
			t.Errorf("cookie %q admitted: %q", v, got)
		}
	}
}

func TestSecureCookieUnderHTTPS(t *testing.T) {
	e := newEnv(t, nil)
	svc, err := identity.New(context.Background(), identity.Options{Store: e.store, Secret: secret, PublicURL: "https://1on1.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	link, err := svc.PersonalLink(context.Background(), "s_1", report, joinlink.RoleReport)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(link, "https://1on1.example.com/r/s_1?t=") {
		t.Fatalf("link = %s", link)
	}
	rec := httptest.NewRecorder()
	if !svc.ConsumeLink(rec, httptest.NewRequest("GET", strings.TrimPrefix(link, "https://1on1.example.com"), nil)) {
		t.Fatal("ConsumeLink did not handle the link")
	}
	ck := sessionCookie(rec.Header())
	if ck == nil || !ck.Secure || !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode {
		t.Errorf("cookie under https: %+v", ck)
	}
	if svc.ConsumeLink(httptest.NewRecorder(), httptest.NewRequest("GET", "/r/s_1", nil)) {
		t.Error("ConsumeLink claimed a request without ?t=")
	}
}

func TestModeAndSignIn(t *testing.T) {
	tests := []struct {
		name     string
		opts     func(*identity.Options)
		mode     identity.Mode
		location string
		routes   []string
	}{
		{"capability", nil, identity.ModeCapability, "", []string{"POST /auth/logout"}},
		{"email", func(o *identity.Options) { o.Mailer = &fakeMailer{} }, identity.ModeEmail, "/auth/email?next=%2Fr%2Fs_1",
			[]string{"POST /auth/logout", "GET /auth/email", "POST /auth/email", "GET /auth/email/verify", "POST /auth/email/verify"}},
		{"oidc wins over email", func(o *identity.Options) {
			o.Mailer = &fakeMailer{}
			o.OIDC = &identity.OIDCOptions{Issuer: "https://idp.example", ClientID: "c"}
		}, identity.ModeOIDC, "/auth/oidc/login?next=%2Fr%2Fs_1", []string{"POST /auth/logout", "GET /auth/oidc/login", "GET /auth/oidc/callback"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, tt.opts)
			if e.svc.Mode() != tt.mode {
				t.Errorf("Mode = %s, want %s", e.svc.Mode(), tt.mode)
			}
			rec := httptest.NewRecorder()
			e.svc.SignIn(rec, httptest.NewRequest("GET", "/r/s_1", nil), "/r/s_1")
			if loc := rec.Header().Get("Location"); loc != tt.location {
				t.Errorf("SignIn Location = %q, want %q", loc, tt.location)
			}
			var got []string
			for _, r := range e.svc.Routes() {
				got = append(got, r.Method+" "+r.Pattern)
			}
			if strings.Join(got, ",") != strings.Join(tt.routes, ",") {
				t.Errorf("Routes = %v, want %v", got, tt.routes)
			}
		})
	}
}

func TestSafeNext(t *testing.T) {
	for in, want := range map[string]string{
		"":                      "/",
		"/r/s_1":                "/r/s_1",
		"/r/s_1?lang=ja#x":      "/r/s_1?lang=ja#x",
		"//evil.example/":       "/",
		"/\\evil.example":       "/",
		"https://evil.example/": "/",
		"evil.example":          "/",
		"/\t/evil.example":      "/",
		"javascript:alert(1)":   "/",
		"/r/%2F%2Fevil.example": "/r/%2F%2Fevil.example",
		"///evil.example":       "/",
		"/r\r\nSet-Cookie: x=1": "/",
	} {
		if got := identity.SafeNext(in); got != want {
			t.Errorf("SafeNext(%q) = %q, want %q", in, got, want)
		}
	}
}
