// Command agendaload measures the agenda's live updates under load against
// a running daemon: it creates N series through the admin API, signs both
// people of each in through their personal links, opens two agenda-page
// WebSockets per series (/agenda/ws, no WebRTC), and has every client edit
// its own talking point once a second. It reports the propagation latency
// from one client sending an edit to the other client receiving the event
// (p50/p95/p99, one process so one clock), refused or conflicting ops, and
// the daemon's CPU over the run (process_cpu_seconds_total from /metrics).
//
//	go build -o /tmp/agendaload ./agenda/cmd/agendaload
//	/tmp/agendaload -server http://127.0.0.1:8080 -token-file ./data/admin.token -rooms 500 -duration 60s
//
// It is a tool for the lead, not part of the daemon.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/oneonone/oneonone/agenda"
	"github.com/oneonone/oneonone/agenda/httpapi"
	"github.com/oneonone/oneonone/meet/signal"
)

func main() {
	server := flag.String("server", "http://127.0.0.1:8080", "daemon base URL")
	tokenFile := flag.String("token-file", "./data/admin.token", "admin token file")
	rooms := flag.Int("rooms", 500, "series (rooms), two agenda clients each")
	duration := flag.Duration("duration", 60*time.Second, "how long every client edits")
	rate := flag.Duration("every", time.Second, "time between one client's edits")
	flag.Parse()
	if err := run(*server, *tokenFile, *rooms, *duration, *rate); err != nil {
		fmt.Fprintln(os.Stderr, "agendaload:", err)
		os.Exit(1)
	}
}

type client struct {
	name    string
	peer    *client
	conn    *signal.WSConn
	item    string
	version atomic.Int64
	waiting chan agenda.Result // results of this client's ops
}

type stats struct {
	mu        sync.Mutex
	lat       []time.Duration
	conflicts atomic.Int64
	errors    atomic.Int64
	sent      atomic.Int64
}

