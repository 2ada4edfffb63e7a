package main

import (
	"context"
	"log/slog"
	"net"
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

// testDaemon is the real daemon running in this process on 127.0.0.1:0
// over a temporary data directory, as the CLI tests' server.
type testDaemon struct {
	url     string
	dataDir string
	stdout  *testutil.SyncBuffer
	logs    *testutil.SyncBuffer
	stop    func() error
}

// startDaemon runs daemon.RunOptions in a goroutine with a 127.0.0.1:0
// listener and waits for OnListen. The daemon is stopped at cleanup.
func startDaemon(t *testing.T, dataDir string) *testDaemon {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.Media.UDPPort, cfg.Media.TCPPort = 0, 0 // media on free ports: daemons run side by side in tests
	cfg.DataDir = dataDir
	cfg.Listen = ln.Addr().String()
	d := &testDaemon{dataDir: dataDir, stdout: &testutil.SyncBuffer{}, logs: &testutil.SyncBuffer{}}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() {
		done <- daemon.RunOptions(ctx, cfg, slog.New(slog.NewTextHandler(d.logs, nil)), daemon.Options{
			Version:  "test",
			Stdout:   d.stdout,
			Listener: ln,
			OnListen: func(a net.Addr) { ready <- a },
		})
	}()
	select {
	case a := <-ready:
		d.url = "http://" + a.String()
	case err := <-done:
		cancel()
		t.Fatalf("daemon exited before listening: %v\nlogs:\n%s", err, d.logs)
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatal("daemon did not listen within 30s")
	}
	d.stop = sync.OnceValue(func() error {
		cancel()
		return <-done
	})
	t.Cleanup(func() {
		if err := d.stop(); err != nil {
			t.Errorf("daemon stop: %v", err)
		}
	})
	return d
}

// env is the environment a CLI user of this daemon would have: the server
// URL, and the token found through --data (no ONEONONE_TOKEN).
func (d *testDaemon) env() []string {
	return []string{"ONEONONE_SERVER=" + d.url}
}

// cli runs a client subcommand against d, finding the token in d's data dir.
func (d *testDaemon) cli(t *testing.T, args ...string) cliResult {
	t.Helper()
	return runCLI(t, d.env(), append(args, "--data", d.dataDir)...)
}

func (d *testDaemon) token(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(d.dataDir, "admin.token"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}
