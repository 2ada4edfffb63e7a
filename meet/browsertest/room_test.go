package browsertest

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/oneonone/oneonone/internal/testutil"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/oneonone/oneonone/config"
	"github.com/oneonone/oneonone/identity"
	"github.com/oneonone/oneonone/internal/chromium"
	"github.com/oneonone/oneonone/meet/joinlink"
)

// browser is one Chromium process with the probe installed.
type browser struct {
	t    *testing.T
	name string
	ctx  context.Context
}

func newBrowser(t *testing.T, name string, o chromium.Options) *browser {
	t.Helper()
	ctx := chromium.Start(t, o)
	if err := installProbe(ctx); err != nil {
		t.Fatal(err)
	}
	logConsole(ctx, name, t.Logf)
	return &browser{t: t, name: name, ctx: ctx}
}

func (b *browser) do(steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.t.Fatalf("%s: %v", b.name, err)
	}
}

func eval[T any](b *browser, js string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("%s: evaluate %s: %v", b.name, js, err)
	}
	return v
}

// poll evaluates js until it is true or timeout passes. Errors count as
// false: the page may be between two documents (a form post, a redirect).
func (b *browser) poll(js string, timeout time.Duration) bool {
	b.t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(b.ctx, 2*time.Second)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](js, chromedp.EvalAwaitPromise))
		cancel()
		if err == nil && ok {
			return true
		}
		time.Sleep(50 * time.Millisecond)
	}
	return false
}

// enter opens url and clicks the pre-join screen's join button.
func (b *browser) enter(url string) {
	b.t.Helper()
	b.do(chromedp.Navigate(url), chromedp.WaitEnabled(chromedp.CSS(`[data-action="join"]`)), chromedp.Click(`[data-action="join"]`))
}

func (b *browser) media(from mediaStats) mediaStats {
	b.t.Helper()
	st, err := waitMedia(b.ctx, from, 15*time.Second)
	if err != nil {
		b.t.Fatalf("%s: %v", b.name, err)
	}
	return st
}

// remoteColours counts the distinct colours of a screenshot of the remote
// video element; a black or blank tile has a handful.
func (b *browser) remoteColours() int {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.Screenshot(chromedp.CSS(`[data-role="remote"] video`)))
	if err != nil {
		b.t.Fatalf("%s: screenshot: %v", b.name, err)
	}
	n, err := distinctColours(png, 1000)
	if err != nil {
		b.t.Fatal(err)
	}
	return n
}

// roomURL strips the personal link's token: after the link has signed the
// browser in, the room URL alone opens the room.
func roomURL(t *testing.T, link string, query string) string {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	u.RawQuery = query
	return u.String()
}

