package meet_test

import (
	"context"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/oneonone/oneonone/config"
	"github.com/oneonone/oneonone/internal/daemontest"
	"github.com/oneonone/oneonone/meet/signal"
)

// participant is a signaling client of a real daemon's room; it never
// answers offers, which is enough for what these tests look at.
type participant struct {
	t      *testing.T
	name   string
	client *http.Client // with the capability cookie
	url    string
	conn   *signal.WSConn
}

// enter takes role in the room of series id (the daemon runs in
// capability mode, so the choice is the way in) and joins.
func enter(t *testing.T, d *daemontest.Server, name, id, role string) *participant {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	resp, err := client.PostForm(d.URL+"/r/"+id+"/as", url.Values{"role": {role}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s: choosing %s: %s", name, role, resp.Status)
	}
	p := &participant{t: t, name: name, client: client, url: "ws" + strings.TrimPrefix(d.URL, "http") + "/r/" + id + "/ws"}
	p.dial()
	return p
}

// dial opens a new connection and joins, as a reload of the page does.
func (p *participant) dial() {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := signal.Dial(ctx, p.url, signal.Options{}, &websocket.DialOptions{HTTPClient: p.client})
	if err != nil {
		p.t.Fatal(err)
	}
	p.t.Cleanup(func() { conn.Close("test over") })
	p.conn = conn
	p.send(signal.Message{Type: signal.TypeJoin})
}

func (p *participant) send(m signal.Message) {
	p.t.Helper()
	if err := p.conn.Send(m); err != nil {
		p.t.Fatalf("%s: send %s: %v", p.name, m.Type, err)
	}
}

// until reads messages until one of type t and returns the media states
// that came before it.
func (p *participant) until(t signal.Type) (signal.Message, []signal.MediaState) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var states []signal.MediaState
	for {
		m, err := p.conn.Receive(ctx)
		if err != nil {
			p.t.Fatalf("%s: waiting for %s: %v", p.name, t, err)
		}
		if m.Type == t {
			return m, states
		}
		if st, ok := m.Data.(*signal.MediaState); ok {
			states = append(states, *st)
		}
	}
}

// pending returns the media states queued for p: a second "join" is
// refused, and the refusal comes after everything sent to p before it.
func (p *participant) pending() []signal.MediaState {
	p.t.Helper()
	p.send(signal.Message{Type: signal.TypeJoin, ID: "probe"})
	for {
		m, states := p.until(signal.TypeError)
		if m.ID == "probe" {
			return states
		}
	}
}

func newPair(t *testing.T, d *daemontest.Server, manager, report string) string {
	t.Helper()
	var se struct {
		ID string `json:"id"`
	}
	d.API("POST", "/api/v1/series", map[string]any{
		"manager": map[string]string{"email": strings.ToLower(manager) + "@example.com", "name": manager},
		"report":  map[string]string{"email": strings.ToLower(report) + "@example.com", "name": report},
		"start":   time.Now().Add(-5 * time.Minute).UTC().Format("2006-01-02T15:04:05"), "timezone": "UTC",
		"cadence": "weekly", "duration": "30m",
	}, &se)
	return se.ID
}

// Through the real daemon: Aiko's camera and microphone state reaches Ren
// (when he joins, and on every change), never Aiko herself nor Kenji in
// another room, and leaving resets it.
func TestMediaStateThroughTheRoom(t *testing.T) {
	d := daemontest.Start(t, func(c *config.Config) { c.SMTP = config.SMTPConfig{} }) // capability mode
	room, otherRoom := newPair(t, d, "Aiko", "Ren"), newPair(t, d, "Kenji", "Mai")

	aiko := enter(t, d, "aiko", room, "manager")
	aiko.until(signal.TypeJoined)
	kenji := enter(t, d, "kenji", otherRoom, "manager")
	kenji.until(signal.TypeJoined)
	aiko.send(signal.Message{Type: signal.TypeMediaState, Data: &signal.MediaState{Camera: false, Microphone: true}})
	if got := aiko.pending(); len(got) != 0 { // the probe also orders: her state is stored
		t.Fatalf("aiko got her own state back: %+v", got)
	}

	// Ren joins after Aiko turned her camera off: he learns it at once.
	ren := enter(t, d, "ren", room, "report")
	m, _ := ren.until(signal.TypeJoined)
	if j := m.Data.(*signal.Joined); j.Peer != "manager" {
		t.Fatalf("ren joined %+v, want aiko present", j)
	}
	want := signal.MediaState{Role: "manager", Camera: false, Microphone: true}
	if got := ren.pending(); len(got) != 1 || got[0] != want {
		t.Fatalf("ren learned %+v on joining, want %+v", got, want)
	}

	// Ren says his; Aiko mutes and turns the camera back on.
	ren.send(signal.Message{Type: signal.TypeMediaState, Data: &signal.MediaState{Role: "manager", Camera: true, Microphone: true}})
	aiko.send(signal.Message{Type: signal.TypeMediaState, Data: &signal.MediaState{Camera: true, Microphone: false}})
	want = signal.MediaState{Role: "manager", Camera: true, Microphone: false}
	if m, _ := ren.until(signal.TypeMediaState); *m.Data.(*signal.MediaState) != want {
		t.Fatalf("ren got %+v after aiko's change, want %+v", m.Data, want)
	}
	if got := ren.pending(); len(got) != 0 {
		t.Fatalf("ren got more: %+v", got)
	}
	if got := aiko.pending(); len(got) != 1 || got[0] != (signal.MediaState{Role: "report", Camera: true, Microphone: true}) {
		t.Fatalf("aiko got %+v, want ren's state with his real role", got)
	}
	if got := kenji.pending(); len(got) != 0 {
		t.Fatalf("kenji, in another room, got %+v", got)
	}

	// Aiko leaves, and her state with her: she comes back (the same
	// choice) on a page that has said nothing yet, and Ren, reloading,
	// learns nothing stale.
	aiko.send(signal.Message{Type: signal.TypeBye, Data: &signal.Bye{Reason: "leaving"}})
	ren.until(signal.TypePeerLeft)
	aiko.dial()
	aiko.until(signal.TypeJoined)
	ren.until(signal.TypePeerJoined)
	ren.dial()
	if m, _ := ren.until(signal.TypeJoined); m.Data.(*signal.Joined).Peer != "manager" {
		t.Fatalf("ren reloaded: %+v, want aiko present", m.Data)
	}
	if got := ren.pending(); len(got) != 0 {
		t.Fatalf("after aiko left and came back, ren learned %+v", got)
	}
}
