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
	// Media flowed from all four publishers. How much in 2 s depends on
	// how busy the machine is, so only a floor is asserted: rates are the
	// benchmark's business, not this test's.
	if rep.PacketsSent < 4*50 || rep.PacketsExpect < 4*50 {
		t.Errorf("sent %d, expected %d packets: media did not flow from 4 publishers", rep.PacketsSent, rep.PacketsExpect)
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
