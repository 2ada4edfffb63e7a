package room

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestEmbeddedFilesLoad(t *testing.T) {
	if _, err := load(); err != nil {
		t.Fatal(err)
	}
}

func roomData() PageData {
	start := time.Date(2026, 12, 1, 1, 0, 0, 0, time.UTC)
	return PageData{
		RoomID: "abcdefghijklmnopqrst", Role: "report",
		SelfName: "Ren", PeerName: "Aiko <script>alert(1)</script>", SelfEmail: "ren@example.com", PeerEmail: "aiko@example.com",
		Start: start, End: start.Add(30 * time.Minute), Timezone: "Asia/Tokyo",
		WSURL:      "/r/abcdefghijklmnopqrst/ws",
		ICEServers: []ICEServer{{URLs: []string{"turn:turn.example.com:3478"}, Username: "u", Credential: "p</script>"}},
	}
}

func TestRenderRoom(t *testing.T) {
	tests := []struct {
		name, accept, lang string
		wantLang, wantText string
	}{
		{name: "english by default", wantLang: "en", wantText: "Waiting for Aiko"},
		{name: "camera off in english", wantLang: "en", wantText: "Aiko &lt;script&gt;alert(1)&lt;/script&gt;&#39;s camera is off"},
		{name: "japanese from Accept-Language", accept: "ja-JP,ja;q=0.9,en;q=0.5", wantLang: "ja", wantText: "さんを待っています"},
		{name: "camera off in japanese", accept: "ja", wantLang: "ja", wantText: "さんのカメラはオフです"},
		{name: "muted in japanese", accept: "ja", wantLang: "ja", wantText: ">ミュート中<"},
		{name: "caller's choice wins", accept: "ja", lang: "en", wantLang: "en", wantText: "Leave"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "http://meet.example.com/r/abcdefghijklmnopqrst", nil)
			r.Header.Set("Accept-Language", tc.accept)
			w := httptest.NewRecorder()
			d := roomData()
			d.Lang = tc.lang
			if err := Render(w, r, d); err != nil {
				t.Fatal(err)
			}
			body := w.Body.String()
			if w.Code != 200 {
				t.Fatalf("status %d", w.Code)
			}
			if !strings.Contains(body, `<html lang="`+tc.wantLang+`">`) || !strings.Contains(body, tc.wantText) {
				t.Fatalf("page lacks lang %s or %q:\n%s", tc.wantLang, tc.wantText, body)
			}
			checkHeaders(t, w.Result().Header)
			csp := w.Header().Get("Content-Security-Policy")
			if !strings.Contains(csp, "connect-src 'self' ws://meet.example.com;") {
				t.Errorf("CSP does not allow the signaling origin: %s", csp)
			}
			// User text is escaped everywhere, including inside the
			// JSON data block.
			if strings.Contains(body, "<script>alert") || strings.Contains(body, "p</script>") {
				t.Fatalf("user text rendered as markup:\n%s", body)
			}
			// Hooks of INTERFACE.md.
			for _, hook := range []string{`data-action="join"`, `data-role="remote"`, `data-role="agenda"`} {
				if !strings.Contains(body, hook) {
					t.Errorf("missing hook %s", hook)
				}
			}
			// The other's camera-off placeholder and muted badge (README's
			// room page hooks): inside the remote tile, hidden until the
			// other says so.
			remote := regexp.MustCompile(`(?s)<div class="tile remote" data-role="remote">.*?<div class="tile self">`).FindString(body)
			for _, hook := range []string{`data-remote-camera-off`, `data-remote-muted`} {
				tag := regexp.MustCompile(`<[^>]*\b` + hook + `\b[^>]*>`).FindString(remote)
				if tag == "" || !strings.Contains(tag, " hidden") {
					t.Errorf("remote tile has no hidden %s element: %q", hook, tag)
				}
			}
			self := regexp.MustCompile(`(?s)<div class="tile self">.*?<div class="status">`).FindString(body)
			if tag := regexp.MustCompile(`<[^>]*\bdata-self-camera-off\b[^>]*>`).FindString(self); tag == "" || !strings.Contains(tag, " hidden") {
				t.Errorf("self tile has no hidden data-self-camera-off element: %q", tag)
			}
			// No inline script: every <script> is either external or a
			// JSON data block.
			for _, m := range regexp.MustCompile(`<script[^>]*>`).FindAllString(body, -1) {
				if !strings.Contains(m, `src="/r/static/`) && !strings.Contains(m, `type="application/json"`) {
					t.Errorf("inline script %s", m)
				}
			}
			if strings.Contains(body, "style=") || strings.Contains(body, "<style") {
				t.Error("inline style")
			}
			cfg := regexp.MustCompile(`(?s)<script type="application/json" id="room-config">(.*?)</script>`).FindStringSubmatch(body)
			if cfg == nil {
				t.Fatal("no room-config block")
			}
			var got roomConfig
			if err := json.Unmarshal([]byte(cfg[1]), &got); err != nil {
				t.Fatalf("room-config: %v\n%s", err, cfg[1])
			}
			if got.PeerName != d.PeerName || got.ICEServers[0].Credential != "p</script>" || got.End != "2026-12-01T01:30:00Z" || got.Lang != tc.wantLang {
				t.Fatalf("config %+v", got)
			}
		})
	}
}

