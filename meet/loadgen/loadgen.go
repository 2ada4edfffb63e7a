// Package loadgen drives N 1on1 rooms, two pion participants each,
// through a real oneonone daemon (admin API, personal links, the room's
// WebSocket) or an in-process SFU, and measures what the targets
// are stated in: per-room loss, jitter and time to first packet, the
// daemon's CPU and memory, and the kernel's UDP drops. It owns no part of
// the daemon and changes nothing but the series it creates (team
// "loadgen"). The clients are deliberately lean (shared payloads, one
// ticker for every track, no per-packet allocation) so that one core of
// load can drive one core of SFU.
package loadgen

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/pion/webrtc/v4"
)

// Options configure one run.
type Options struct {
	// Server is the daemon's base URL and Token its admin token. Direct
	// instead runs an in-process SFU (development; its figures include
	// the generator).
	Server string
	Token  string
	Direct bool

	Rooms    int
	Duration time.Duration // measured window, after every room has media
	Warmup   time.Duration // after the last join, before measuring; default 3s

	// PID is the daemon's process id, for /proc; 0 reads the daemon's own
	// /metrics (process_cpu_seconds_total, process_resident_memory_bytes).
	PID int
	// NoNACK leaves out the clients' NACK interceptors (cheaper; loss is
	// then raw, without recovery).
	NoNACK bool
	// JoinConcurrency bounds rooms joining at once; default 4.
	JoinConcurrency int
	// Loopback restricts the clients' ICE to the loopback interface (the
	// daemon on the same host).
	Loopback bool
	// ColdBaseline reads the daemon's idle baseline before any room has
	// run. By default one room runs for a moment and leaves first, so the
	// baseline is that of a daemon that has served a room (media code
	// paged in, pools and the shared DTLS certificate made) and memory
	// per room is what each further room adds.
	ColdBaseline bool

	Logger *slog.Logger
}

// Report is the outcome of one run.
type Report struct {
	Rooms     int
	Connected int // rooms whose both participants received media
	Window    time.Duration

	LossPct       float64       // over all rooms' tracks: 1 - unique received / expected
	WorstLossPct  float64       // the worst room
	JitterMs      float64       // mean of the tracks' RFC 3550 jitter at the end
	MaxJitterMs   float64       // the worst track
	TTFPMedian    time.Duration // time to first packet: join to first media, per participant
	TTFPMax       time.Duration
	PacketsSent   int64
	PacketsRecv   int64 // unique, in the window
	PacketsExpect int64

	DaemonCold    ProcStats // before any room
	DaemonIdle    ProcStats // the baseline: after the warm-up room left, or DaemonCold
	DaemonStart   ProcStats // at the window's start
	DaemonEnd     ProcStats // at its end
	DaemonCPUPct  float64   // % of one core over the window
	GenCPUPct     float64   // the generator's own, % of one core
	DaemonWaitPct float64   // % of the window the daemon's threads waited for a CPU (with PID)
	UDP           UDPCounters
	// DaemonDrops is how many of the window's datagrams the kernel dropped
	// on the daemon's own sockets (known with a PID or in Direct mode); the
	// rest of UDP.RcvbufErrors fell on the generator's.
	DaemonDrops int64
	Errors      []string // per-room failures, at most a few
}

// CPUPerRoomPct is the daemon's CPU per room, % of one core.
func (r *Report) CPUPerRoomPct() float64 {
	if r.Connected == 0 {
		return 0
	}
	return r.DaemonCPUPct / float64(r.Connected)
}

// ColdRSSPerRoomMB is RSSPerRoomMB over the baseline read before any
// room, one-off costs of the first room included.
func (r *Report) ColdRSSPerRoomMB() float64 {
	if r.Connected == 0 {
		return 0
	}
	return float64(r.DaemonEnd.RSSBytes-r.DaemonCold.RSSBytes) / 1e6 / float64(r.Connected)
}

// RSSPerRoomMB is the daemon's resident memory per room over its idle
// baseline, in MB (10^6 bytes).
func (r *Report) RSSPerRoomMB() float64 {
	if r.Connected == 0 {
		return 0
	}
	return float64(r.DaemonEnd.RSSBytes-r.DaemonIdle.RSSBytes) / 1e6 / float64(r.Connected)
}

