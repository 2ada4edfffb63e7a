package daemon

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/oneonone/oneonone/calendar/google/googlefake"
	"github.com/oneonone/oneonone/config"
	"github.com/oneonone/oneonone/internal/davtest"
)

// adminPageGet signs in to the admin page with the admin token, as an admin
// would in a browser, and GETs path with that session, not following
// redirects.
func adminPageGet(t *testing.T, r *running, dir, path string) *http.Response {
	t.Helper()
	token, err := os.ReadFile(filepath.Join(dir, TokenFile))
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	login, err := client.PostForm(r.url+"/login", url.Values{"token": {strings.TrimSpace(string(token))}})
	if err != nil {
		t.Fatal(err)
	}
	login.Body.Close()
	if login.StatusCode != http.StatusSeeOther || len(login.Cookies()) == 0 {
		t.Fatalf("admin page sign-in = %d", login.StatusCode)
	}
	req, _ := http.NewRequest("GET", r.url+path, nil)
	for _, c := range login.Cookies() {
		req.AddCookie(c)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

func adminDo(t *testing.T, r *running, dir, method, path, body string) (*http.Response, []byte) {
	t.Helper()
	token, err := os.ReadFile(filepath.Join(dir, TokenFile))
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(method, r.url+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(token)))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, b
}

// caldav.url_template: each manager's series goes into their own
// calendar, written by the one delegated account; and the API's change
// is pushed at once, not at the next (hour-long) interval.
func TestCalendarPerOrganizerCalDAV(t *testing.T) {
	servers := davtest.RadicaleUsers(t, "aiko", "mei")
	dir := t.TempDir()
	r := startWith(t, dir, func(c *config.Config) {
		c.Calendars = []config.CalendarConfig{{ID: "team", CalDAV: &config.CalDAVConfig{
			URLTemplate: servers["aiko"].TemplateURL(), Username: davtest.Delegate, Password: config.NewSecret(servers["aiko"].Password)}}}
		c.Sync.Interval = time.Hour
	})
	for _, pair := range [][2]string{{"aiko", "ren"}, {"mei", "kai"}} {
		body := fmt.Sprintf(`{"manager":{"email":"%s@example.com"},"report":{"email":"%s@example.com"},
			"start":"2026-12-01T10:00","timezone":"Asia/Tokyo","cadence":"weekly","calendar":"team"}`, pair[0], pair[1])
		if resp, b := adminDo(t, r, dir, "POST", "/api/v1/series", body); resp.StatusCode != http.StatusCreated {
			t.Fatalf("POST series = %d %s", resp.StatusCode, b)
		}
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		done := true
		for user, report := range map[string]string{"aiko": "ren", "mei": "kai"} {
			objs, err := servers[user].Query(context.Background(), servers[user].URL)
			if err != nil {
				t.Fatal(err)
			}
			if len(objs) > 1 {
				t.Fatalf("%s's calendar holds %d objects, want 1", user, len(objs))
			}
			if len(objs) == 0 {
				done = false
				continue
			}
			if !strings.Contains(objs[0].Data, "mailto:"+report+"@example.com") {
				t.Fatalf("%s's calendar holds another pair's event:\n%s", user, objs[0].Data)
			}
		}
		if done {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the series did not reach their organizers' calendars (the API's nudge should push at once)\nlogs:\n%s", r.logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// A Google calendar with an OAuth client is unready, naming where to
// authorise it, until an admin goes through the consent flow; then it
// syncs.
func TestCalendarGoogleConsentFlow(t *testing.T) {
	fake := googlefake.New(googlefake.Options{Calendars: []string{"primary"}})
	api := httptest.NewServer(fake)
	t.Cleanup(api.Close)
	var gotVerifier bool
	tokenEndpoint := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		w.Header().Set("Content-Type", "application/json")
		switch r.Form.Get("grant_type") {
		case "authorization_code":
			gotVerifier = r.Form.Get("code_verifier") != "" && r.Form.Get("code") == "the-code"
			fmt.Fprint(w, `{"access_token":"at-1","refresh_token":"rt-1","token_type":"Bearer","expires_in":3600}`)
		case "refresh_token":
			fmt.Fprint(w, `{"access_token":"at-2","token_type":"Bearer","expires_in":3600}`)
		default:
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"error":"unsupported_grant_type"}`)
		}
	}))
	t.Cleanup(tokenEndpoint.Close)
	client, _ := json.Marshal(map[string]any{"web": map[string]any{
		"client_id": "1-test.apps.googleusercontent.com", "client_secret": "s",
		"auth_uri": "https://accounts.example/o/oauth2/auth", "token_uri": tokenEndpoint.URL,
		"redirect_uris": []string{"http://localhost/oauth/google/callback"}}})
	dir := t.TempDir()
	r := startWith(t, dir, func(c *config.Config) {
		c.Calendars = []config.CalendarConfig{{ID: "small", Google: &config.GoogleConfig{
			OAuthClient: config.NewSecret(string(client)), TokenKey: config.NewSecret(strings.Repeat("k", 32)),
			CalendarID: "primary", Endpoint: api.URL}}}
		c.Sync.Interval = 100 * time.Millisecond
	})
	resp, err := http.Get(r.url + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(b), "/calendars/small/authorize") {
		t.Fatalf("/readyz before consent = %d %q; want 503 naming the authorize page", resp.StatusCode, b)
	}

	// The API starts the flow for a script holding the token…
	if viaAPI, _ := adminDo(t, r, dir, "GET", "/api/v1/calendars/small/google/authorize", ""); viaAPI.StatusCode != http.StatusFound {
		t.Fatalf("API authorize = %d, want 302", viaAPI.StatusCode)
	}
	// …and the admin page, named by /readyz, for the admin's browser.
	start := adminPageGet(t, r, dir, "/calendars/small/authorize")
	loc, err := url.Parse(start.Header.Get("Location"))
	if start.StatusCode != http.StatusFound || err != nil || loc.Host != "accounts.example" || loc.Query().Get("code_challenge") == "" {
		t.Fatalf("authorize = %d, Location %q", start.StatusCode, start.Header.Get("Location"))
	}
	if resp, _ := adminDo(t, r, dir, "GET", "/api/v1/calendars/nope/google/authorize", ""); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("authorize of an unknown calendar = %d, want 404", resp.StatusCode)
	}

	// Google sends the browser back with the state and a code.
	req, _ := http.NewRequest("GET", r.url+"/oauth/google/callback?"+url.Values{
		"state": {loc.Query().Get("state")}, "code": {"the-code"}}.Encode(), nil)
	for _, c := range start.Cookies() {
		req.AddCookie(c)
	}
	cb, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	cbBody, _ := io.ReadAll(cb.Body)
	cb.Body.Close()
	if cb.StatusCode != http.StatusOK || !gotVerifier {
		t.Fatalf("callback = %d %s (PKCE verifier sent: %v)", cb.StatusCode, cbBody, gotVerifier)
	}
	if bytes.Contains(mustRead(t, dir), []byte("rt-1")) {
		t.Fatal("the refresh token is stored in the clear")
	}

	deadline := time.Now().Add(15 * time.Second)
	for get(t, r.url+"/readyz") != http.StatusOK {
		if time.Now().After(deadline) {
			t.Fatalf("the calendar did not become ready after consent\nlogs:\n%s", r.logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// mustRead returns every file of the data directory, concatenated.
func mustRead(t *testing.T, dir string) []byte {
	t.Helper()
	var all []byte
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if b, err := os.ReadFile(filepath.Join(dir, e.Name())); err == nil {
			all = append(all, b...)
		}
	}
	return all
}