func TestInitials(t *testing.T) {
	for _, tc := range []struct{ name, want string }{
		{"Aiko", "A"},
		{"Aiko Tanaka", "AT"},
		{"  ren  de  la  cruz ", "RC"},
		{"élodie martin", "ÉM"},
		{"田中 愛子", "田"},
		{"たなか", "た"},
		{"Aiko 田中", "A"},
		{"", ""},
		{"<script>", "<"},
	} {
		if got := initials(tc.name); got != tc.want {
			t.Errorf("initials(%q) = %q, want %q", tc.name, got, tc.want)
		}
	}
}

func checkHeaders(t *testing.T, h http.Header) {
	t.Helper()
	csp := h.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "script-src 'self';", "style-src 'self';", "frame-ancestors 'none'", "base-uri 'none'", "form-action 'self'", "media-src 'self' blob: mediastream:"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Referrer-Policy") != "no-referrer" {
		t.Errorf("headers %v", h)
	}
}

func TestRenderOtherPages(t *testing.T) {
	start := time.Date(2026, 12, 1, 1, 0, 0, 0, time.UTC)
	tests := []struct {
		name       string
		render     func(w http.ResponseWriter, r *http.Request) error
		status     int
		want, deny []string
	}{
		{"refused", func(w http.ResponseWriter, r *http.Request) error {
			return RenderRefused(w, r, RefusedData{ManagerName: "Aiko", ReportName: "Ren", SignedInAs: "kenji@example.com"})
		}, 403, []string{"This room is for Aiko and Ren.", "kenji@example.com"}, []string{"room.js", "RTCPeerConnection"}},
		{"refused in japanese", func(w http.ResponseWriter, r *http.Request) error {
			return RenderRefused(w, r, RefusedData{Lang: "ja", ManagerName: "Aiko", ReportName: "Ren"})
		}, 403, []string{"このルームはAikoさんとRenさんのためのものです。"}, []string{"room.js"}},
		{"chooser", func(w http.ResponseWriter, r *http.Request) error {
			return RenderChooser(w, r, ChooserData{RoomID: "abc", ManagerName: "Aiko", ReportName: "Ren", Start: start, End: start.Add(30 * time.Minute), Timezone: "Asia/Tokyo", ReportTaken: true})
		}, 200, []string{`action="/r/abc"`, "I am Aiko", `value="report" data-action="join" data-choice="report" disabled`, "Tue 1 Dec 2026 10:00–10:30 (Asia/Tokyo)"}, nil},
		{"expired link", func(w http.ResponseWriter, r *http.Request) error {
			return RenderError(w, r, 410, "", MsgLinkExpired)
		}, 410, []string{"This link has expired. Ask for a new one.", `data-error="link_expired"`}, []string{"room.js"}},
		{"unknown key", func(w http.ResponseWriter, r *http.Request) error {
			return RenderError(w, r, 400, "ja", "no<such>key")
		}, 400, []string{"このページは表示できません。"}, []string{"no<such>key"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			if err := tc.render(w, httptest.NewRequest("GET", "/r/abc", nil)); err != nil {
				t.Fatal(err)
			}
			if w.Code != tc.status {
				t.Errorf("status %d, want %d", w.Code, tc.status)
			}
			checkHeaders(t, w.Result().Header)
			body := w.Body.String()
			for _, s := range tc.want {
				if !strings.Contains(body, s) {
					t.Errorf("page lacks %q:\n%s", s, body)
				}
			}
			for _, s := range tc.deny {
				if strings.Contains(body, s) {
					t.Errorf("page contains %q", s)
				}
			}
		})
	}
}

func TestAssets(t *testing.T) {
	srv := httptest.NewServer(http.StripPrefix(AssetPrefix, Assets()))
	defer srv.Close()
	p := mustLoad()
	tests := []struct {
		path, wantType, wantCache string
		status                    int
	}{
		{"room.js?v=" + p.versions["room.js"], "text/javascript", "immutable", 200},
		{"session.js", "text/javascript", "no-cache", 200},
		{"room.css", "text/css", "no-cache", 200},
		{"../room.go", "", "", 404},
		{"nope.js", "", "", 404},
	}
	for _, tc := range tests {
		resp, err := http.Get(srv.URL + AssetPrefix + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Errorf("%s: status %d, want %d", tc.path, resp.StatusCode, tc.status)
			continue
		}
		if tc.status != 200 {
			continue
		}
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, tc.wantType) {
			t.Errorf("%s: content type %q", tc.path, ct)
		}
		if cc := resp.Header.Get("Cache-Control"); !strings.Contains(cc, tc.wantCache) {
			t.Errorf("%s: cache %q", tc.path, cc)
		}
		if resp.Header.Get("X-Content-Type-Options") != "nosniff" || resp.Header.Get("ETag") == "" {
			t.Errorf("%s: headers %v", tc.path, resp.Header)
		}
	}
}

func FuzzPickLang(f *testing.F) {
	for _, s := range []string{"", "ja", "en-US,en;q=0.9", "ja-JP;q=0.8,fr", ",,;;", "*"} {
		f.Add(s, s)
	}
	f.Fuzz(func(t *testing.T, accept, pref string) {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Accept-Language", accept)
		if l := pickLang(r, pref); l != "en" && l != "ja" {
			t.Fatalf("pickLang = %q", l)
		}
	})
}
