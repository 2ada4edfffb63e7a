package daemon

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/pion/ice/v4"
	"github.com/pion/webrtc/v4"

	"github.com/oneonone/oneonone/agenda"
	"github.com/oneonone/oneonone/agenda/httpapi"
	"github.com/oneonone/oneonone/config"
	"github.com/oneonone/oneonone/meet/signal"
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

// agendaClient is a WebSocket client of the agenda (the agenda page's
// socket or the room's) that keeps every frame it receives, raw, so that
// a test can assert what never reached it.
type agendaClient struct {
	t      *testing.T
	name   string
	ws     *websocket.Conn
	codec  *signal.Codec
	msgs   chan signal.Message
	answer chan signal.Message // agenda.result and agenda.error
	mu     sync.Mutex
	frames []string
	pc     *webrtc.PeerConnection // room clients answer the server's offers
	done   chan struct{}
}

func agendaCodec(t *testing.T) *signal.Codec {
	c := signal.NewCodec()
	if err := httpapi.RegisterCodec(c); err != nil {
		t.Fatal(err)
	}
	return c
}

func dialAgenda(t *testing.T, name, u string, hc *http.Client, room bool) *agendaClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, u, &websocket.DialOptions{HTTPClient: hc})
	if err != nil {
		t.Fatalf("%s: dial %s: %v", name, u, err)
	}
	ws.SetReadLimit(1 << 20)
	c := &agendaClient{t: t, name: name, ws: ws, codec: agendaCodec(t), msgs: make(chan signal.Message, 1024), answer: make(chan signal.Message, 64), done: make(chan struct{})}
	if room {
		var se webrtc.SettingEngine
		se.SetIncludeLoopbackCandidate(true)
		se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
		se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
		m := &webrtc.MediaEngine{}
		m.RegisterDefaultCodecs()
		c.pc, err = webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithSettingEngine(se)).NewPeerConnection(webrtc.Configuration{})
		if err != nil {
			t.Fatal(err)
		}
		c.pc.OnICECandidate(func(ic *webrtc.ICECandidate) {
			if ic != nil {
				j := ic.ToJSON()
				c.send(signal.Message{Type: signal.TypeCandidate, Data: &signal.Candidate{Candidate: j.Candidate, SDPMid: j.SDPMid, SDPMLineIndex: j.SDPMLineIndex}})
			}
		})
	}
	go c.read()
	if room {
		c.send(signal.Message{Type: signal.TypeJoin})
	}
	t.Cleanup(c.close)
	return c
}

func (c *agendaClient) read() {
	defer close(c.done)
	for {
		_, b, err := c.ws.Read(context.Background())
		if err != nil {
			return
		}
		c.mu.Lock()
		c.frames = append(c.frames, string(b))
		c.mu.Unlock()
		m, err := c.codec.Decode(b)
		if err != nil {
			c.t.Errorf("%s: decode %s: %v", c.name, b, err)
			continue
		}
		switch m.Type {
		case signal.TypeOffer:
			sd := m.Data.(*signal.SessionDescription)
			if err := c.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: sd.SDP}); err != nil {
				c.t.Errorf("%s: offer: %v", c.name, err)
				continue
			}
			ans, err := c.pc.CreateAnswer(nil)
			if err == nil {
				err = c.pc.SetLocalDescription(ans)
			}
			if err != nil {
				c.t.Errorf("%s: answer: %v", c.name, err)
				continue
			}
			c.send(signal.Message{Type: signal.TypeAnswer, ID: m.ID, Data: &signal.SessionDescription{SDP: c.pc.LocalDescription().SDP}})
		case signal.TypeCandidate:
			if cd := m.Data.(*signal.Candidate); cd.Candidate != "" {
				c.pc.AddICECandidate(webrtc.ICECandidateInit{Candidate: cd.Candidate, SDPMid: cd.SDPMid, SDPMLineIndex: cd.SDPMLineIndex})
			}
		case agenda.MsgResult, httpapi.MsgError:
			c.answer <- m
		default:
			c.msgs <- m
		}
	}
}

func (c *agendaClient) send(m signal.Message) {
	b, err := signal.Encode(m)
	if err != nil {
		c.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.ws.Write(ctx, websocket.MessageText, b); err != nil {
		c.t.Errorf("%s: write: %v", c.name, err)
	}
}

func (c *agendaClient) close() {
	c.ws.CloseNow()
	<-c.done
	if c.pc != nil {
		c.pc.Close()
	}
}

func (c *agendaClient) allFrames() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return strings.Join(c.frames, "\n")
}