func TestPairSeesAndHearsEachOther(t *testing.T) {
	srv := startDaemon(t, nil)
	p := srv.createPair("Aiko", "Ren")
	aiko := newBrowser(t, "aiko", chromium.Options{})
	ren := newBrowser(t, "ren", chromium.Options{})
	aiko.enter(p.Manager)
	if got := eval[bool](aiko, `!document.querySelector('[data-role="waiting"]').hidden`); !got {
		t.Error("aiko alone: the waiting notice is not shown")
	}
	ren.enter(p.Report)
	sa := aiko.media(mediaStats{})
	sr := ren.media(mediaStats{})
	t.Logf("aiko %+v", sa)
	t.Logf("ren  %+v", sr)
	for _, b := range []*browser{aiko, ren} {
		if st := eval[mediaStats](b, statsScript); st.PCs != 1 {
			t.Errorf("%s: %d peer connections, want 1", b.name, st.PCs)
		}
		// The fake camera's picture, decoded: far more than a blank
		// tile's few colours. Frames may take a moment to paint.
		deadline := time.Now().Add(5 * time.Second)
		n := b.remoteColours()
		for n <= 20 && time.Now().Before(deadline) {
			time.Sleep(200 * time.Millisecond)
			n = b.remoteColours()
		}
		if n <= 20 {
			t.Errorf("%s: remote video has %d colours, want > 20", b.name, n)
		}
		ui := eval[map[string]string](b, `(() => ({
			conn: document.querySelector('[data-role="conn-state"]').dataset.conn,
			waiting: String(document.querySelector('[data-role="waiting"]').hidden),
			time: document.querySelector('[data-role="time-left"]').textContent,
			agenda: document.querySelector('[data-role="agenda"]').textContent,
		}))()`)
		if ui["conn"] != "connected" || ui["waiting"] != "true" || !strings.Contains(ui["time"], "left") ||
			!strings.Contains(ui["agenda"], "Aiko") || !strings.Contains(ui["agenda"], "Ren") {
			t.Errorf("%s: page shows %q", b.name, ui)
		}
	}

	// Ren reloads: back in the room, media flowing both ways again.
	before := eval[mediaStats](aiko, statsScript)
	ren.do(chromedp.Reload(), chromedp.WaitEnabled(chromedp.CSS(`[data-action="join"]`)), chromedp.Click(`[data-action="join"]`))
	sr = ren.media(mediaStats{})
	sa = aiko.media(before)
	if sr.PCs != 1 {
		t.Errorf("ren after reload: %d peer connections, want 1 (a new page)", sr.PCs)
	}
	t.Logf("after reload: aiko %+v ren %+v", sa, sr)

	// Ren's signaling socket drops (Wi-Fi lost): the page reconnects by
	// itself, without a reload, and media flows again.
	eval[int](ren, `window.__sameDocument = 1`)
	before = eval[mediaStats](ren, statsScript)
	eval[bool](ren, `(window.__ws[window.__ws.length - 1].close(), true)`)
	sr = ren.media(before)
	aiko.media(eval[mediaStats](aiko, statsScript))
	if eval[int](ren, `window.__sameDocument || 0`) != 1 || sr.PCs != 2 || eval[int](ren, `window.__ws.length`) != 2 {
		t.Errorf("after the socket dropped: %+v, %d sockets; want the same page with a second peer connection and socket", sr, eval[int](ren, `window.__ws.length`))
	}
}

// TestTimeToFirstFrame measures page load to the first decoded remote
// frame for the second person to join, five times, and logs the median.
// It asserts no time: the figure depends on the machine.
func TestTimeToFirstFrame(t *testing.T) {
	srv := startDaemon(t, nil)
	p := srv.createPair("Aiko", "Ren")
	aiko := newBrowser(t, "aiko", chromium.Options{})
	ren := newBrowser(t, "ren", chromium.Options{})
	aiko.enter(p.Manager)
	var times []float64
	for i := range 5 {
		ren.enter(p.Report)
		st := ren.media(mediaStats{})
		if st.FirstFrame <= 0 {
			t.Fatalf("run %d: no first-frame time: %+v", i, st)
		}
		times = append(times, st.FirstFrame)
	}
	slices.Sort(times)
	t.Logf("time from page load to first decoded remote frame: median %.0f ms (runs, sorted: %.0f)", times[len(times)/2], times)
}

