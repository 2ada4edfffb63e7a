package sfu

import (
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
)

// 100 join/leave cycles leave no goroutines or file descriptors behind,
// on the server or in the (in-process) clients.
func TestJoinLeaveCyclesDoNotLeak(t *testing.T) {
	if testing.Short() {
		t.Skip("100 cycles")
	}
	h := newHarness(t, func(c *Config) { c.Logger = nil })
	cycle := func(i int) {
		a := h.join("r", RoleManager, 1, clientOpts{})
		b := h.join("r", RoleReport, 2, clientOpts{})
		if err := waitFor(10*time.Second, func() bool {
			return a.pc.ConnectionState() == webrtc.PeerConnectionStateConnected &&
				b.pc.ConnectionState() == webrtc.PeerConnectionStateConnected &&
				// Every track has arrived: pion races if a PeerConnection is
				// closed while its OnTrack handler is being started.
				a.recv[0].Load() > 0 && a.recv[1].Load() > 0 && b.recv[0].Load() > 0 && b.recv[1].Load() > 0
		}); err != nil {
			t.Fatalf("cycle %d: not connected: %v", i, err)
		}
		if i%2 == 0 {
			a.leave()
			b.leave()
		} else { // vanish without bye
			b.close()
			a.close()
		}
		if err := waitFor(10*time.Second, func() bool { return h.srv.Stats() == Stats{} }); err != nil {
			t.Fatalf("cycle %d: stats %+v", i, h.srv.Stats())
		}
	}
	cycle(0) // warm up pools and lazily started goroutines
	g0, fd0 := settle(t, 0, 0)
	for i := 1; i <= 100; i++ {
		cycle(i)
	}
	g1, fd1 := settle(t, g0, fd0)
	if g1 > g0 || fd1 > fd0 {
		buf := make([]byte, 1<<20)
		t.Fatalf("leak after 100 cycles: goroutines %d → %d, fds %d → %d\n%s", g0, g1, fd0, fd1, buf[:runtime.Stack(buf, true)])
	}
	t.Logf("goroutines %d → %d, fds %d → %d", g0, g1, fd0, fd1)
}

// settle waits until the goroutine and fd counts drop to at most the
// targets (or stop changing when targets are 0) and returns them.
func settle(t *testing.T, g, fd int) (int, int) {
	t.Helper()
	var gn, fdn, same int
	for i := 0; i < 100; i++ {
		pg, pfd := gn, fdn
		gn, fdn = runtime.NumGoroutine(), countFDs(t)
		if g > 0 && gn <= g && fdn <= fd {
			break
		}
		if g == 0 && gn == pg && fdn == pfd {
			if same++; same == 5 {
				break
			}
		} else {
			same = 0
		}
		time.Sleep(100 * time.Millisecond)
	}
	return gn, fdn
}

func countFDs(t *testing.T) int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}