// Write prints the report for people.
func (r *Report) Write(w io.Writer) {
	fmt.Fprintf(w, "rooms %d (connected %d), window %v\n", r.Rooms, r.Connected, r.Window.Round(time.Millisecond))
	fmt.Fprintf(w, "daemon cpu %.1f%% of a core (%.2f%% per room), rss idle %.1f MB → %.1f MB (%.2f MB per room)\n",
		r.DaemonCPUPct, r.CPUPerRoomPct(), float64(r.DaemonIdle.RSSBytes)/1e6, float64(r.DaemonEnd.RSSBytes)/1e6, r.RSSPerRoomMB())
	if r.DaemonCold != r.DaemonIdle {
		fmt.Fprintf(w, "rss before any room %.1f MB; idle after one warm-up room %.1f MB (the baseline)\n",
			float64(r.DaemonCold.RSSBytes)/1e6, float64(r.DaemonIdle.RSSBytes)/1e6)
	}
	fmt.Fprintf(w, "generator cpu %.1f%% of a core; daemon waited for a cpu %.1f%% of the time\n", r.GenCPUPct, r.DaemonWaitPct)
	fmt.Fprintf(w, "loss %.3f%% (worst room %.3f%%), packets sent %d, expected %d, received %d\n",
		r.LossPct, r.WorstLossPct, r.PacketsSent, r.PacketsExpect, r.PacketsRecv)
	fmt.Fprintf(w, "jitter mean %.2f ms, max %.2f ms; time to first packet median %v, max %v\n",
		r.JitterMs, r.MaxJitterMs, r.TTFPMedian.Round(time.Millisecond), r.TTFPMax.Round(time.Millisecond))
	fmt.Fprintf(w, "kernel udp: RcvbufErrors +%d (on the daemon's sockets %d), SndbufErrors +%d, InErrors +%d\n",
		r.UDP.RcvbufErrors, r.DaemonDrops, r.UDP.SndbufErrors, r.UDP.InErrors)
	for _, e := range r.Errors {
		fmt.Fprintf(w, "error: %s\n", e)
	}
}

// TableHeader and TableRow print one line per run for a summary table.
const TableHeader = "rooms  cpu%/room  MB/room  loss%   jitter_ms  ttfp_med  ttfp_max  rcvbuf_err  daemon_cpu%  gen_cpu%  daemon_drops  daemon_wait%  MB/room_cold"

func (r *Report) TableRow() string {
	return fmt.Sprintf("%5d  %9.2f  %7.2f  %6.3f  %9.2f  %8v  %8v  %10d  %11.1f  %8.1f  %12d  %12.1f  %12.2f",
		r.Connected, r.CPUPerRoomPct(), r.RSSPerRoomMB(), r.LossPct, r.JitterMs,
		r.TTFPMedian.Round(time.Millisecond), r.TTFPMax.Round(time.Millisecond), r.UDP.RcvbufErrors, r.DaemonCPUPct, r.GenCPUPct, r.DaemonDrops, r.DaemonWaitPct,
		r.ColdRSSPerRoomMB())
}

type roomRun struct {
	clients [2]*client
	err     error
}

