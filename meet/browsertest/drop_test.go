package browsertest

import (
	"slices"
	"testing"
	"time"

	"github.com/oneonone/oneonone/internal/chromium"
)

// watchConnState makes the page keep every connection state it shows
// (window.__connSeen), so a state passed through while the test was not
// looking is still seen.
const watchConnState = `(() => {
  window.__connSeen = [];
  window.__connAt = [];
  const el = document.querySelector('[data-role="conn-state"]');
  new MutationObserver(() => {
    window.__connSeen.push(el.dataset.conn);
    window.__connAt.push(el.dataset.conn + ' at ' + Math.round(performance.now()) + ' ms');
  }).observe(el, {attributes: true, attributeFilter: ['data-conn']});
  return true;
})()`

// waitFramesRise polls until the page's inbound video has decoded at least
// n frames more than in from (or n frames on a newer peer connection) on a
// connected peer connection.
func (b *browser) waitFramesRise(from mediaStats, n float64, timeout time.Duration) (mediaStats, time.Duration) {
	b.t.Helper()
	start := time.Now()
	var st mediaStats
	for time.Since(start) < timeout {
		var err error
		st, err = readStats(b.ctx)
		if err == nil && st.State == "connected" &&
			(st.PCs > from.PCs && st.FramesDecoded >= n || st.PCs == from.PCs && st.FramesDecoded >= from.FramesDecoded+n) {
			return st, time.Since(start)
		}
		time.Sleep(100 * time.Millisecond)
	}
	b.t.Fatalf("%s: video frames did not rise again within %v: %+v (before: %+v)", b.name, timeout, st, from)
	return st, 0
}

// TestNetworkDropRecovers: Ren's Wi-Fi drops for five seconds and the call
// recovers by itself, without a reload. Ren's browser runs in a network
// namespace whose only link to the daemon is a veth pair; taking Ren's end
// down cuts the WebSocket and the media path for real. The network comes
// back with the same address (ICE resumes on the same path) or with a new
// one (a new lease: only an ICE restart or a rejoin can recover).
func TestNetworkDropRecovers(t *testing.T) {
	for _, tc := range []struct {
		name     string
		renumber bool
	}{{"same address", false}, {"new address", true}} {
		t.Run(tc.name, func(t *testing.T) { dropAndRecover(t, tc.renumber) })
	}
}

func dropAndRecover(t *testing.T, renumber bool) {
	link := requireNetLink(t)
	srv := startDaemonOn(t, link.hostIP, nil)
	p := srv.createPair("Aiko", "Ren")
	// Camera and microphone need a secure context: localhost is one, the
	// pair's address is not.
	secure := map[string]any{"unsafely-treat-insecure-origin-as-secure": srv.url}
	aiko := newBrowser(t, "aiko", chromium.Options{Flags: secure})
	ren := newBrowser(t, "ren", chromium.Options{Flags: secure, Netns: link.ns})
	aiko.enter(p.Manager)
	ren.enter(p.Report)
	aiko.media(mediaStats{})
	ren.media(mediaStats{})
	eval[int](ren, `window.__sameDocument = 1`)
	eval[bool](ren, watchConnState)

	link.setUp(false)
	down := time.Now()
	downAt := eval[float64](ren, `performance.now()`)
	// In the middle of the outage Aiko decodes nothing from Ren: the drop
	// is real for the media, not only for the signaling.
	time.Sleep(1500 * time.Millisecond)
	a1 := eval[mediaStats](aiko, statsScript)
	time.Sleep(2 * time.Second)
	a2 := eval[mediaStats](aiko, statsScript)
	if a2.PCs == a1.PCs && a2.FramesDecoded-a1.FramesDecoded > 5 {
		t.Errorf("aiko decoded %v frames from Ren while Ren's link was down", a2.FramesDecoded-a1.FramesDecoded)
	}
	if renumber {
		link.renumber()
	}
	time.Sleep(time.Until(down.Add(5 * time.Second)))
	link.setUp(true)
	t.Logf("link down for %v (Ren's page time %.0f ms to %.0f ms)", time.Since(down).Round(10*time.Millisecond), downAt, eval[float64](ren, `performance.now()`))

	ra := eval[mediaStats](ren, statsScript)
	aa := eval[mediaStats](aiko, statsScript)
	sr, dr := ren.waitFramesRise(ra, 15, 15*time.Second)
	sa, da := aiko.waitFramesRise(aa, 15, 15*time.Second-dr)
	t.Logf("after the link came back, video again in %v at Ren's, %v at Aiko's: ren %+v aiko %+v",
		dr.Round(10*time.Millisecond), (dr + da).Round(10*time.Millisecond), sr, sa)

	if eval[int](ren, `window.__sameDocument || 0`) != 1 {
		t.Error("Ren's page was reloaded")
	}
	seen := eval[[]string](ren, `window.__connSeen`)
	sent := eval[[]string](ren, `window.__sent`)
	sockets := eval[int](ren, `window.__ws.length`)
	t.Logf("Ren's page showed %q; sent %q over %d sockets", eval[[]string](ren, `window.__connAt`), sent, sockets)
	// Chrome notices a five-second outage only around its end (its
	// connection turns unwritable after ~5 s of unanswered checks), so on
	// the same address the page may never have had anything to show:
	// most runs flipped to "disconnected" and back as the link returned,
	// about one in five not at all. A new address always shows.
	if renumber && !slices.Contains(seen, "reconnecting") {
		t.Errorf("Ren's page never showed reconnecting during the outage: %q", seen)
	}
	if now := eval[string](ren, `document.querySelector('[data-role="conn-state"]').dataset.conn`); now != "connected" {
		t.Errorf("Ren's page shows %q at the end (went through %q), want connected", now, seen)
	}
	// Recovered in place: either an ICE restart on the same peer
	// connection or, if the socket died too, a rejoin on a new one.
	if renumber && !slices.Contains(sent, "ice-restart") && sockets < 2 {
		t.Errorf("Ren's page recovered without an ICE restart or a new socket: sent %q", sent)
	}
}