// wait returns the next message of type typ whose data satisfies ok.
func (c *agendaClient) wait(typ string, ok func(any) bool) signal.Message {
	c.t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case m := <-c.msgs:
			if string(m.Type) == typ && (ok == nil || ok(m.Data)) {
				return m
			}
		case <-deadline:
			c.t.Fatalf("%s: no %s within 10s", c.name, typ)
		}
	}
}

// op sends an operation and returns its answer (result or error).
func (c *agendaClient) op(id string, w agenda.WireOp) signal.Message {
	c.t.Helper()
	c.send(signal.Message{Type: agenda.MsgOp, ID: id, Data: &w})
	deadline := time.After(10 * time.Second)
	for {
		select {
		case m := <-c.answer:
			if m.ID == id {
				return m
			}
		case <-deadline:
			c.t.Fatalf("%s: no answer to op %s", c.name, id)
		}
	}
}

// state follows an agenda from a snapshot and events, as a page does.
type agendaState struct {
	items map[string]agenda.Item
	seq   int64
}

func (s *agendaState) apply(m signal.Message) {
	switch d := m.Data.(type) {
	case *agenda.Agenda:
		s.items = map[string]agenda.Item{}
		for _, it := range d.Items {
			s.items[it.ID] = it
		}
		s.seq = d.Seq
	case *agenda.Event:
		if d.Seq <= s.seq {
			return
		}
		s.seq = d.Seq
		if d.Item.Deleted {
			delete(s.items, d.Item.ID)
		} else {
			s.items[d.Item.ID] = d.Item
		}
	}
}

// drainUntil applies messages to s until it reaches seq.
func (c *agendaClient) drainUntil(s *agendaState, seq int64) {
	c.t.Helper()
	deadline := time.After(10 * time.Second)
	for s.seq < seq {
		select {
		case m := <-c.msgs:
			s.apply(m)
		case <-deadline:
			c.t.Fatalf("%s: at seq %d, want %d", c.name, s.seq, seq)
		}
	}
}

func pageWS(p *agendaPair) string {
	return "ws" + strings.TrimPrefix(p.d.url, "http") + "/agenda/ws?series=" + p.series + "&key=" + p.key
}

