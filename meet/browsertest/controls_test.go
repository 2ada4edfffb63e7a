package browsertest

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/oneonone/oneonone/internal/chromium"
)

// inbound is what the page receives from the other side, read on its live
// peer connection.
type inbound struct {
	Frames float64 `json:"frames"` // video framesDecoded
	Energy float64 `json:"energy"` // audio totalAudioEnergy: silence adds ~0
	Audio  float64 `json:"audio"`  // audio packetsReceived
}

const inboundScript = `(async () => {
  const r = {frames: 0, energy: 0, audio: 0};
  const pc = (window.__pcs || []).filter((p) => p.connectionState !== 'closed').pop();
  if (!pc) return r;
  (await pc.getStats()).forEach((s) => {
    if (s.type !== 'inbound-rtp') return;
    if (s.kind === 'video') r.frames += s.framesDecoded || 0;
    if (s.kind === 'audio') { r.energy += s.totalAudioEnergy || 0; r.audio += s.packetsReceived || 0; }
  });
  return r;
})()`

// inboundOver reads what arrived during window, after letting settle pass
// (for the change to reach the other side and the jitter buffer to drain).
func (b *browser) inboundOver(settle, window time.Duration) inbound {
	b.t.Helper()
	time.Sleep(settle)
	a := eval[inbound](b, inboundScript)
	time.Sleep(window)
	z := eval[inbound](b, inboundScript)
	return inbound{Frames: z.Frames - a.Frames, Energy: z.Energy - a.Energy, Audio: z.Audio - a.Audio}
}

// inCall starts a daemon and puts Aiko (the manager) and Ren (the report)
// in their room, each in a Chromium of their own, once each receives the
// other's media.
func inCall(t *testing.T) (aiko, ren *browser) {
	srv := startDaemon(t, nil)
	p := srv.createPair("Aiko", "Ren")
	aiko = newBrowser(t, "aiko", chromium.Options{})
	ren = newBrowser(t, "ren", chromium.Options{})
	aiko.enter(p.Manager)
	ren.enter(p.Report)
	aiko.media(mediaStats{})
	ren.media(mediaStats{})
	return aiko, ren
}