// Run drives the rooms for the warmup and the window and reports.
func Run(ctx context.Context, o Options) (*Report, error) {
	if o.Rooms < 1 {
		return nil, fmt.Errorf("loadgen: rooms must be at least 1")
	}
	if o.Duration <= 0 {
		return nil, fmt.Errorf("loadgen: duration must be positive")
	}
	if o.Warmup <= 0 {
		o.Warmup = 3 * time.Second
	}
	if o.JoinConcurrency <= 0 {
		o.JoinConcurrency = 4
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var filter func(string) bool
	if o.Loopback || o.Direct {
		filter = func(name string) bool { return name == "lo" }
	}
	api, err := newAPI(!o.NoNACK, filter)
	if err != nil {
		return nil, fmt.Errorf("loadgen: webrtc: %w", err)
	}

	// Where the rooms are, and how the daemon is measured.
	var (
		endpoints func(i int) ([2]Endpoint, error)
		daemon    func() (ProcStats, error)
		drops     = func() (int64, error) { return 0, nil }
	)
	if o.Direct {
		d, err := newDirectTarget()
		if err != nil {
			return nil, fmt.Errorf("loadgen: in-process sfu: %w", err)
		}
		defer d.close()
		endpoints = func(i int) ([2]Endpoint, error) { return d.endpoints("room" + strconv.Itoa(i)), nil }
		daemon = func() (ProcStats, error) { return readProc("self") }
		drops = func() (int64, error) { return socketDrops("self") }
	} else {
		d, err := newDaemonTarget(o.Server, o.Token)
		if err != nil {
			return nil, err
		}
		if o.PID > 0 {
			pid := strconv.Itoa(o.PID)
			daemon = func() (ProcStats, error) { return readProc(pid) }
			drops = func() (int64, error) { return socketDrops(pid) }
		} else {
			daemon = func() (ProcStats, error) { return d.daemonStats(ctx) }
		}
		ids, err := d.seriesIDs(ctx, o.Rooms+1) // the last one for the warm-up room
		if err != nil {
			return nil, err
		}
		endpoints = func(i int) ([2]Endpoint, error) { return d.endpoints(ctx, ids[i]) }
	}
	rep := &Report{Rooms: o.Rooms}
	if rep.DaemonCold, err = daemon(); err != nil {
		return nil, err
	}
	rep.DaemonIdle = rep.DaemonCold
	payloads := newPayloads()
	if !o.ColdBaseline {
		if err := warmUp(ctx, api, payloads, o.Rooms, endpoints); err != nil {
			return nil, fmt.Errorf("loadgen: warm-up room: %w", err)
		}
		if rep.DaemonIdle, err = daemon(); err != nil {
			return nil, err
		}
	}

	// One ticker drives every track of the process; a room's clients are
	// spread over ten phases of the 20 ms period so that the publishers
	// do not all burst at once.
	var (
		mu      sync.Mutex
		clients []*client
	)
	tickCtx, stopTicks := context.WithCancel(ctx)
	var tickWG sync.WaitGroup
	tickWG.Add(1)
	go func() {
		defer tickWG.Done()
		const phases = 10
		t := time.NewTicker(tickEvery / phases)
		defer t.Stop()
		for n := 0; ; n++ {
			select {
			case <-tickCtx.Done():
				return
			case <-t.C:
			}
			phase := n % phases
			mu.Lock()
			for i := phase; i < len(clients); i += phases {
				c := clients[i]
				c.send[0].tick()
				c.send[1].tick()
			}
			mu.Unlock()
		}
	}()

	runs := make([]*roomRun, o.Rooms)
	sem := make(chan struct{}, o.JoinConcurrency)
	var joinWG sync.WaitGroup
	for i := range runs {
		rr := &roomRun{}
		runs[i] = rr
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			rr.err = ctx.Err()
			continue
		}
		joinWG.Add(1)
		go func() {
			defer joinWG.Done()
			defer func() { <-sem }()
			rr.err = joinRoom(ctx, api, payloads, i, endpoints, rr, func(c *client) {
				mu.Lock()
				clients = append(clients, c)
				mu.Unlock()
			})
			if rr.err != nil {
				log.Warn("loadgen: room failed", "room", i, "err", rr.err)
			}
		}()
	}
	joinWG.Wait()
	defer func() {
		stopTicks()
		tickWG.Wait()
		var wg sync.WaitGroup
		for _, rr := range runs {
			for _, c := range rr.clients {
				if c != nil {
					wg.Add(1)
					go func() { defer wg.Done(); c.close() }()
				}
			}
		}
		wg.Wait()
	}()

	sleep(ctx, o.Warmup)
	type snap struct{ recv, exp int64 }
	snapshot := func() map[*recvStats]snap {
		m := make(map[*recvStats]snap)
		for _, rr := range runs {
			for _, c := range rr.clients {
				if c == nil {
					continue
				}
				for k := range c.recv {
					st := &c.recv[k]
					m[st] = snap{st.received.Load(), st.expected.Load()}
				}
			}
		}
		return m
	}
	sentTotal := func() int64 {
		var n int64
		mu.Lock()
		for _, c := range clients {
			n += c.send[0].sent.Load() + c.send[1].sent.Load()
		}
		mu.Unlock()
		return n
	}

	udp0, err := readSNMP()
	if err != nil {
		return nil, err
	}
	drops0, err := drops()
	if err != nil {
		return nil, err
	}
	self0, err := readProc("self")
	if err != nil {
		return nil, err
	}
	if rep.DaemonStart, err = daemon(); err != nil {
		return nil, err
	}
	s0, sent0, t0 := snapshot(), sentTotal(), time.Now()
	sleep(ctx, o.Duration)
	s1, sent1, t1 := snapshot(), sentTotal(), time.Now()
	if rep.DaemonEnd, err = daemon(); err != nil {
		return nil, err
	}
	self1, err := readProc("self")
	if err != nil {
		return nil, err
	}
	udp1, err := readSNMP()
	if err != nil {
		return nil, err
	}
	drops1, err := drops()
	if err != nil {
		return nil, err
	}
	rep.DaemonDrops = drops1 - drops0
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}

	rep.Window = t1.Sub(t0)
	secs := rep.Window.Seconds()
	rep.DaemonCPUPct = 100 * (rep.DaemonEnd.CPUSeconds - rep.DaemonStart.CPUSeconds) / secs
	rep.GenCPUPct = 100 * (self1.CPUSeconds - self0.CPUSeconds) / secs
	rep.DaemonWaitPct = 100 * (rep.DaemonEnd.WaitSeconds - rep.DaemonStart.WaitSeconds) / secs
	if o.Direct {
		// One process: the "daemon" is the generator itself.
		rep.GenCPUPct = rep.DaemonCPUPct
	}
	rep.UDP = udp1.sub(udp0)
	rep.PacketsSent = sent1 - sent0

	var ttfps []time.Duration
	var jitters []float64
	for i, rr := range runs {
		if rr.err != nil {
			if len(rep.Errors) < 5 {
				rep.Errors = append(rep.Errors, fmt.Sprintf("room %d: %v", i, rr.err))
			}
			continue
		}
		var recv, exp int64
		ok := true
		for _, c := range rr.clients {
			if err := c.Err(); err != nil && len(rep.Errors) < 5 {
				rep.Errors = append(rep.Errors, fmt.Sprintf("room %d: %v", i, err))
			}
			if c.firstPacket.Load() == 0 {
				ok = false
				continue
			}
			ttfps = append(ttfps, time.Duration(c.firstPacket.Load()))
			for k := range c.recv {
				st := &c.recv[k]
				a, b := s0[st], s1[st]
				recv += b.recv - a.recv
				exp += b.exp - a.exp
				jitters = append(jitters, float64(st.jitterNano.Load())/1e6)
			}
		}
		if !ok {
			continue
		}
		rep.Connected++
		rep.PacketsRecv += recv
		rep.PacketsExpect += exp
		if exp > 0 {
			rep.WorstLossPct = max(rep.WorstLossPct, 100*float64(exp-recv)/float64(exp))
		}
	}
	if rep.PacketsExpect > 0 {
		rep.LossPct = 100 * float64(rep.PacketsExpect-rep.PacketsRecv) / float64(rep.PacketsExpect)
	}
	if len(jitters) > 0 {
		var sum float64
		for _, j := range jitters {
			sum += j
			rep.MaxJitterMs = max(rep.MaxJitterMs, j)
		}
		rep.JitterMs = sum / float64(len(jitters))
	}
	if len(ttfps) > 0 {
		slices.Sort(ttfps)
		rep.TTFPMedian = ttfps[len(ttfps)/2]
		rep.TTFPMax = ttfps[len(ttfps)-1]
	}
	if rep.Connected == 0 {
		return rep, errors.New("loadgen: no room got media")
	}
	return rep, nil
}

