package daemon

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/oneonone/oneonone/config"
)

// agendaPair starts a daemon in e-mail sign-in mode with one series and
// returns browsers signed in (through their personal links) as its manager
// and report, and as a stranger of another series.
type agendaPair struct {
	d              *meetDaemon
	series, key    string
	aiko, ren, kai *http.Client
}

func startAgendaPair(t *testing.T) *agendaPair {
	t.Helper()
	d, _ := startMeetDaemon(t, func(c *config.Config) {
		c.SMTP.Host, c.SMTP.Port, c.SMTP.From = "127.0.0.1", 1, "oneonone@example.com" // e-mail mode; nothing is sent
	})
	id, key := d.createSeries(t, "aiko@example.com", "ren@example.com")
	other, _ := d.createSeries(t, "kai@example.com", "mio@example.com")
	var links, otherLinks struct{ Manager, Report string }
	d.api(t, "GET", "/api/v1/series/"+id+"/links", nil, &links)
	d.api(t, "GET", "/api/v1/series/"+other+"/links", nil, &otherLinks)
	p := &agendaPair{d: d, series: id, key: key, aiko: browser(t), ren: browser(t), kai: browser(t)}
	for _, c := range []struct {
		hc   *http.Client
		link string
	}{{p.aiko, links.Manager}, {p.ren, links.Report}, {p.kai, otherLinks.Manager}} {
		if code, body := fetch(t, c.hc, "GET", c.link, nil, nil); code != 200 {
			t.Fatalf("open personal link: %d %s", code, body)
		}
	}
	return p
}

func (p *agendaPair) call(t *testing.T, hc *http.Client, method, path, body string, hdr map[string]string) (int, map[string]any) {
	t.Helper()
	var rd *strings.Reader
	if body != "" {
		rd = strings.NewReader(body)
	} else {
		rd = strings.NewReader("")
	}
	h := map[string]string{"Content-Type": "application/json"}
	for k, v := range hdr {
		h[k] = v
	}
	code, resp := fetch(t, hc, method, p.d.url+path, rd, h)
	var out map[string]any
	if resp != "" {
		if err := json.Unmarshal([]byte(resp), &out); err != nil {
			t.Fatalf("%s %s: %d %q: %v", method, path, code, resp, err)
		}
	}
	return code, out
}

func (p *agendaPair) agendaPath() string {
	return "/api/v1/series/" + p.series + "/occurrences/" + p.key + "/agenda"
}

func itemTexts(out map[string]any) []string {
	var texts []string
	items, _ := out["items"].([]any)
	for _, it := range items {
		texts = append(texts, it.(map[string]any)["text"].(string))
	}
	return texts
}

