package loadgen

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestDirectRooms runs two rooms against an in-process SFU for a short
// window: every room connects, media flows both ways without loss on
// loopback, and the report's figures are filled in.
func TestDirectRooms(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	rep, err := Run(ctx, Options{Direct: true, Rooms: 2, Duration: 2 * time.Second, Warmup: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	rep.Write(&b)
	t.Log(b.String())
	if rep.Connected != 2 || len(rep.Errors) != 0 {
		t.Fatalf("connected %d of 2: %v", rep.Connected, rep.Errors)
	}
	// 2 rooms × 2 publishers × 200 packets/s over ~2 s.
	if rep.PacketsSent < 1200 || rep.PacketsExpect < 1200 {
		t.Errorf("sent %d, expected %d packets: too few for 2 s of 4 publishers", rep.PacketsSent, rep.PacketsExpect)
	}
	if rep.LossPct > 1 {
		t.Errorf("loss %.2f%% on loopback", rep.LossPct)
	}
	if rep.TTFPMedian <= 0 || rep.TTFPMax < rep.TTFPMedian {
		t.Errorf("time to first packet: median %v max %v", rep.TTFPMedian, rep.TTFPMax)
	}
	if rep.DaemonEnd.CPUSeconds <= rep.DaemonStart.CPUSeconds || rep.DaemonEnd.RSSBytes <= 0 {
		t.Errorf("process stats: %+v → %+v", rep.DaemonStart, rep.DaemonEnd)
	}
	if !strings.Contains(rep.TableRow(), "    2") {
		t.Errorf("table row %q", rep.TableRow())
	}
}
