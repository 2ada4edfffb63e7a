package daemon

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/oneonone/oneonone/config"
	"github.com/oneonone/oneonone/meet/signal"
	"github.com/oneonone/oneonone/store"
)

// peer is a pion participant speaking the room's signaling as the page
// does: it sends "join", answers the server's offers, trickles candidates,
// publishes Opus- and VP8-sized packets and counts what it receives.
type peer struct {
	t      *testing.T
	name   string
	conn   *signal.WSConn
	pc     *webrtc.PeerConnection
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	recv   [2]atomic.Int64 // audio, video packets received
	msgs   chan signal.Message
	closed chan struct{} // the signaling connection ended
}

func dialPeer(t *testing.T, name, wsURL string, hc *http.Client) *peer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	conn, err := signal.Dial(ctx, wsURL, signal.Options{}, &websocket.DialOptions{HTTPClient: hc})
	if err != nil {
		cancel()
		t.Fatalf("%s: dial %s: %v", name, wsURL, err)
	}
	p := &peer{t: t, name: name, conn: conn, ctx: ctx, cancel: cancel, msgs: make(chan signal.Message, 64), closed: make(chan struct{})}
	m := &webrtc.MediaEngine{}
	if err := m.RegisterDefaultCodecs(); err != nil {
		t.Fatal(err)
	}
	ir := &interceptor.Registry{}
	if err := webrtc.RegisterDefaultInterceptors(m, ir); err != nil {
		t.Fatal(err)
	}
	var se webrtc.SettingEngine
	se.SetIncludeLoopbackCandidate(true)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	api := webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(se))
	p.pc, err = api.NewPeerConnection(webrtc.Configuration{BundlePolicy: webrtc.BundlePolicyMaxBundle})
	if err != nil {
		t.Fatal(err)
	}
	audio, _ := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "audio", name)
	video, _ := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, "video", name)
	p.pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c != nil {
			j := c.ToJSON()
			p.conn.Send(signal.Message{Type: signal.TypeCandidate, Data: &signal.Candidate{Candidate: j.Candidate, SDPMid: j.SDPMid, SDPMLineIndex: j.SDPMLineIndex}})
		}
	})
	p.pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		kind := 0
		if tr.Kind() == webrtc.RTPCodecTypeVideo {
			kind = 1
		}
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			buf := make([]byte, 1500)
			for {
				if _, _, err := tr.Read(buf); err != nil {
					return
				}
				p.recv[kind].Add(1)
			}
		}()
	})
	published := false
	p.wg.Add(2)
	go func() {
		defer p.wg.Done()
		defer close(p.closed)
		for {
			msg, err := p.conn.Receive(p.ctx)
			var pe *signal.ProtocolError
			if errors.As(err, &pe) {
				continue
			}
			if err != nil {
				return
			}
			switch msg.Type {
			case signal.TypeOffer:
				if err := p.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: msg.Data.(*signal.SessionDescription).SDP}); err != nil {
					t.Errorf("%s: offer: %v", name, err)
					continue
				}
				if !published {
					published = true
					for _, tr := range []*webrtc.TrackLocalStaticRTP{audio, video} {
						if _, err := p.pc.AddTrack(tr); err != nil {
							t.Errorf("%s: add track: %v", name, err)
						}
					}
				}
				ans, err := p.pc.CreateAnswer(nil)
				if err == nil {
					err = p.pc.SetLocalDescription(ans)
				}
				if err != nil {
					t.Errorf("%s: answer: %v", name, err)
					continue
				}
				p.conn.Send(signal.Message{Type: signal.TypeAnswer, ID: msg.ID, Data: &signal.SessionDescription{SDP: p.pc.LocalDescription().SDP}})
			case signal.TypeCandidate:
				if c := msg.Data.(*signal.Candidate); c.Candidate != "" {
					p.pc.AddICECandidate(webrtc.ICECandidateInit{Candidate: c.Candidate, SDPMid: c.SDPMid, SDPMLineIndex: c.SDPMLineIndex})
				}
			default:
				select {
				case p.msgs <- msg:
				default:
				}
			}
		}
	}()
	go func() {
		defer p.wg.Done()
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		payload := make([]byte, 1000)
		var seq uint16
		var ts uint32
		for {
			select {
			case <-p.ctx.Done():
				return
			case <-tick.C:
			}
			seq++
			ts += 960
			audio.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: ts}, Payload: payload[:160]})
			video.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: ts * 2, Marker: true}, Payload: payload})
		}
	}()
	if err := conn.Send(signal.Message{Type: signal.TypeJoin}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.close)
	return p
}

func (p *peer) close() {
	p.cancel()
	p.conn.Close("")
	p.pc.Close()
	p.wg.Wait()
}