func run(server, tokenFile string, n int, duration, every time.Duration) error {
	tok, err := os.ReadFile(tokenFile)
	if err != nil {
		return err
	}
	token := strings.TrimSpace(string(tok))
	ctx := context.Background()
	codec := signal.NewCodec()
	if err := httpapi.RegisterCodec(codec); err != nil {
		return err
	}
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	start := time.Now().UTC().Add(-5 * time.Minute).Truncate(time.Minute)
	key := start.Format("20060102T150405Z")
	run := strconv.FormatInt(time.Now().Unix(), 36)

	fmt.Printf("setting up %d rooms × 2 agenda clients…\n", n)
	var clients []*client
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	var setupErr atomic.Value
	st := &stats{}
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			a, b, err := setupRoom(ctx, server, token, tr, codec, st, run, i, start, key)
			if err != nil {
				setupErr.Store(err)
				return
			}
			mu.Lock()
			clients = append(clients, a, b)
			mu.Unlock()
		}()
	}
	wg.Wait()
	if e := setupErr.Load(); e != nil {
		return e.(error)
	}
	cpu0, _ := daemonCPU(server)
	fmt.Printf("%d clients connected; each edits every %v for %v\n", len(clients), every, duration)

	t0 := time.Now()
	deadline := t0.Add(duration)
	for i, c := range clients {
		wg.Add(1)
		// Spread the clients' ticks over the period, as people are.
		offset := time.Duration(int64(every) * int64(i) / int64(len(clients)))
		go func() {
			defer wg.Done()
			time.Sleep(offset)
			t := time.NewTicker(every)
			defer t.Stop()
			for seq := 0; time.Now().Before(deadline); seq++ {
				c.edit(st, seq)
				<-t.C
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(t0)
	time.Sleep(500 * time.Millisecond) // the last events
	cpu1, cerr := daemonCPU(server)
	for _, c := range clients {
		c.conn.Close("done")
	}
	st.mu.Lock()
	lat := slices.Clone(st.lat)
	st.mu.Unlock()
	slices.Sort(lat)
	q := func(p float64) time.Duration {
		if len(lat) == 0 {
			return 0
		}
		return lat[min(len(lat)-1, int(float64(len(lat))*p))]
	}
	fmt.Printf("ops sent %d in %v (%.0f/s); events measured %d; conflicts %d; errors %d\n",
		st.sent.Load(), elapsed.Round(time.Millisecond), float64(st.sent.Load())/elapsed.Seconds(), len(lat), st.conflicts.Load(), st.errors.Load())
	fmt.Printf("propagation latency (sender's op → other client's event): p50 %v  p95 %v  p99 %v  max %v\n",
		q(0.50).Round(time.Microsecond), q(0.95).Round(time.Microsecond), q(0.99).Round(time.Microsecond), q(1).Round(time.Microsecond))
	if cerr == nil {
		fmt.Printf("daemon CPU: %.1f s over %.1f s = %.0f%% of one core\n", cpu1-cpu0, elapsed.Seconds(), 100*(cpu1-cpu0)/elapsed.Seconds())
	} else {
		fmt.Printf("daemon CPU: unknown (%v)\n", cerr)
	}
	return nil
}

// edit changes the client's own item's text, stamped with the send time,
// and waits for the result so the next edit is based on the new version.
func (c *client) edit(st *stats, seq int) {
	id := fmt.Sprintf("%s.%d", c.name, seq)
	text := fmt.Sprintf("%s %d @%d", c.name, seq, time.Now().UnixNano())
	op := agenda.WireOp{ID: id, Kind: agenda.OpEdit, Item: c.item, Field: agenda.FieldText, Value: text, BaseVersion: c.version.Load()}
	if err := c.conn.Send(signal.Message{Type: agenda.MsgOp, ID: id, Data: &op}); err != nil {
		st.errors.Add(1)
		return
	}
	st.sent.Add(1)
	select {
	case res := <-c.waiting:
		if res.Status == agenda.StatusConflict {
			st.conflicts.Add(1)
		}
		if res.Item != nil {
			c.version.Store(res.Item.Version)
		}
	case <-time.After(10 * time.Second):
		st.errors.Add(1)
	}
}

// read receives a client's messages: its own results, and the other
// client's events whose text carries their send time.
func (c *client) read(st *stats) {
	for {
		m, err := c.conn.Receive(context.Background())
		var pe *signal.ProtocolError
		if errors.As(err, &pe) {
			continue
		}
		if err != nil {
			return
		}
		switch d := m.Data.(type) {
		case *agenda.Result:
			select {
			case c.waiting <- *d:
			default:
			}
		case *httpapi.OpError:
			st.errors.Add(1)
			select {
			case c.waiting <- agenda.Result{}:
			default:
			}
		case *agenda.Event:
			if d.Item.ID != c.peer.item {
				continue
			}
			if _, ts, ok := strings.Cut(d.Item.Text, " @"); ok {
				if ns, err := strconv.ParseInt(ts, 10, 64); err == nil {
					l := time.Since(time.Unix(0, ns))
					st.mu.Lock()
					st.lat = append(st.lat, l)
					st.mu.Unlock()
				}
			}
		}
	}
}

func setupRoom(ctx context.Context, server, token string, tr *http.Transport, codec *signal.Codec, st *stats, run string, i int, start time.Time, key string) (*client, *client, error) {
	admin := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	var se struct{ ID string }
	body := map[string]any{
		"manager": map[string]string{"email": fmt.Sprintf("m%d.%s@load.example", i, run)},
		"report":  map[string]string{"email": fmt.Sprintf("r%d.%s@load.example", i, run)},
		"start":   start.Format("2006-01-02T15:04:05"), "timezone": "UTC", "cadence": "weekly", "duration": "30m", "team": "load",
	}
	if err := call(admin, token, "POST", server+"/api/v1/series", body, &se); err != nil {
		return nil, nil, err
	}
	var links struct{ Manager, Report string }
	if err := call(admin, token, "GET", server+"/api/v1/series/"+se.ID+"/links", nil, &links); err != nil {
		return nil, nil, err
	}
	var cs [2]*client
	for j, link := range []string{links.Manager, links.Report} {
		jar, _ := cookiejar.New(nil)
		hc := &http.Client{Transport: tr, Jar: jar, Timeout: 30 * time.Second}
		resp, err := hc.Get(link)
		if err != nil {
			return nil, nil, err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		ws := "ws" + strings.TrimPrefix(server, "http") + "/agenda/ws?series=" + se.ID + "&key=" + key
		dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		conn, err := signal.Dial(dctx, ws, signal.Options{Codec: codec, QueueSize: 256}, &websocket.DialOptions{HTTPClient: hc})
		cancel()
		if err != nil {
			return nil, nil, err
		}
		first, err := conn.Receive(ctx)
		if err != nil || first.Type != agenda.MsgSnapshot {
			return nil, nil, fmt.Errorf("no snapshot: %v %v", first.Type, err)
		}
		c := &client{name: fmt.Sprintf("c%d-%d", i, j), conn: conn, waiting: make(chan agenda.Result, 1)}
		c.item = c.name + "-" + run
		add := agenda.WireOp{ID: c.item + ".add", Kind: agenda.OpAdd, Item: c.item, Add: &agenda.WireNew{Kind: agenda.KindTopic, Text: c.name}}
		conn.Send(signal.Message{Type: agenda.MsgOp, ID: add.ID, Data: &add})
		for {
			m, err := conn.Receive(ctx)
			if err != nil {
				return nil, nil, err
			}
			if r, ok := m.Data.(*agenda.Result); ok && r.OpID == add.ID {
				if r.Item == nil {
					return nil, nil, fmt.Errorf("add refused: %+v", r)
				}
				c.version.Store(r.Item.Version)
				break
			}
			if e, ok := m.Data.(*httpapi.OpError); ok {
				return nil, nil, fmt.Errorf("add refused: %s %s", e.Field, e.Message)
			}
		}
		cs[j] = c
	}
	cs[0].peer, cs[1].peer = cs[1], cs[0]
	for _, c := range cs {
		go c.read(st)
	}
	return cs[0], cs[1], nil
}

func call(hc *http.Client, token, method, url string, in, out any) error {
	var rd io.Reader
	if in != nil {
		b, _ := json.Marshal(in)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, url, rd)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		return fmt.Errorf("%s %s: %d %s", method, url, resp.StatusCode, b)
	}
	return json.Unmarshal(b, out)
}

// daemonCPU reads process_cpu_seconds_total from the daemon's /metrics.
func daemonCPU(server string) (float64, error) {
	resp, err := http.Get(server + "/metrics")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "process_cpu_seconds_total "); ok {
			return strconv.ParseFloat(strings.TrimSpace(v), 64)
		}
	}
	return 0, errors.New("no process_cpu_seconds_total in /metrics")
}
