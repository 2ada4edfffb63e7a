// Package daemontest runs a real oneonone daemon in-process for tests in
// other packages (the browser tests): on a free loopback port, media on
// free ports, a temporary data directory, stopped when the test ends. It
// is imported by tests only.
package daemontest

import (
	"bytes"
	"context"
	"encoding/json"
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

	"github.com/oneonone/oneonone/config"
	"github.com/oneonone/oneonone/daemon"
	"github.com/oneonone/oneonone/internal/testutil"
)

// Server is a running daemon.
type Server struct {
	T       *testing.T
	URL     string // also the public URL
	DataDir string
	Token   string // the admin token
	Logs    *testutil.SyncBuffer
	// Stop shuts the daemon down as SIGTERM does; it runs at cleanup too.
	Stop func() error
}

// Start runs a daemon on 127.0.0.1. By default it is in e-mail sign-in
// mode (an SMTP relay is configured, never reached), so a personal link is
// the only way in and strangers are refused; change adjusts the config.
func Start(t *testing.T, change func(*config.Config)) *Server {
	t.Helper()
	return StartOn(t, "127.0.0.1", change)
}

// StartOn is Start with the web server on host (an address of this
// machine), which is also the public URL's host.
func StartOn(t *testing.T, host string, change func(*config.Config)) *Server {
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
			Version: "daemontest", Stdout: io.Discard, Listener: ln,
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
	tok, err := os.ReadFile(filepath.Join(dir, daemon.TokenFile))
	if err != nil {
		t.Fatal(err)
	}
	return &Server{T: t, URL: cfg.PublicURL, DataDir: dir, Token: strings.TrimSpace(string(tok)), Logs: logs, Stop: stop}
}

// API calls the admin API and decodes the answer into out (when not nil);
// a status of 300 or more fails the test.
func (s *Server) API(method, path string, body, out any) {
	s.T.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, s.URL+path, rd)
	req.Header.Set("Authorization", "Bearer "+s.Token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.T.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		s.T.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			s.T.Fatalf("%s %s: %v: %s", method, path, err, b)
		}
	}
}