// joinRoom opens both participants of room i, joins them together and
// waits until each receives the other's media.
func joinRoom(ctx context.Context, api *webrtc.API, pl *payloads, i int, endpoints func(int) ([2]Endpoint, error), rr *roomRun, started func(*client)) error {
	eps, err := endpoints(i)
	if err != nil {
		return err
	}
	for k, ep := range eps {
		c := newClient(ctx, api, ep, "load"+strconv.Itoa(i)+"-"+strconv.Itoa(k), pl)
		rr.clients[k] = c
		if err := c.join(); err != nil {
			return err
		}
		started(c)
	}
	deadline := time.Now().Add(20 * time.Second)
	for _, c := range rr.clients {
		for c.firstPacket.Load() == 0 || c.recv[0].received.Load() == 0 || c.recv[1].received.Load() == 0 {
			if err := c.Err(); err != nil {
				return err
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("no media within 20s (offers %d, audio %d, video %d packets)", c.offers.Load(), c.recv[0].received.Load(), c.recv[1].received.Load())
			}
			if !sleep(ctx, 10*time.Millisecond) {
				return ctx.Err()
			}
		}
	}
	return nil
}

// warmUp runs room i with media for two seconds, closes it and gives the
// daemon a moment to tear it down.
func warmUp(ctx context.Context, api *webrtc.API, pl *payloads, i int, endpoints func(int) ([2]Endpoint, error)) error {
	var (
		mu      sync.Mutex
		clients []*client
		rr      roomRun
	)
	tickCtx, stop := context.WithCancel(ctx)
	ticked := make(chan struct{})
	go func() {
		defer close(ticked)
		t := time.NewTicker(tickEvery)
		defer t.Stop()
		for {
			select {
			case <-tickCtx.Done():
				return
			case <-t.C:
			}
			mu.Lock()
			for _, c := range clients {
				c.send[0].tick()
				c.send[1].tick()
			}
			mu.Unlock()
		}
	}()
	err := joinRoom(ctx, api, pl, i, endpoints, &rr, func(c *client) {
		mu.Lock()
		clients = append(clients, c)
		mu.Unlock()
	})
	if err == nil {
		sleep(ctx, 2*time.Second)
	}
	stop()
	<-ticked
	for _, c := range rr.clients {
		if c != nil {
			c.close()
		}
	}
	if err != nil {
		return err
	}
	sleep(ctx, 2*time.Second)
	return ctx.Err()
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
