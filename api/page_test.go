package api

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// The admin page is mounted by New, behind the same cross-origin check.
func TestAdminPageMounted(t *testing.T) {
	f := newFixture(t)
	f.create(map[string]any{
		"manager":  map[string]any{"email": "aiko@example.com", "name": `<script>alert(1)</script>`},
		"report":   map[string]any{"email": "ren@example.com", "name": "Ren"},
		"start":    "2026-12-01T10:00",
		"timezone": "Asia/Tokyo",
	})

	signedOut := f.do("GET", "/", nil, "Authorization", "")
	if signedOut.Code != 200 || !strings.Contains(string(signedOut.Body), `action="/login"`) {
		t.Fatalf("GET /: %d %s", signedOut.Code, signedOut.Body)
	}
	if csp := signedOut.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("CSP = %q", csp)
	}

	form := url.Values{"token": {testToken}}.Encode()
	cross := f.do("POST", "/login", form, "Content-Type", "application/x-www-form-urlencoded", "Authorization", "", "Sec-Fetch-Site", "cross-site")
	if cross.Code != http.StatusForbidden {
		t.Errorf("cross-site sign-in: %d, want 403", cross.Code)
	}
	in := f.do("POST", "/login", form, "Content-Type", "application/x-www-form-urlencoded", "Authorization", "", "Sec-Fetch-Site", "same-origin")
	if in.Code != http.StatusSeeOther {
		t.Fatalf("sign-in: %d %s", in.Code, in.Body)
	}
	cookie := strings.Split(in.Header.Get("Set-Cookie"), ";")[0]
	page := f.do("GET", "/", nil, "Authorization", "", "Cookie", cookie)
	body := string(page.Body)
	if !strings.Contains(body, "aiko@example.com") {
		t.Fatalf("signed-in page lacks the series:\n%s", body)
	}
	if strings.Contains(body, "<script>alert") || !strings.Contains(body, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Errorf("a name with <script> was not escaped:\n%s", body)
	}
	if page.Header.Get("X-Content-Type-Options") != "nosniff" || page.Header.Get("Referrer-Policy") != "no-referrer" {
		t.Errorf("security headers: %v", page.Header)
	}
	// The page's session is not an API credential.
	if res := f.do("GET", "/api/v1/series", nil, "Authorization", "", "Cookie", cookie); res.Code != http.StatusUnauthorized {
		t.Errorf("API with the page cookie: %d, want 401", res.Code)
	}
}