// wait returns the next message of type typ.
func (p *peer) wait(typ signal.Type, timeout time.Duration) signal.Message {
	p.t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case m := <-p.msgs:
			if m.Type == typ {
				return m
			}
		case <-deadline:
			p.t.Fatalf("%s: no %q within %v", p.name, typ, timeout)
		}
	}
}

func (p *peer) waitMedia(timeout time.Duration) {
	p.t.Helper()
	deadline := time.Now().Add(timeout)
	for p.recv[0].Load() < 10 || p.recv[1].Load() < 10 {
		if time.Now().After(deadline) {
			p.t.Fatalf("%s: received audio %d, video %d packets in %v", p.name, p.recv[0].Load(), p.recv[1].Load(), timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// browser is a person's HTTP client with their own cookies.
func browser(t *testing.T) *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, Timeout: 10 * time.Second}
}

func fetch(t *testing.T, c *http.Client, method, u string, body io.Reader, header map[string]string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

type meetDaemon struct {
	*running
	token string
}

func startMeetDaemon(t *testing.T, change func(*config.Config)) (*meetDaemon, string) {
	dir := t.TempDir()
	d := startWith(t, dir, change)
	tok, err := os.ReadFile(filepath.Join(dir, TokenFile))
	if err != nil {
		t.Fatal(err)
	}
	return &meetDaemon{running: d, token: strings.TrimSpace(string(tok))}, dir
}

func (d *meetDaemon) api(t *testing.T, method, path string, in, out any) int {
	t.Helper()
	var body io.Reader
	if in != nil {
		b, _ := json.Marshal(in)
		body = bytes.NewReader(b)
	}
	code, resp := fetch(t, http.DefaultClient, method, d.url+path, body, map[string]string{
		"Authorization": "Bearer " + d.token, "Content-Type": "application/json"})
	if out != nil && code < 300 {
		if err := json.Unmarshal([]byte(resp), out); err != nil {
			t.Fatalf("%s %s: %v: %s", method, path, err, resp)
		}
	}
	return code
}

// createSeries makes a weekly 30-minute series whose first occurrence
// started five minutes ago, so that joining now falls in its window.
func (d *meetDaemon) createSeries(t *testing.T, manager, report string) (id, key string) {
	t.Helper()
	start := time.Now().UTC().Add(-5 * time.Minute).Truncate(time.Minute)
	var out struct {
		ID string `json:"id"`
	}
	if code := d.api(t, "POST", "/api/v1/series", map[string]any{
		"manager": map[string]string{"email": manager, "name": strings.ToUpper(manager[:1]) + manager[1:strings.IndexByte(manager, '@')] + " Tanaka"},
		"report":  map[string]string{"email": report},
		"start":   start.Format("2006-01-02T15:04:05"), "timezone": "UTC", "cadence": "weekly", "duration": "30m",
		"team": "platform",
	}, &out); code != http.StatusCreated {
		t.Fatalf("create series: %d", code)
	}
	return out.ID, start.Format("20060102T150405Z")
}

// waitHeld waits until the occurrence key of series id is held.
func (d *meetDaemon) waitHeld(t *testing.T, id, key string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var occ struct {
			Occurrences []struct{ Key, Status string } `json:"occurrences"`
		}
		d.api(t, "GET", "/api/v1/series/"+id+"/occurrences?from="+time.Now().UTC().Add(-24*time.Hour).Format(time.RFC3339), nil, &occ)
		if len(occ.Occurrences) > 0 && occ.Occurrences[0].Key == key && occ.Occurrences[0].Status == "held" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("occurrence %s not held: %+v", key, occ.Occurrences)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func wsURL(httpURL, id string) string {
	return "ws" + strings.TrimPrefix(httpURL, "http") + "/r/" + id + "/ws"
}

// TestRoomThroughTheDaemon: e-mail sign-in mode (so a stranger signed in
// elsewhere is refused), personal links from the API, two pion clients
// exchanging media, attendance stored and the occurrence held, and a
// stop signal telling both participants "bye".
func TestRoomThroughTheDaemon(t *testing.T) {
	d, dir := startMeetDaemon(t, func(c *config.Config) {
		c.SMTP.Host, c.SMTP.Port, c.SMTP.From = "127.0.0.1", 1, "oneonone@example.com" // e-mail mode; nothing is sent
		c.Attendance.MinHeld = time.Second
	})
	room, key := d.createSeries(t, "aiko@example.com", "ren@example.com")
	other, _ := d.createSeries(t, "kai@example.com", "mio@example.com")

	var links, otherLinks struct{ Manager, Report string }
	if code := d.api(t, "GET", "/api/v1/series/"+room+"/links", nil, &links); code != 200 {
		t.Fatalf("links: %d", code)
	}
	d.api(t, "GET", "/api/v1/series/"+other+"/links", nil, &otherLinks)
	if !strings.HasPrefix(links.Manager, d.url+"/r/"+room+"?") || links.Manager == links.Report {
		t.Fatalf("links = %+v", links)
	}
	if code := d.api(t, "GET", "/api/v1/series/nope/links", nil, nil); code != 404 {
		t.Errorf("links of an unknown series: %d", code)
	}

	// Nobody signed in: the room asks to sign in, and its socket refuses.
	anon := browser(t)
	anon.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	if code, _ := fetch(t, anon, "GET", d.url+"/r/"+room, nil, nil); code != http.StatusSeeOther && code != http.StatusFound {
		t.Errorf("anonymous room page: %d, want a redirect to sign-in", code)
	}
	if _, resp, err := websocket.Dial(context.Background(), wsURL(d.url, room), nil); err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("anonymous websocket: %v %v", resp, err)
	}

	// A tampered link is refused and signs nobody in.
	tampered := browser(t)
	bad := links.Report[:len(links.Report)-2] + "xx"
	if code, _ := fetch(t, tampered, "GET", bad, nil, nil); code != http.StatusForbidden {
		t.Errorf("tampered link: %d, want 403", code)
	}
	if u, _ := url.Parse(d.url); len(tampered.Jar.Cookies(u)) != 0 {
		t.Errorf("a tampered link set cookies")
	}

	// Kai, signed in through his own link, is refused here with only
	// the pair's first names.
	kai := browser(t)
	fetch(t, kai, "GET", otherLinks.Manager, nil, nil)
	code, page := fetch(t, kai, "GET", d.url+"/r/"+room, nil, nil)
	if code != http.StatusForbidden || !strings.Contains(page, "Aiko") || strings.Contains(page, "aiko@example.com") || strings.Contains(page, "Tanaka") {
		t.Errorf("stranger: %d\n%s", code, page)
	}
	if _, resp, err := websocket.Dial(context.Background(), wsURL(d.url, room), &websocket.DialOptions{HTTPClient: kai}); err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("stranger's websocket: %v %v", resp, err)
	}

	aiko, ren := browser(t), browser(t)
	for name, c := range map[string]*http.Client{links.Manager: aiko, links.Report: ren} {
		code, page := fetch(t, c, "GET", name, nil, nil)
		if code != 200 || !strings.Contains(page, `data-role="remote"`) {
			t.Fatalf("room page through a personal link: %d\n%s", code, page)
		}
	}
	pa := dialPeer(t, "aiko", wsURL(d.url, room), aiko)
	if j := pa.wait(signal.TypeJoined, 10*time.Second).Data.(*signal.Joined); j.Role != "manager" {
		t.Errorf("aiko joined as %q", j.Role)
	}
	pr := dialPeer(t, "ren", wsURL(d.url, room), ren)
	if j := pr.wait(signal.TypeJoined, 10*time.Second).Data.(*signal.Joined); j.Role != "report" || j.Peer != "manager" {
		t.Errorf("ren joined as %+v", j)
	}
	pa.waitMedia(15 * time.Second)
	pr.waitMedia(15 * time.Second)

	// Gauges while both are in.
	_, metricsText := fetch(t, http.DefaultClient, "GET", d.url+"/metrics", nil, nil)
	for _, want := range []string{"oneonone_rooms_active 1", "oneonone_room_participants 2"} {
		if !strings.Contains(metricsText, want) {
			t.Errorf("metrics lack %q", want)
		}
	}

	// Together for more than attendance.min_held inside the window: held.
	d.waitHeld(t, room, key)
	var att struct {
		Attendance []struct {
			Occurrence, Email, Role, Joined string
			Left                            *string
		} `json:"attendance"`
	}
	if code := d.api(t, "GET", "/api/v1/series/"+room+"/attendance", nil, &att); code != 200 || len(att.Attendance) != 2 {
		t.Fatalf("attendance: %d %+v", code, att)
	}
	for i, who := range []string{"aiko@example.com", "ren@example.com"} {
		if a := att.Attendance[i]; a.Email != who || a.Occurrence != key || a.Left != nil || a.Joined == "" {
			t.Errorf("attendance[%d] = %+v", i, a)
		}
	}

	// A stop signal: both hear "bye" before the daemon is gone.
	stopped := make(chan error, 1)
	go func() { stopped <- d.stop() }()
	for _, p := range []*peer{pa, pr} {
		if b := p.wait(signal.TypeBye, 10*time.Second).Data.(*signal.Bye); b.Reason == "" {
			t.Errorf("%s: bye without a reason", p.name)
		}
	}
	if err := <-stopped; err != nil {
		t.Fatalf("stop: %v", err)
	}
	// Their leaving was stored before the store closed.
	st, err := store.Open(context.Background(), "sqlite:"+filepath.Join(dir, "oneonone.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	rows, err := st.ListAttendance(context.Background(), room, time.Time{}, time.Time{})
	if err != nil || len(rows) != 2 {
		t.Fatalf("stored attendance: %+v %v", rows, err)
	}
	for _, r := range rows {
		if r.Left.IsZero() || r.Left.Sub(r.Joined) < time.Second {
			t.Errorf("stay %+v: left not stored", r)
		}
	}
}

// TestRoomCapabilityMode: with neither OIDC nor e-mail, the room URL
// shows a chooser; each place admits one chooser session at a time.
func TestRoomCapabilityMode(t *testing.T) {
	d, _ := startMeetDaemon(t, func(c *config.Config) { c.Attendance.MinHeld = time.Second })
	room, key := d.createSeries(t, "aiko@example.com", "ren@example.com")

	first, second := browser(t), browser(t)
	code, page := fetch(t, first, "GET", d.url+"/r/"+room, nil, nil)
	if code != 200 || !strings.Contains(page, "/r/"+room+"/as") {
		t.Fatalf("chooser: %d\n%s", code, page)
	}
	// Without a choice the socket is refused.
	if _, resp, err := websocket.Dial(context.Background(), wsURL(d.url, room), &websocket.DialOptions{HTTPClient: first}); err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("websocket before choosing: %v %v", resp, err)
	}
	choose := func(c *http.Client, role string) int {
		code, _ := fetch(t, c, "POST", d.url+"/r/"+room+"/as", strings.NewReader("role="+role),
			map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
		return code
	}
	// A cross-site form post is refused.
	if code, _ := fetch(t, second, "POST", d.url+"/r/"+room+"/as", strings.NewReader("role=manager"), map[string]string{
		"Content-Type": "application/x-www-form-urlencoded", "Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}); code != http.StatusForbidden {
		t.Errorf("cross-site choice: %d, want 403", code)
	}
	// Both pick the manager's place while it is free.
	if code := choose(first, "manager"); code != 200 {
		t.Fatalf("first choice: %d", code)
	}
	if code := choose(second, "manager"); code != 200 {
		t.Fatalf("second choice: %d", code)
	}
	p1 := dialPeer(t, "first", wsURL(d.url, room), first)
	p1.wait(signal.TypeJoined, 10*time.Second)

	// The place is now taken: the chooser says so, and another session
	// is refused with a reason, while the first stays.
	if code := choose(browser(t), "manager"); code != http.StatusConflict {
		t.Errorf("choosing a taken place: %d, want 409", code)
	}
	p2 := dialPeer(t, "second", wsURL(d.url, room), second)
	if b := p2.wait(signal.TypeBye, 10*time.Second).Data.(*signal.Bye); b.Reason != "taken" {
		t.Errorf("second connection: bye %q, want taken", b.Reason)
	}
	select {
	case <-p1.closed:
		t.Fatal("the first connection was dropped")
	case <-time.After(300 * time.Millisecond):
	}

	// The other place is free for the second browser.
	if code := choose(second, "report"); code != 200 {
		t.Fatalf("choose report: %d", code)
	}
	p3 := dialPeer(t, "report", wsURL(d.url, room), second)
	if j := p3.wait(signal.TypeJoined, 10*time.Second).Data.(*signal.Joined); j.Role != "report" {
		t.Errorf("joined as %q", j.Role)
	}
	p1.waitMedia(15 * time.Second)
	p3.waitMedia(15 * time.Second)

	// Held, then the report leaves: the meeting's length is observed.
	d.waitHeld(t, room, key)
	p3.close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, text := fetch(t, http.DefaultClient, "GET", d.url+"/metrics", nil, nil)
		if strings.Contains(text, "oneonone_room_participants 1") && meetingsObserved(text) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("meeting not observed:\n%s", text)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// meetingsObserved sums oneonone_meeting_duration_seconds_count.
func meetingsObserved(text string) int {
	n := 0
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(line, "oneonone_meeting_duration_seconds_count") {
			if f := strings.Fields(line); len(f) == 2 {
				v, _ := strconv.Atoi(f[1])
				n += v
			}
		}
	}
	return n
}

// TestMediaPortInUse: a taken media port stops the daemon with an error
// naming its configuration key.
func TestMediaPortInUse(t *testing.T) {
	busy, err := net.ListenPacket("udp", ":0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.Media.UDPPort, cfg.Media.TCPPort = busy.LocalAddr().(*net.UDPAddr).Port, 0
	err = RunOptions(context.Background(), cfg, nil, Options{Listener: ln, Stdout: &bytes.Buffer{}})
	if err == nil || !strings.Contains(err.Error(), "media.udp_port") {
		t.Fatalf("err = %v, want one naming media.udp_port", err)
	}
}