func TestAgendaLiveUpdates(t *testing.T) {
	p := startAgendaPair(t)
	for _, mode := range []string{"page", "room"} {
		t.Run(mode, func(t *testing.T) {
			var a, r *agendaClient
			var sa, sr agendaState
			if mode == "page" {
				a = dialAgenda(t, "aiko", pageWS(p), p.aiko, false)
				r = dialAgenda(t, "ren", pageWS(p), p.ren, false)
				sa.apply(a.wait(agenda.MsgSnapshot, nil))
				sr.apply(r.wait(agenda.MsgSnapshot, nil))
			} else {
				a = dialAgenda(t, "aiko", wsURL(p.d.url, p.series), p.aiko, true)
				r = dialAgenda(t, "ren", wsURL(p.d.url, p.series), p.ren, true)
				a.wait(string(signal.TypeJoined), nil)
				r.wait(string(signal.TypeJoined), nil)
				for _, c := range []*agendaClient{a, r} {
					c.send(signal.Message{Type: agenda.MsgSync, ID: "s1", Data: &agenda.Sync{}})
				}
				sa.apply(a.wait(agenda.MsgSnapshot, nil))
				sr.apply(r.wait(agenda.MsgSnapshot, nil))
			}
			// A page socket watching alongside, to check what it receives.
			watcher := dialAgenda(t, "ren-page", pageWS(p), p.ren, false)
			watcher.wait(agenda.MsgSnapshot, nil)

			add := func(c *agendaClient, id, text string) agenda.Item {
				m := c.op(mode+id, agenda.WireOp{ID: mode + id, Kind: agenda.OpAdd, Item: mode + id, Add: &agenda.WireNew{Kind: agenda.KindTopic, Text: text}})
				res, ok := m.Data.(*agenda.Result)
				if !ok || res.Status != agenda.StatusApplied {
					t.Fatalf("add %s: %+v", id, m.Data)
				}
				return *res.Item
			}
			x := add(a, "x", "aiko's point")
			y := add(r, "y", "ren's point")
			const secret = "private: consider Ren for the lead role"
			pm := a.op(mode+"p", agenda.WireOp{ID: mode + "p", Kind: agenda.OpAdd, Add: &agenda.WireNew{Kind: agenda.KindPrivateNote, Text: secret}})
			if res, ok := pm.Data.(*agenda.Result); !ok || res.Status != agenda.StatusApplied {
				t.Fatalf("private note: %+v", pm.Data)
			}

			// Concurrent edits: different items both apply; the same field
			// from the same base: one wins, the other is told the current
			// value.
			var wg sync.WaitGroup
			var ma, mr signal.Message
			wg.Add(2)
			go func() { defer wg.Done(); ma = a.op(mode+"e1", edit(mode+"e1", y.ID, "aiko edits ren's", 1)) }()
			go func() { defer wg.Done(); mr = r.op(mode+"e2", edit(mode+"e2", x.ID, "ren edits aiko's", 1)) }()
			wg.Wait()
			for _, m := range []signal.Message{ma, mr} {
				if res := m.Data.(*agenda.Result); res.Status != agenda.StatusApplied {
					t.Fatalf("edits of different items: %+v", res)
				}
			}
			wg.Add(2)
			go func() { defer wg.Done(); ma = a.op(mode+"f1", edit(mode+"f1", x.ID, "aiko's version", 2)) }()
			go func() { defer wg.Done(); mr = r.op(mode+"f2", edit(mode+"f2", x.ID, "ren's version", 2)) }()
			wg.Wait()
			ra, rr := ma.Data.(*agenda.Result), mr.Data.(*agenda.Result)
			winner, loser := ra, rr
			if ra.Status == agenda.StatusConflict {
				winner, loser = rr, ra
			}
			if winner.Status != agenda.StatusApplied || loser.Status != agenda.StatusConflict ||
				loser.Conflict.Field != "text" || loser.Conflict.Current != winner.Item.Text {
				t.Fatalf("same field: %+v / %+v", ra, rr)
			}
			// Both converge (the private note aside).
			a.drainUntil(&sa, winner.Seq)
			r.drainUntil(&sr, winner.Seq)
			for id, it := range sa.items {
				if it.Kind == agenda.KindPrivateNote {
					delete(sa.items, id)
				}
			}
			if toJSON(sa.items) != toJSON(sr.items) || sa.items[x.ID].Text != winner.Item.Text {
				t.Fatalf("diverged:\naiko %s\nren  %s", toJSON(sa.items), toJSON(sr.items))
			}
			// Typing reaches the other person only.
			a.send(signal.Message{Type: agenda.MsgTyping, Data: &agenda.Typing{Item: x.ID}})
			tm := r.wait(agenda.MsgTyping, nil)
			if ty := tm.Data.(*agenda.Typing); ty.Item != x.ID || ty.Role != agenda.RoleManager {
				t.Fatalf("typing: %+v", ty)
			}
			time.Sleep(200 * time.Millisecond)
			for _, c := range []*agendaClient{r, watcher} {
				if s := c.allFrames(); strings.Contains(s, secret) || strings.Contains(s, "consider Ren") {
					t.Fatalf("%s received the private note: %s", c.name, s)
				}
			}
			if !strings.Contains(a.allFrames(), secret) {
				t.Fatalf("aiko never saw her own private note")
			}
			// A replayed op answers the same, without a new change.
			again := r.op(mode+"y", agenda.WireOp{ID: mode + "y", Kind: agenda.OpAdd, Item: mode + "y", Add: &agenda.WireNew{Kind: agenda.KindTopic, Text: "ren's point"}})
			if res := again.Data.(*agenda.Result); !res.Replayed || res.Item.ID != y.ID {
				t.Fatalf("replay: %+v", res)
			}
			// A bad op is refused naming its field.
			bad := r.op(mode+"bad", agenda.WireOp{ID: mode + "bad", Kind: agenda.OpAdd, Add: &agenda.WireNew{Kind: agenda.KindTopic, Text: "x", Tag: "gossip"}})
			if e, ok := bad.Data.(*httpapi.OpError); !ok || e.Field != "add.tag" {
				t.Fatalf("bad op: %+v", bad.Data)
			}
		})
	}
	// The room's socket of a stranger never opens, nor the page's.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, resp, err := websocket.Dial(ctx, pageWS(p), &websocket.DialOptions{HTTPClient: p.kai}); err == nil || resp == nil || resp.StatusCode != 403 {
		t.Fatalf("stranger's agenda socket: %v %v", err, resp)
	}
}