func TestStrangerIsRefused(t *testing.T) {
	srv := startDaemon(t, nil)
	p := srv.createPair("Aiko", "Ren")
	other := srv.createPair("Kenji", "Mai")
	kenji := newBrowser(t, "kenji", chromium.Options{})
	// Kenji signs in with his own personal link, then opens Aiko and
	// Ren's room (a forwarded invite).
	kenji.do(chromedp.Navigate(other.Manager), chromedp.WaitVisible(chromedp.CSS(`[data-action="join"]`)))
	kenji.do(chromedp.Navigate(roomURL(t, p.Manager, "")), chromedp.WaitVisible(chromedp.CSS(`[data-role="refused"]`)))
	text := eval[string](kenji, `document.body.innerText`)
	if !strings.Contains(text, "This room is for Aiko and Ren.") {
		t.Errorf("refused page says %q", text)
	}
	for _, leak := range []string{p.ManagerEmail, p.ReportEmail} {
		if strings.Contains(eval[string](kenji, `document.documentElement.outerHTML`), leak) {
			t.Errorf("refused page shows %s", leak)
		}
	}
	if st := eval[mediaStats](kenji, statsScript); st.PCs != 0 {
		t.Errorf("refused page created %d peer connections", st.PCs)
	}
	if n := eval[int](kenji, `document.querySelectorAll('[data-action="join"], video').length`); n != 0 {
		t.Errorf("refused page has %d join buttons or videos", n)
	}
	// Nor does the room's WebSocket admit him.
	got := eval[string](kenji, fmt.Sprintf(`new Promise((resolve) => {
		const ws = new WebSocket(%q);
		const seen = [];
		ws.onopen = () => ws.send(JSON.stringify({v: 1, type: 'join'}));
		ws.onmessage = (e) => seen.push(JSON.parse(e.data).type);
		ws.onerror = () => {};
		ws.onclose = () => resolve('closed:' + seen.join(','));
		setTimeout(() => resolve('open:' + seen.join(',')), 3000);
	})`, strings.Replace(srv.url, "http", "ws", 1)+"/r/"+p.ID+"/ws"))
	if strings.Contains(got, "joined") || strings.Contains(got, "offer") {
		t.Errorf("stranger's WebSocket: %s", got)
	}
}

func TestBadLinksAreRefused(t *testing.T) {
	srv := startDaemon(t, nil)
	p := srv.createPair("Aiko", "Ren")
	secret, _, err := identity.LoadOrCreateSecret(filepath.Join(srv.dataDir, identity.SecretFile))
	if err != nil {
		t.Fatal(err)
	}
	signer, err := joinlink.NewSigner(secret)
	if err != nil {
		t.Fatal(err)
	}
	expired := roomURL(t, p.Report, "t="+signer.Sign(joinlink.Claims{Series: p.ID, Email: p.ReportEmail, Role: joinlink.RoleReport, Expires: time.Now().Add(-time.Hour)}))
	u, _ := url.Parse(p.Report)
	tok := u.Query().Get("t")
	flip := "A"
	if tok[len(tok)/2] == 'A' {
		flip = "B"
	}
	tampered := roomURL(t, p.Report, "t="+tok[:len(tok)/2]+flip+tok[len(tok)/2+1:])
	b := newBrowser(t, "stranger", chromium.Options{})
	for _, tc := range []struct{ name, url, want string }{
		{"expired", expired, "expired"},
		{"tampered", tampered, "not valid"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b.t = t
			b.do(chromedp.Navigate(tc.url), chromedp.WaitVisible(chromedp.CSS(`body`)))
			text := eval[string](b, `document.body.innerText`)
			if !strings.Contains(text, tc.want) {
				t.Errorf("page says %q, want %q", text, tc.want)
			}
			if st := eval[mediaStats](b, statsScript); st.PCs != 0 {
				t.Errorf("%d peer connections", st.PCs)
			}
			if n := eval[int](b, `document.querySelectorAll('[data-action="join"], video').length`); n != 0 {
				t.Errorf("%d join buttons or videos", n)
			}
		})
	}
}

// TestMediaOverICETCP: with UDP candidates dropped on both sides (the
// page's test-only ?transport=tcp), media flows over the SFU's ICE-TCP port.
func TestMediaOverICETCP(t *testing.T) {
	srv := startDaemon(t, nil)
	p := srv.createPair("Aiko", "Ren")
	aiko := newBrowser(t, "aiko", chromium.Options{})
	ren := newBrowser(t, "ren", chromium.Options{})
	for _, x := range []struct {
		b    *browser
		link string
	}{{aiko, p.Manager}, {ren, p.Report}} {
		x.b.do(chromedp.Navigate(x.link), chromedp.WaitVisible(chromedp.CSS(`[data-action="join"]`)))
		x.b.enter(roomURL(t, x.link, "transport=tcp"))
	}
	for _, b := range []*browser{aiko, ren} {
		st := b.media(mediaStats{})
		if st.LocalProtocol != "tcp" {
			t.Errorf("%s: media over %q (%+v), want tcp", b.name, st.LocalProtocol, st)
		}
	}
}

