// Package browsertest holds the room's real-browser tests: two Chromium
// processes with fake cameras join one room of a real daemon and must see
// and hear each other. This file has the page-side probes the tests share;
// the package has no production code and must not be imported by any.
package browsertest

import (
	"bytes"
	"context"
	"fmt"
	"image/png"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// probeScript runs before the page's own scripts. It observes the page's
// RTCPeerConnections the way synthetic monitoring would (the standard
// constructor is a room-page hook) and records when the first remote video
// frame was decoded, in ms since navigation start.
const probeScript = `(() => {
  const Orig = window.RTCPeerConnection;
  window.__pcs = [];
  window.__firstFrame = null;
  class Observed extends Orig {
    constructor(...args) {
      super(...args);
      window.__pcs.push(this);
      const pc = this;
      const iv = setInterval(async () => {
        if (pc.connectionState === 'closed' || window.__firstFrame !== null) { clearInterval(iv); return; }
        try {
          (await pc.getStats()).forEach((s) => {
            if (s.type === 'inbound-rtp' && s.kind === 'video' && s.framesDecoded > 0 && window.__firstFrame === null) {
              window.__firstFrame = performance.now();
            }
          });
        } catch (e) {}
      }, 10);
    }
  }
  window.RTCPeerConnection = Observed;
  // The signaling sockets too, so a test can cut one like a network drop,
  // and the types of the messages the page sent (an ICE restart request).
  const OrigWS = window.WebSocket;
  window.__ws = [];
  window.__sent = [];
  class ObservedWS extends OrigWS {
    constructor(...args) { super(...args); window.__ws.push(this); }
    send(data) {
      try { window.__sent.push(JSON.parse(data).type); } catch (e) {}
      return super.send(data);
    }
  }
  window.WebSocket = ObservedWS;
})();`

// installProbe makes probeScript run on every document of the tab.
func installProbe(ctx context.Context) error {
	_, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: probeScript})
	if err != nil {
		return fmt.Errorf("install probe: %w", err)
	}
	return nil
}

// mediaStats is what getStats() says of the page's live peer connection.
type mediaStats struct {
	PCs           int     `json:"pcs"`    // peer connections the page created
	Open          int     `json:"open"`   // of which not closed
	State         string  `json:"state"`  // connectionState of the newest
	FramesDecoded float64 `json:"frames"` // inbound video
	AudioPackets  float64 `json:"audio"`  // inbound audio packetsReceived
	LocalType     string  `json:"localType"`
	LocalProtocol string  `json:"localProtocol"`
	RemoteType    string  `json:"remoteType"`
	FirstFrame    float64 `json:"firstFrame"` // ms since navigation start, 0 if none yet
}

const statsScript = `(async () => {
  const pcs = window.__pcs || [];
  const open = pcs.filter((p) => p.connectionState !== 'closed');
  const r = {pcs: pcs.length, open: open.length, state: '', frames: 0, audio: 0, localType: '', localProtocol: '', remoteType: '', firstFrame: window.__firstFrame || 0};
  const pc = open[open.length - 1];
  if (!pc) return r;
  r.state = pc.connectionState;
  const stats = await pc.getStats();
  let pairId = '';
  stats.forEach((s) => { if (s.type === 'transport' && s.selectedCandidatePairId) pairId = s.selectedCandidatePairId; });
  stats.forEach((s) => {
    if (s.type === 'inbound-rtp' && s.kind === 'video') r.frames += s.framesDecoded || 0;
    if (s.type === 'inbound-rtp' && s.kind === 'audio') r.audio += s.packetsReceived || 0;
  });
  const pair = pairId && stats.get(pairId);
  if (pair) {
    const l = stats.get(pair.localCandidateId), rc = stats.get(pair.remoteCandidateId);
    if (l) { r.localType = l.candidateType; r.localProtocol = l.protocol; }
    if (rc) r.remoteType = rc.candidateType;
  }
  return r;
})()`

func readStats(ctx context.Context) (mediaStats, error) {
	return chromedp.Run(ctx, chromedp.Evaluate[mediaStats](statsScript, chromedp.EvalAwaitPromise))
}

// waitMedia polls until both inbound kinds flow: video frames decoded and
// audio packets received, more than at the call's start (from).
func waitMedia(ctx context.Context, from mediaStats, timeout time.Duration) (mediaStats, error) {
	deadline := time.Now().Add(timeout)
	var st mediaStats
	var err error
	for time.Now().Before(deadline) {
		st, err = readStats(ctx)
		if err == nil && st.State == "connected" && st.FramesDecoded > 0 && st.AudioPackets > 0 && st.FirstFrame > 0 &&
			(st.FramesDecoded > from.FramesDecoded || from.PCs < st.PCs) && (st.AudioPackets > from.AudioPackets || from.PCs < st.PCs) {
			return st, nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return st, fmt.Errorf("no media within %v: last stats %+v (err %v)", timeout, st, err)
}

// distinctColours counts the colours of a PNG screenshot, capped at limit.
func distinctColours(pngData []byte, limit int) (int, error) {
	img, err := png.Decode(bytes.NewReader(pngData))
	if err != nil {
		return 0, fmt.Errorf("decode screenshot: %w", err)
	}
	seen := map[[3]uint32]bool{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			seen[[3]uint32{r >> 8, g >> 8, bl >> 8}] = true
			if len(seen) >= limit {
				return len(seen), nil
			}
		}
	}
	return len(seen), nil
}

// logConsole copies the tab's console and exceptions to logf until ctx ends.
func logConsole(ctx context.Context, name string, logf func(string, ...any)) {
	msgs := chromedp.Console(ctx)
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			logf("%s console %s: %s", name, m.Type, m.Text)
		}
	}()
}
