package browsertest

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Visibility of the other's camera-off placeholder and muted badge (the
// README's room page hooks), as JavaScript.
const (
	cameraOffShown = `!document.querySelector('[data-role="remote"] [data-remote-camera-off]').hidden`
	mutedShown     = `!document.querySelector('[data-role="remote"] [data-remote-muted]').hidden`
)

// TestPeerCameraAndMicrophoneState: Aiko turns her camera off and Ren's
// page covers her frozen video with her initials and "camera off"; on
// again, the placeholder goes and her frames are decoded again; she mutes
// and Ren's page shows the muted badge. Ren reloads while her camera is off
// and muted and learns both at once: the room remembers them. She leaves
// and the placeholders go with her.
func TestPeerCameraAndMicrophoneState(t *testing.T) {
	aiko, ren := inCall(t)
	click := func(sel string) { aiko.do(chromedp.Click(chromedp.CSS(sel))) }
	const soon = 5 * time.Second
	// Each page says its state once joined.
	for _, b := range []*browser{aiko, ren} {
		if !b.poll(`window.__sent.includes('media-state')`, soon) {
			t.Fatalf("%s sent no media-state after joining: %v", b.name, eval[[]string](b, `window.__sent`))
		}
		if eval[bool](b, cameraOffShown+` || `+mutedShown) {
			t.Errorf("%s shows the other's camera off or muted while both are on", b.name)
		}
	}

	// Camera off: the placeholder, with her initials and name as text.
	click(`[data-action="camera"]`)
	start := time.Now()
	if !ren.poll(cameraOffShown, soon) {
		t.Fatalf("ren: no camera-off placeholder %v after Aiko turned her camera off", soon)
	}
	t.Logf("ren shows Aiko's camera off %v after the click", time.Since(start).Round(10*time.Millisecond))
	if text := eval[string](ren, `document.querySelector('[data-remote-camera-off]').innerText`); !strings.Contains(text, "A") || !strings.Contains(text, "Aiko's camera is off") {
		t.Errorf("placeholder says %q", text)
	}
	if eval[bool](ren, mutedShown) {
		t.Error("ren shows Aiko muted; only her camera is off")
	}

	// Camera on: the placeholder goes and her video is decoded again.
	before := eval[mediaStats](ren, statsScript)
	click(`[data-action="camera"]`)
	if !ren.poll(`!(`+cameraOffShown+`)`, soon) {
		t.Fatalf("ren: camera-off placeholder still shown %v after Aiko turned her camera on", soon)
	}
	_, resumed := ren.waitFramesRise(before, 10, soon)
	t.Logf("ren decodes Aiko's video again %v after the camera came back on", resumed.Round(10*time.Millisecond))

	// Muted: the badge, and no placeholder.
	click(`[data-action="mic"]`)
	if !ren.poll(mutedShown, soon) {
		t.Fatalf("ren: no muted badge %v after Aiko muted", soon)
	}
	if eval[bool](ren, cameraOffShown) {
		t.Error("ren shows Aiko's camera off; she only muted")
	}

	// Ren reloads while Aiko's camera is off and she is muted: his new
	// page learns both from the room, without Aiko saying anything again.
	click(`[data-action="camera"]`)
	if !ren.poll(cameraOffShown, soon) {
		t.Fatal("ren: no camera-off placeholder the second time")
	}
	sentBefore := eval[int](aiko, `window.__sent.filter((t) => t === 'media-state').length`)
	ren.do(chromedp.Reload(), chromedp.WaitEnabled(chromedp.CSS(`[data-action="join"]`)), chromedp.Click(`[data-action="join"]`))
	if !ren.poll(cameraOffShown+` && `+mutedShown, 10*time.Second) {
		t.Fatalf("ren after reload: camera off %v, muted %v; want both shown", eval[bool](ren, cameraOffShown), eval[bool](ren, mutedShown))
	}
	if n := eval[int](aiko, `window.__sent.filter((t) => t === 'media-state').length`); n != sentBefore {
		t.Errorf("aiko sent %d media-state messages while Ren reloaded; the room should have told him", n-sentBefore)
	}

	// Back on, then Aiko leaves: nothing of hers stays on Ren's tile.
	click(`[data-action="mic"]`)
	if !ren.poll(`!(`+mutedShown+`)`, soon) {
		t.Fatalf("ren: muted badge still shown %v after Aiko unmuted", soon)
	}
	click(`[data-action="leave"]`)
	if !ren.poll(`!document.querySelector('[data-role="waiting"]').hidden && !(`+cameraOffShown+`) && !(`+mutedShown+`)`, soon) {
		t.Fatal("ren: Aiko's camera-off placeholder or muted badge stayed after she left")
	}
}