// TestMediaThroughTURN: with iceTransportPolicy "relay" (the page's
// test-only ?transport=relay) media can only go through the TURN server
// the daemon hands out: Debian's coturn on loopback.
func TestMediaThroughTURN(t *testing.T) {
	turnURL := startTURN(t)
	srv := startDaemon(t, func(c *config.Config) {
		c.Media.TURN = []config.TURNConfig{{URLs: []string{turnURL}, Username: "oneonone", Password: config.NewSecret("relay-secret")}}
	})
	p := srv.createPair("Aiko", "Ren")
	aiko := newBrowser(t, "aiko", chromium.Options{})
	ren := newBrowser(t, "ren", chromium.Options{})
	for _, x := range []struct {
		b    *browser
		link string
	}{{aiko, p.Manager}, {ren, p.Report}} {
		x.b.do(chromedp.Navigate(x.link), chromedp.WaitVisible(chromedp.CSS(`[data-action="join"]`)))
		x.b.enter(roomURL(t, x.link, "transport=relay"))
	}
	for _, b := range []*browser{aiko, ren} {
		st := b.media(mediaStats{})
		if st.LocalType != "relay" {
			t.Errorf("%s: local candidate %q (%+v), want relay", b.name, st.LocalType, st)
		}
	}
}

// startTURN runs coturn on a free loopback port with one static user.
func startTURN(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("turnserver")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("turnserver (Debian's coturn) not found; CI is set, so this fails")
		}
		t.Skip("SKIPPING TURN test: turnserver (Debian's coturn) not found; install coturn. With CI set this fails instead")
	}
	port := freePort(t, "udp")
	// Relay from the address the SFU announces: the SFU answers from a
	// wildcard socket, so a relay on 127.0.0.1 would see its replies come
	// from 127.0.0.1 instead of the permitted peer address and drop them.
	relayIP := hostIP(t)
	cmd := exec.Command(bin, "-n", "--no-cli", "--no-tls", "--no-dtls",
		"--listening-ip=127.0.0.1", "--relay-ip="+relayIP, "--listening-port="+port,
		"--min-port=49160", "--max-port=49200", "--allow-loopback-peers",
		"--lt-cred-mech", "--user=oneonone:relay-secret", "--realm=oneonone.test",
		"--log-file=stdout", "--simple-log", "--pidfile="+filepath.Join(t.TempDir(), "turn.pid"))
	out := &testutil.SyncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("turnserver:\n%s", out)
		}
	})
	return "turn:127.0.0.1:" + port + "?transport=udp"
}

// hostIP is the first non-loopback IPv4 address: the SFU (listening on all
// interfaces) announces it as its host candidate.
func hostIP(t *testing.T) string {
	t.Helper()
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && n.IP.To4() != nil {
			return n.IP.String()
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("TURN test: no non-loopback IPv4 address for the relay (required when CI is set)")
	}
	t.Skip("SKIPPING TURN test (CI unset): no non-loopback IPv4 address for the relay")
	return ""
}