// TestControls: Aiko mutes and Ren hears silence; Aiko turns the camera off
// and Ren decodes no more frames, on again and they flow; the device picker lists
// the fake devices and switching the microphone keeps Ren hearing Aiko.
func TestControls(t *testing.T) {
	aiko, ren := inCall(t)
	click := func(sel string) { aiko.do(chromedp.Click(chromedp.CSS(sel))) }
	pressed := func(sel string) string {
		return eval[string](aiko, `document.querySelector('`+sel+`').getAttribute('aria-pressed') || ''`)
	}
	const settle, window = 700 * time.Millisecond, 1500 * time.Millisecond

	// The fake microphone beeps several times a second, so the energy
	// Ren receives rises; muted, Aiko's browser sends silence.
	live := ren.inboundOver(0, window)
	if live.Energy <= 0 || live.Frames < 5 {
		t.Fatalf("ren before any control: %+v, want audio energy and frames", live)
	}
	click(`[data-action="mic"]`)
	muted := ren.inboundOver(settle, window)
	if pressed(`[data-action="mic"]`) != "true" {
		t.Errorf("mic button aria-pressed %q after muting", pressed(`[data-action="mic"]`))
	}
	if muted.Energy > live.Energy/100 {
		t.Errorf("ren hears Aiko while muted: energy %g (unmuted %g)", muted.Energy, live.Energy)
	}
	if muted.Frames < 5 {
		t.Errorf("muting stopped the video too: %+v", muted)
	}
	click(`[data-action="mic"]`)
	if un := ren.inboundOver(settle, window); un.Energy <= live.Energy/10 {
		t.Errorf("ren hears nothing after unmuting: energy %g (before %g)", un.Energy, live.Energy)
	}

	click(`[data-action="camera"]`)
	off := ren.inboundOver(settle, window)
	if pressed(`[data-action="camera"]`) != "true" {
		t.Errorf("camera button aria-pressed %q after turning it off", pressed(`[data-action="camera"]`))
	}
	if !eval[bool](aiko, `!document.querySelector('[data-self-camera-off]').hidden`) {
		t.Error("Aiko's self-view shows no camera-off placeholder with her camera off")
	}
	// A few black frames, then nothing.
	if off.Frames > 2 {
		t.Errorf("ren decodes %v frames in %v with Aiko's camera off (on: %v)", off.Frames, window, live.Frames)
	}
	click(`[data-action="camera"]`)
	if eval[bool](aiko, `!document.querySelector('[data-self-camera-off]').hidden`) {
		t.Error("Aiko's self-view keeps the camera-off placeholder with her camera back on")
	}
	_, resumed := ren.waitFramesRise(eval[mediaStats](ren, statsScript), 10, 5*time.Second)
	t.Logf("ren decodes Aiko's video again %v after the camera came back on", resumed.Round(10*time.Millisecond))
	t.Logf("in %v at Ren's: live %+v, muted %+v, camera off %+v", window, live, muted, off)

	// The device picker lists the fake devices, the current one selected.
	click(`[data-action="devices"]`)
	if !aiko.poll(`document.querySelectorAll('[data-role="audio-input"] option').length > 0 && document.querySelectorAll('[data-role="video-input"] option').length > 0`, 5*time.Second) {
		t.Fatalf("device picker lists nothing: %q", eval[string](aiko, `document.querySelector('[data-role="devices"]').innerText`))
	}
	type option struct {
		Label    string `json:"label"`
		Value    string `json:"value"`
		Selected bool   `json:"selected"`
	}
	options := func(role string) []option {
		return eval[[]option](aiko, `[...document.querySelectorAll('[data-role="`+role+`"] option')].map((o) => ({label: o.textContent, value: o.value, selected: o.selected}))`)
	}
	mics, cams := options("audio-input"), options("video-input")
	t.Logf("microphones %+v, cameras %+v", mics, cams)
	for _, x := range []struct {
		kind string
		opts []option
		min  int
	}{{"microphone", mics, 2}, {"camera", cams, 1}} {
		selected := 0
		for _, o := range x.opts {
			if !strings.Contains(strings.ToLower(o.Label), "fake") {
				t.Errorf("%s %q is not one of Chromium's fake devices", x.kind, o.Label)
			}
			if o.Selected {
				selected++
			}
		}
		if len(x.opts) < x.min || selected != 1 {
			t.Errorf("%ss %+v: want at least %d, one selected", x.kind, x.opts, x.min)
		}
	}
	// Switching the microphone replaces the published track in place:
	// Ren still hears Aiko, on the same peer connection.
	next := mics[0]
	for _, o := range mics {
		if !o.Selected {
			next = o
			break
		}
	}
	eval[bool](aiko, `(() => {
		const sel = document.querySelector('[data-role="audio-input"]');
		sel.value = `+jsString(next.Value)+`;
		return sel.dispatchEvent(new Event('change'));
	})()`)
	if !aiko.poll(`(window.__pcs.at(-1).getSenders().find((s) => s.track && s.track.kind === 'audio') || {track: {}}).track.getSettings().deviceId === `+jsString(next.Value), 5*time.Second) {
		t.Errorf("aiko's published microphone is not %q after choosing it", next.Label)
	}
	if sw := ren.inboundOver(settle, window); sw.Audio < 10 || sw.Energy <= 0 {
		t.Errorf("ren after Aiko switched microphones: %+v, want audio", sw)
	}
	if st := eval[mediaStats](ren, statsScript); st.PCs != 1 {
		t.Errorf("ren: %d peer connections after the controls, want 1", st.PCs)
	}
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `'`, `\'`, "\n", `\n`)
	return "'" + r.Replace(s) + "'"
}
