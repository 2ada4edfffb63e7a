package browsertest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oneonone/oneonone/internal/testutil"

	"github.com/oneonone/oneonone/config"
	"github.com/oneonone/oneonone/daemon"
)

// server is a real daemon on 127.0.0.1 with media on free ports.
type server struct {
	t       *testing.T
	url     string
	dataDir string
	token   string
	stop    func() error // shut the daemon down as SIGTERM does
}

// startDaemon runs the daemon in-process. By default it is in e-mail
// sign-in mode (an SMTP relay is configured, never reached), so a personal
// link is the only way in and strangers are refused.
func startDaemon(t *testing.T, change func(*config.Config)) *server {
	t.Helper()
	return startDaemonOn(t, "127.0.0.1", change)
}

// startDaemonOn is startDaemon with the web server on host (an address of
// this machine), which is also the public URL's host.
func startDaemonOn(t *testing.T, host string, change func(*config.Config)) *server {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cfg := config.Default()
	cfg.DataDir = dir
	cfg.Listen = ln.Addr().String()
	cfg.PublicURL = "http://" + ln.Addr().String()
	cfg.Media.UDPPort = 0
	cfg.Media.TCPPort = 0
	cfg.SMTP = config.SMTPConfig{Host: "127.0.0.1", Port: 1, From: "oneonone@example.com"}
	if change != nil {
		change(&cfg)
	}
	logs := &testutil.SyncBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() {
		done <- daemon.RunOptions(ctx, cfg, logger, daemon.Options{
			Version: "browsertest", Stdout: io.Discard, Listener: ln,
			OnListen: func(a net.Addr) { ready <- a },
		})
	}()
	select {
	case <-ready:
	case err := <-done:
		cancel()
		t.Fatalf("daemon exited before listening: %v\nlogs:\n%s", err, logs)
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatal("daemon did not listen within 30s")
	}
	stop := sync.OnceValue(func() error {
		cancel()
		return <-done
	})
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("daemon: %v", err)
		}
		if t.Failed() {
			t.Logf("daemon logs:\n%s", logs)
		}
	})
	tok, err := os.ReadFile(filepath.Join(dir, "admin.token"))
	if err != nil {
		t.Fatal(err)
	}
	return &server{t: t, url: cfg.PublicURL, dataDir: dir, token: strings.TrimSpace(string(tok)), stop: stop}
}

func (s *server) api(method, path string, body any, out any) {
	s.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, s.url+path, rd)
	req.Header.Set("Authorization", "Bearer "+s.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		s.t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			s.t.Fatalf("%s %s: %v: %s", method, path, err, b)
		}
	}
}

// pair is a series whose occurrence is under way, and its personal links.
type pair struct {
	ID           string
	Manager      string // personal link
	Report       string
	ManagerEmail string
	ReportEmail  string
	ManagerName  string
	ReportName   string
}

// createPair adds a weekly series that started five minutes ago (so the
// page counts down a real slot) and fetches its personal links.
func (s *server) createPair(manager, report string) pair {
	s.t.Helper()
	tz := "Asia/Tokyo"
	loc, err := time.LoadLocation(tz)
	if err != nil {
		s.t.Fatal(err)
	}
	start := time.Now().Add(-5 * time.Minute).In(loc).Format("2006-01-02T15:04:05")
	p := pair{ManagerName: manager, ReportName: report,
		ManagerEmail: strings.ToLower(manager) + "@example.com", ReportEmail: strings.ToLower(report) + "@example.com"}
	var se struct {
		ID string `json:"id"`
	}
	s.api("POST", "/api/v1/series", map[string]any{
		"manager": map[string]string{"email": p.ManagerEmail, "name": manager},
		"report":  map[string]string{"email": p.ReportEmail, "name": report},
		"start":   start, "timezone": tz, "cadence": "weekly", "duration": "30m",
	}, &se)
	p.ID = se.ID
	var links struct {
		Manager string `json:"manager"`
		Report  string `json:"report"`
	}
	s.api("GET", "/api/v1/series/"+se.ID+"/links", nil, &links)
	if !strings.Contains(links.Manager, "/r/"+se.ID) || !strings.Contains(links.Report, "/r/"+se.ID) {
		s.t.Fatalf("links %+v for series %s", links, se.ID)
	}
	p.Manager, p.Report = links.Manager, links.Report
	return p
}

func (p pair) String() string {
	return fmt.Sprintf("series %s (%s, %s)", p.ID, p.ManagerName, p.ReportName)
}

// freePort returns a port that was free on 127.0.0.1 a moment ago.
func freePort(t *testing.T, network string) string {
	t.Helper()
	if network == "udp" {
		c, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_, port, _ := net.SplitHostPort(c.LocalAddr().String())
		return port
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, port, _ := net.SplitHostPort(l.Addr().String())
	return port
}