func edit(id, item, text string, base int64) agenda.WireOp {
	return agenda.WireOp{ID: id, Kind: agenda.OpEdit, Item: item, Field: agenda.FieldText, Value: text, BaseVersion: base}
}

func TestAgendaPages(t *testing.T) {
	p := startAgendaPair(t)
	path := p.agendaPath()
	const evil = `<script>alert("x")</script><img src=x onerror=alert(1)>`
	if code, _ := p.call(t, p.ren, "POST", path, toJSON(map[string]string{"kind": "topic", "text": evil, "tag": "career"}), nil); code != 201 {
		t.Fatalf("add: %d", code)
	}
	const secret = "only for aiko's eyes"
	p.call(t, p.aiko, "POST", path, toJSON(map[string]string{"kind": "private_note", "text": secret}), nil)
	p.call(t, p.aiko, "POST", path, toJSON(map[string]string{"kind": "action", "text": "book the training", "owner": "ren@example.com"}), nil)

	req, _ := http.NewRequest("GET", p.d.url+"/home", nil)
	req.Header.Set("Accept-Language", "ja")
	resp, err := p.ren.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body := readAll(t, resp)
	csp := resp.Header.Get("Content-Security-Policy")
	if resp.StatusCode != 200 || !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") {
		t.Fatalf("home: %d csp %q", resp.StatusCode, csp)
	}
	for _, want := range []string{"わたしの1on1", "アクションプラン", "book the training", "&lt;script&gt;", "キャリア"} {
		if !strings.Contains(body, want) {
			t.Errorf("home lacks %q", want)
		}
	}
	if strings.Contains(body, evil) || strings.Contains(body, secret) {
		t.Fatalf("home leaks raw text or aiko's private note:\n%s", body)
	}
	code, page := fetch(t, p.ren, "GET", p.d.url+"/home/series/"+p.series+"/occurrences/"+p.key, nil, nil)
	if code != 200 || !strings.Contains(page, `id="agenda-config"`) || strings.Contains(page, "<script>alert") || strings.Contains(page, secret) {
		t.Fatalf("agenda page: %d\n%s", code, page)
	}
	if code, _ := fetch(t, p.kai, "GET", p.d.url+"/home/series/"+p.series+"/occurrences/"+p.key, nil, nil); code != 403 {
		t.Fatalf("stranger's agenda page: %d", code)
	}
	if code, js := fetch(t, http.DefaultClient, "GET", p.d.url+"/home/static/agenda.js", nil, nil); code != 200 || !strings.Contains(js, "export async function attachToRoom") || strings.Contains(js, "innerHTML") {
		t.Fatalf("agenda.js: %d", code)
	}
	// Unsigned in e-mail mode: off to sign in.
	nc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	if code, _ := fetch(t, nc, "GET", p.d.url+"/home", nil, nil); code != http.StatusSeeOther {
		t.Fatalf("anonymous home: %d", code)
	}
}

func TestAgendaHomeInCapabilityMode(t *testing.T) {
	d, _ := startMeetDaemon(t, func(*config.Config) {})
	id, key := d.createSeries(t, "aiko@example.com", "ren@example.com")
	code, body := fetch(t, http.DefaultClient, "GET", d.url+"/home", nil, nil)
	if code != 401 || !strings.Contains(body, "personal link") {
		t.Fatalf("capability home: %d %s", code, body)
	}
	var links struct{ Manager string }
	d.api(t, "GET", "/api/v1/series/"+id+"/links", nil, &links)
	b := browser(t)
	fetch(t, b, "GET", links.Manager, nil, nil)
	path := "/api/v1/series/" + id + "/occurrences/" + key + "/agenda"
	code, resp := fetch(t, b, "POST", d.url+path, strings.NewReader(`{"kind":"private_note","text":"x"}`), map[string]string{"Content-Type": "application/json"})
	if code != 400 || !strings.Contains(resp, `"field":"kind"`) {
		t.Fatalf("private note in capability mode: %d %s", code, resp)
	}
	if code, _ := fetch(t, b, "GET", d.url+"/home", nil, nil); code != 200 {
		t.Fatalf("home after a personal link: %d", code)
	}
}

func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	var sb strings.Builder
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		sb.Write(buf[:n])
		if err != nil {
			return sb.String()
		}
	}
}
