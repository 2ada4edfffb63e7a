// Package chromium starts Debian's Chromium headless for tests, one process
// per call with a fresh profile, a fake camera and microphone, and the
// flags that let two browsers on one machine hold a WebRTC call over
// loopback. It is a test helper: it knows nothing of the room page.
package chromium

import (
	"context"
	"os"
	"os/exec"
	"testing"

	"github.com/chromedp/chromedp"
)

// Options tune one browser.
type Options struct {
	// Lang is the browser's UI language and Accept-Language ("en", "ja").
	Lang string
	// Width and Height of the window; default 1280×800.
	Width, Height int
	// Flags are extra command-line switches (name → value; true for a bare
	// switch).
	Flags map[string]any
	// Netns, when set, runs the browser inside that network namespace
	// (ip netns exec, as root), so a test can cut its network for real.
	// DevTools then speaks over pipes, not a loopback port, so the test
	// keeps control of the browser while its network is down.
	Netns string
}

// Path finds the Chromium binary: $CHROMIUM, /usr/bin/chromium, or
// chromium / chromium-browser on PATH.
func Path() (string, bool) {
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p, true
	}
	for _, name := range []string{"/usr/bin/chromium", "chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, true
		}
	}
	return "", false
}

// Require returns the Chromium path, failing the test when CI is set and
// skipping it loudly otherwise.
func Require(t testing.TB) string {
	t.Helper()
	p, ok := Path()
	if !ok {
		if os.Getenv("CI") != "" {
			t.Fatal("chromium not found (CI is set, so this is a failure): install Debian's chromium package or set CHROMIUM")
		}
		t.Skip("SKIPPING real-browser test: chromium not found. Install Debian's chromium (apt-get install chromium) or set CHROMIUM; with CI set this fails instead")
	}
	return p
}

// Start launches a browser and returns the context of its first tab; the
// browser exits when the test ends. Each call is a separate process with
// its own profile directory.
func Start(t testing.TB, o Options) context.Context {
	t.Helper()
	path := Require(t)
	if o.Width == 0 {
		o.Width, o.Height = 1280, 800
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(o.Width, o.Height),
		chromedp.Flag("headless", "new"),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("use-fake-device-for-media-stream", true),
		chromedp.Flag("use-fake-ui-for-media-stream", true),
		chromedp.Flag("autoplay-policy", "no-user-gesture-required"),
		chromedp.Flag("allow-loopback-in-peer-connection", true),
		chromedp.Flag("disable-features", "WebRtcHideLocalIpsWithMdns"),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-background-timer-throttling", true),
		chromedp.Flag("disable-renderer-backgrounding", true),
		chromedp.Flag("disable-backgrounding-occluded-windows", true),
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
	}
	if o.Lang != "" {
		opts = append(opts, chromedp.Flag("lang", o.Lang), chromedp.Flag("accept-lang", o.Lang))
	}
	for k, v := range o.Flags {
		opts = append(opts, chromedp.Flag(k, v))
	}
	if o.Netns != "" {
		ip, err := exec.LookPath("ip")
		if err != nil {
			t.Fatalf("chromium: network namespace %s: %v", o.Netns, err)
		}
		opts = append(opts, chromedp.Flag("remote-debugging-pipe", true),
			chromedp.ModifyCmdFunc(func(cmd *exec.Cmd) {
				// ip execs the browser, which inherits the DevTools pipes
				// (fds 3 and 4) and the namespace.
				cmd.Args = append([]string{ip, "netns", "exec", o.Netns, cmd.Path}, cmd.Args[1:]...)
				cmd.Path = ip
			}))
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx, chromedp.WithErrorf(t.Logf))
	if err := chromedp.Do(ctx); err != nil { // starts the process
		cancel()
		cancelAlloc()
		t.Fatalf("chromium: start %s: %v", path, err)
	}
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	return ctx
}
