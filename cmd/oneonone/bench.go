package main

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/oneonone/oneonone/meet/loadgen"
)

const benchRoomsUsage = `Usage: oneonone bench rooms --server URL --rooms N [--duration 60s] [--token-file F] [flags]

Drive N rooms of two WebRTC participants each through a running daemon:
series of team "loadgen" are created (or reused), each participant opens
its personal link and joins the room's WebSocket, publishes Opus-sized
audio (50 packets/s) and ~1.5 Mbit/s video (150 packets/s) and receives
the other's. Prints loss, jitter, time to first packet, the daemon's CPU
and memory (from /proc with --pid, else from its /metrics) and the
kernel's UDP drops over the measured window.

Memory per room is the daemon's RSS at the end over its idle baseline,
read after one warm-up room has run for two seconds and left, so one-off
costs of the first room are not charged to every room (--cold-baseline
reads it before any room; the table shows both).

Run the daemon and the generator on separate cores, e.g.
  taskset -c 0 oneonone serve --config bench.yaml &
  taskset -c 1 oneonone bench rooms --server http://127.0.0.1:8080 --rooms 30 --pid $!

--direct runs an in-process media server instead (developing the
generator; its figures include the generator's own work).
`

func runBench(ctx context.Context, e env, args []string) error {
	if len(args) == 0 || args[0] != "rooms" {
		if len(args) > 0 && (args[0] == "--help" || args[0] == "-h") {
			fmt.Fprint(e.stdout, benchRoomsUsage)
			return errHelp
		}
		return &usageError{msg: "bench: the only benchmark is \"rooms\"", cmd: "bench rooms"}
	}
	c := newCommand("bench rooms", benchRoomsUsage)
	var cf clientFlags
	cf.register(c, e)
	rooms := c.fs.Int("rooms", 10, "number of rooms (`N`), two participants each")
	duration := c.fs.Duration("duration", 60*time.Second, "measured window, after every room has media")
	warmup := c.fs.Duration("warmup", 3*time.Second, "wait after the last join before measuring")
	pid := c.fs.Int("pid", 0, "daemon process id for /proc; 0 reads the daemon's /metrics")
	direct := c.fs.Bool("direct", false, "in-process media server instead of --server (development)")
	noNACK := c.fs.Bool("no-nack", false, "clients do not ask for retransmissions (loss is then raw)")
	loopback := c.fs.Bool("loopback", false, "clients use only the loopback interface (daemon on this host)")
	concurrency := c.fs.Int("join-concurrency", 4, "rooms joining at once")
	cold := c.fs.Bool("cold-baseline", false, "read the idle memory baseline before any room has run, not after a warm-up room")
	asJSON := c.fs.Bool("json", false, "print the report as JSON")
	table := c.fs.Bool("table", false, "print one table row (with --header for the header)")
	header := c.fs.Bool("header", false, "with --table, print the header line first")
	pos, err := c.parse(e, args[1:])
	if err != nil {
		return err
	}
	if err := c.wantArgs(pos); err != nil {
		return err
	}
	if *rooms < 1 {
		return c.usagef("--rooms must be at least 1")
	}
	if *duration <= 0 {
		return c.usagef("--duration must be positive")
	}
	o := loadgen.Options{Rooms: *rooms, Duration: *duration, Warmup: *warmup, PID: *pid, Direct: *direct,
		NoNACK: *noNACK, Loopback: *loopback, JoinConcurrency: *concurrency, ColdBaseline: *cold}
	if !*direct {
		o.Server = cf.server
		if o.Token, err = cf.token(e); err != nil {
			return err
		}
	}
	rep, err := loadgen.Run(ctx, o)
	if err != nil {
		if rep != nil {
			rep.Write(e.stderr)
		}
		return fmt.Errorf("bench rooms: %w", err)
	}
	switch {
	case *asJSON:
		out := struct {
			*loadgen.Report
			CPUPerRoomPct float64
			RSSPerRoomMB  float64
		}{rep, rep.CPUPerRoomPct(), rep.RSSPerRoomMB()}
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	case *table:
		if *header {
			fmt.Fprintln(e.stdout, loadgen.TableHeader)
		}
		fmt.Fprintln(e.stdout, rep.TableRow())
	default:
		rep.Write(e.stdout)
	}
	return nil
}
