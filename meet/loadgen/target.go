package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"time"

	"github.com/oneonone/oneonone/meet/sfu"
	"github.com/oneonone/oneonone/meet/signal"
)

// Team is the team of the series the generator creates, so a second run
// reuses them instead of creating more.
const Team = "loadgen"

// daemonTarget prepares rooms through a real daemon's admin API and
// personal links, as a person's browser would reach them.
type daemonTarget struct {
	base  *url.URL
	token string
	hc    *http.Client
}

func newDaemonTarget(server, token string) (*daemonTarget, error) {
	base, err := url.Parse(strings.TrimRight(server, "/"))
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("loadgen: server %q is not an http(s) URL", server)
	}
	return &daemonTarget{base: base, token: token, hc: &http.Client{Timeout: 30 * time.Second}}, nil
}

func (d *daemonTarget) api(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, d.base.String()+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+d.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := d.hc.Do(req)
	if err != nil {
		return fmt.Errorf("loadgen: %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if resp.StatusCode >= 300 {
		return fmt.Errorf("loadgen: %s %s: %s: %s", method, path, resp.Status, truncate(string(b), 300))
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("loadgen: %s %s: %w", method, path, err)
		}
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// seriesIDs returns n series of the loadgen team, creating what is missing.
func (d *daemonTarget) seriesIDs(ctx context.Context, n int) ([]string, error) {
	var ids []string
	cursor := ""
	for len(ids) < n {
		var page struct {
			Series []struct {
				ID    string `json:"id"`
				State string `json:"state"`
			} `json:"series"`
			NextCursor string `json:"next_cursor"`
		}
		q := "?team=" + Team + "&limit=100"
		if cursor != "" {
			q += "&cursor=" + url.QueryEscape(cursor)
		}
		if err := d.api(ctx, "GET", "/api/v1/series"+q, nil, &page); err != nil {
			return nil, err
		}
		for _, s := range page.Series {
			if len(ids) < n {
				ids = append(ids, s.ID)
			}
		}
		if page.NextCursor == "" {
			break
		}
		cursor = page.NextCursor
	}
	// New pairs start five minutes ago, so joining falls in a window.
	start := time.Now().UTC().Add(-5 * time.Minute).Truncate(time.Minute)
	for i := len(ids); i < n; i++ {
		var out struct {
			ID string `json:"id"`
		}
		if err := d.api(ctx, "POST", "/api/v1/series", map[string]any{
			"manager":  map[string]string{"email": fmt.Sprintf("load-%d-m-%d@example.com", i, start.Unix()), "name": fmt.Sprintf("Load %d M", i)},
			"report":   map[string]string{"email": fmt.Sprintf("load-%d-r-%d@example.com", i, start.Unix())},
			"start":    start.Format("2006-01-02T15:04:05"),
			"timezone": "UTC", "cadence": "weekly", "duration": "30m", "team": Team,
		}, &out); err != nil {
			return nil, err
		}
		ids = append(ids, out.ID)
	}
	return ids, nil
}

// endpoints opens both personal links of series id, each in its own
// cookie jar, and returns the two participants' endpoints.
func (d *daemonTarget) endpoints(ctx context.Context, id string) ([2]Endpoint, error) {
	var links struct {
		Manager string `json:"manager"`
		Report  string `json:"report"`
	}
	var eps [2]Endpoint
	if err := d.api(ctx, "GET", "/api/v1/series/"+id+"/links", nil, &links); err != nil {
		return eps, err
	}
	ws := "ws" + strings.TrimPrefix(d.base.String(), "http") + "/r/" + id + "/ws"
	for i, link := range []string{links.Manager, links.Report} {
		jar, err := cookiejar.New(nil)
		if err != nil {
			return eps, err
		}
		hc := &http.Client{Jar: jar, Timeout: 30 * time.Second}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, link, nil)
		if err != nil {
			return eps, fmt.Errorf("loadgen: personal link: %w", err)
		}
		resp, err := hc.Do(req)
		if err != nil {
			return eps, fmt.Errorf("loadgen: open personal link: %w", err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return eps, fmt.Errorf("loadgen: personal link of series %s: %s", id, resp.Status)
		}
		eps[i] = Endpoint{WSURL: ws, HTTP: hc}
	}
	return eps, nil
}

func (d *daemonTarget) daemonStats(ctx context.Context) (ProcStats, error) {
	return scrapeProcess(ctx, d.hc, d.base.String()+"/metrics")
}

// directTarget is an in-process sfu.Server behind a bare WebSocket
// endpoint (/ws?room=…&role=…), for developing the generator without a
// daemon. Its figures include the generator's own work.
type directTarget struct {
	srv  *sfu.Server
	http *httptest.Server
}

func newDirectTarget() (*directTarget, error) {
	srv, err := sfu.NewServer(sfu.Config{ListenIP: "127.0.0.1", TCPPort: -1})
	if err != nil {
		return nil, err
	}
	d := &directTarget{srv: srv}
	d.http = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, err := signal.Accept(w, r, signal.Options{}, nil)
		if err != nil {
			return
		}
		srv.Join(r.Context(), r.URL.Query().Get("room"), r.URL.Query().Get("role"), conn)
	}))
	return d, nil
}

func (d *directTarget) endpoints(room string) [2]Endpoint {
	ws := "ws" + strings.TrimPrefix(d.http.URL, "http") + "/ws?room=" + url.QueryEscape(room) + "&role="
	return [2]Endpoint{{WSURL: ws + sfu.RoleManager, HTTP: http.DefaultClient}, {WSURL: ws + sfu.RoleReport, HTTP: http.DefaultClient}}
}

func (d *directTarget) close() {
	d.srv.Close()
	d.http.Close()
}