func TestAgendaRESTWithSessions(t *testing.T) {
	p := startAgendaPair(t)
	path := p.agendaPath()

	code, topic := p.call(t, p.ren, "POST", path, `{"kind":"topic","text":"<script>alert(1)</script> migration plan","tag":"consultation"}`, nil)
	if code != 201 || topic["author_role"] != "report" || topic["tag"] != "consultation" || topic["version"].(float64) != 1 {
		t.Fatalf("add topic: %d %v", code, topic)
	}
	if code, _ := p.call(t, p.aiko, "POST", path, `{"kind":"topic","text":"team progress","tag":"progress"}`, nil); code != 201 {
		t.Fatalf("aiko add topic: %d", code)
	}
	const secret = "Ren seems tired - ask about workload"
	if code, out := p.call(t, p.aiko, "POST", path, `{"kind":"private_note","text":"`+secret+`"}`, nil); code != 201 {
		t.Fatalf("private note: %d %v", code, out)
	}
	if code, out := p.call(t, p.aiko, "POST", path, `{"kind":"action","text":"draft the migration plan","owner":"ren@example.com","due":"2026-12-08"}`, nil); code != 201 || out["owner"] != "ren@example.com" || out["due"] != "2026-12-08" {
		t.Fatalf("action: %d %v", code, out)
	}

	_, aikoView := p.call(t, p.aiko, "GET", path, "", nil)
	_, renView := p.call(t, p.ren, "GET", path, "", nil)
	if got := itemTexts(aikoView); len(got) != 4 {
		t.Fatalf("aiko sees %q", got)
	}
	renTexts := itemTexts(renView)
	if len(renTexts) != 3 || renTexts[0] != "<script>alert(1)</script> migration plan" {
		t.Fatalf("ren sees %q", renTexts)
	}

	// The admin token reads nothing, and is told why.
	for _, m := range []struct{ method, path, body string }{
		{"GET", path, ""},
		{"POST", path, `{"kind":"topic","text":"x"}`},
		{"PATCH", "/api/v1/series/" + p.series + "/agenda/items/" + topic["id"].(string), `{"done":true}`},
		{"DELETE", "/api/v1/series/" + p.series + "/agenda/items/" + topic["id"].(string), ""},
	} {
		code, resp := fetch(t, http.DefaultClient, m.method, p.d.url+m.path, strings.NewReader(m.body),
			map[string]string{"Authorization": "Bearer " + p.d.token, "Content-Type": "application/json"})
		if code != 403 || !strings.Contains(resp, "belongs to the pair") || strings.Contains(resp, secret) || strings.Contains(resp, "migration") {
			t.Fatalf("admin token %s %s: %d %s", m.method, m.path, code, resp)
		}
	}
	// No session at all: 401. A third person: 403.
	if code, _ := fetch(t, http.DefaultClient, "GET", p.d.url+path, nil, nil); code != 401 {
		t.Fatalf("anonymous: %d", code)
	}
	if code, out := p.call(t, p.kai, "GET", path, "", nil); code != 403 || out["error"].(map[string]any)["code"] != "forbidden" {
		t.Fatalf("stranger: %d %v", code, out)
	}
	if code, _ := p.call(t, p.kai, "POST", path, `{"kind":"topic","text":"hi"}`, nil); code != 403 {
		t.Fatalf("stranger add: %d", code)
	}

	// Bad input names its field.
	for _, c := range []struct{ body, field string }{
		{`{"kind":"topic","text":"x","tag":"gossip"}`, "tag"},
		{`{"kind":"poem","text":"x"}`, "kind"},
		{`{"kind":"topic","text":""}`, "text"},
		{`{"kind":"action","text":"x","owner":"kai@example.com"}`, "owner"},
		{`{"kind":"action","text":"x","due":"next week"}`, "due"},
		{`{"kind":"topic","text":"x","colour":"red"}`, "colour"},
		{`{"kind":"topic","text":"` + strings.Repeat("a", 2001) + `"}`, "text"},
	} {
		code, out := p.call(t, p.ren, "POST", path, c.body, nil)
		e, _ := out["error"].(map[string]any)
		if code != 400 || e["field"] != c.field || e["code"] != "invalid_argument" {
			t.Errorf("POST %.60s: %d %v, want 400 on %s", c.body, code, out, c.field)
		}
	}
	if code, _ := p.call(t, p.ren, "GET", "/api/v1/series/"+p.series+"/occurrences/tuesday/agenda", "", nil); code != 400 {
		t.Errorf("bad key: %d", code)
	}

	// PATCH: check off; edit with a version; a stale edit conflicts with
	// the current value; the other person's private note is not found.
	itemPath := "/api/v1/series/" + p.series + "/agenda/items/" + topic["id"].(string)
	if code, out := p.call(t, p.aiko, "PATCH", itemPath, `{"done":true}`, nil); code != 200 || out["done"] != true {
		t.Fatalf("check: %d %v", code, out)
	}
	if code, out := p.call(t, p.ren, "PATCH", itemPath, `{"text":"migration plan, v2","version":1}`, nil); code != 200 || out["text"] != "migration plan, v2" {
		t.Fatalf("edit: %d %v", code, out)
	}
	code, out := p.call(t, p.aiko, "PATCH", itemPath, `{"text":"stale","version":1}`, nil)
	if e, _ := out["error"].(map[string]any); code != 409 || e["field"] != "text" || e["current"] != "migration plan, v2" {
		t.Fatalf("stale edit: %d %v", code, out)
	}
	if code, out := p.call(t, p.ren, "PATCH", itemPath, `{"text":"no version"}`, nil); code != 400 || out["error"].(map[string]any)["field"] != "version" {
		t.Fatalf("edit without version: %d %v", code, out)
	}
	for _, it := range aikoView["items"].([]any) {
		if m := it.(map[string]any); m["kind"] == "private_note" {
			np := "/api/v1/series/" + p.series + "/agenda/items/" + m["id"].(string)
			if code, out := p.call(t, p.ren, "PATCH", np, `{"text":"x","version":1}`, nil); code != 404 || strings.Contains(toJSON(out), secret) {
				t.Fatalf("ren patches aiko's private note: %d %v", code, out)
			}
			if code, _ := p.call(t, p.ren, "DELETE", np, "", nil); code != 404 {
				t.Fatalf("ren deletes aiko's private note: %d", code)
			}
		}
	}
	if code, _ := p.call(t, p.ren, "DELETE", itemPath, "", nil); code != 204 {
		t.Fatalf("delete: %d", code)
	}
	_, renView = p.call(t, p.ren, "GET", path, "", nil)
	if s := toJSON(renView); strings.Contains(s, secret) || strings.Contains(s, "migration plan, v2") {
		t.Fatalf("after delete ren sees %s", s)
	}
	// The history and the open action items keep the private note to Aiko.
	for _, sub := range []string{"/occurrences/" + p.key + "/agenda/history", "/agenda/actions", "/agenda/occurrences"} {
		code, out := p.call(t, p.ren, "GET", "/api/v1/series/"+p.series+sub, "", nil)
		if code != 200 || strings.Contains(toJSON(out), secret) {
			t.Fatalf("ren %s: %d %v", sub, code, out)
		}
	}
	_ = time.Second
}

func toJSON(v any) string { b, _ := json.Marshal(v); return string(b) }