// TestCapabilityModeChooser: with no sign-in configured, the room URL
// alone shows the chooser; each person picks who they are and they meet.
func TestCapabilityModeChooser(t *testing.T) {
	srv := startDaemon(t, func(c *config.Config) { c.SMTP = config.SMTPConfig{} })
	p := srv.createPair("Aiko", "Ren")
	aiko := newBrowser(t, "aiko", chromium.Options{})
	ren := newBrowser(t, "ren", chromium.Options{})
	for _, x := range []struct {
		b    *browser
		role string
	}{{aiko, "manager"}, {ren, "report"}} {
		x.b.do(chromedp.Navigate(roomURL(t, p.Manager, "")),
			chromedp.Click(chromedp.CSS(`[data-action="join"][data-choice="`+x.role+`"]`)))
		// The choice posts a form and lands in the call itself: the
		// chooser is the only screen before it.
		if !x.b.poll(`(document.querySelector('.room-shell') || {dataset: {}}).dataset.state === 'call'`, 10*time.Second) {
			t.Fatalf("%s: not in the call after choosing: %q", x.b.name, eval[string](x.b, `document.body.innerText`))
		}
		if eval[bool](x.b, `!document.querySelector('[data-role="prejoin"]').hidden`) {
			t.Errorf("%s: the pre-join screen shows after choosing", x.b.name)
		}
	}
	aiko.media(mediaStats{})
	ren.media(mediaStats{})
	// A third browser finds both places taken.
	third := newBrowser(t, "third", chromium.Options{})
	third.do(chromedp.Navigate(roomURL(t, p.Manager, "")), chromedp.WaitVisible(chromedp.CSS(`body`)))
	if n := eval[int](third, `document.querySelectorAll('[data-choice]:not([disabled])').length`); n != 0 {
		t.Errorf("third person can still pick %d places", n)
	}
	if st := eval[mediaStats](third, statsScript); st.PCs != 0 {
		t.Errorf("third person's page created %d peer connections", st.PCs)
	}

	// The daemon shuts down (SIGTERM): both are told the room was closed
	// and their pages do not try to reconnect.
	if err := srv.stop(); err != nil {
		t.Fatal(err)
	}
	for _, b := range []*browser{aiko, ren} {
		b.do(chromedp.WaitVisible(chromedp.CSS(`[data-role="ended"]`)))
		if got := eval[string](b, `document.querySelector('[data-role="ended-message"]').textContent`); got != "The meeting room was closed." {
			t.Errorf("%s: after shutdown the page says %q", b.name, got)
		}
	}
}

// TestScreenshots writes pictures of the room page for people to look at
// (ONEONONE_SCREENSHOTS=dir): pre-join, in a call on a desktop and on a
// phone, in English and Japanese.
func TestScreenshots(t *testing.T) {
	dir := os.Getenv("ONEONONE_SCREENSHOTS")
	if dir == "" {
		t.Skip("set ONEONONE_SCREENSHOTS=dir to write screenshots of the room page")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	srv := startDaemon(t, nil)
	for _, lang := range []string{"en", "ja"} {
		t.Run(lang, func(t *testing.T) {
			p := srv.createPair(map[string]string{"en": "Aiko", "ja": "Haruka"}[lang], "Ren")
			desk := newBrowser(t, "desktop", chromium.Options{Lang: lang, Width: 1280, Height: 800})
			phone := newBrowser(t, "phone", chromium.Options{Lang: lang, Width: 390, Height: 844})
			if _, err := chromedp.Call(phone.ctx, emulation.SetDeviceMetricsOverride, emulation.SetDeviceMetricsOverrideParams{
				Width: 390, Height: 844, DeviceScaleFactor: 2, Mobile: true}); err != nil {
				t.Fatal(err)
			}
			shot := func(b *browser, name string) {
				png, err := chromedp.Run(b.ctx, chromedp.CaptureScreenshot())
				if err != nil {
					t.Fatal(err)
				}
				path := filepath.Join(dir, "room-"+lang+"-"+name+".png")
				if err := os.WriteFile(path, png, 0o644); err != nil {
					t.Fatal(err)
				}
				t.Logf("wrote %s", path)
			}
			desk.do(chromedp.Navigate(p.Manager), chromedp.WaitEnabled(chromedp.CSS(`[data-action="join"]`)), chromedp.Sleep(500*time.Millisecond))
			shot(desk, "prejoin")
			desk.do(chromedp.Click(chromedp.CSS(`[data-action="join"]`)))
			phone.enter(p.Report)
			desk.media(mediaStats{})
			phone.media(mediaStats{})
			desk.do(chromedp.Sleep(4500 * time.Millisecond)) // quality shows after two samples
			shot(desk, "desktop")
			shot(phone, "phone")
		})
	}
}
