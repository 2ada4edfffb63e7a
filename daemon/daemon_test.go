package daemon

import (
	"bytes"
	"context"
	"errors"
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
)

// running is a daemon started by start.
type running struct {
	url    string
	stdout *testutil.SyncBuffer
	logs   *testutil.SyncBuffer
	stop   func() error
}

// start runs a daemon on 127.0.0.1:0 over dataDir and waits until it
// accepts connections.
func start(t *testing.T, dataDir string) *running {
	t.Helper()
	return startWith(t, dataDir, func(*config.Config) {})
}

// startWith is start with a change to the default config.
func startWith(t *testing.T, dataDir string, change func(*config.Config)) *running {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.Media.UDPPort, cfg.Media.TCPPort = 0, 0 // media on free ports: daemons run side by side in tests
	cfg.DataDir = dataDir
	cfg.Listen = ln.Addr().String()
	change(&cfg)
	r := &running{stdout: &testutil.SyncBuffer{}, logs: &testutil.SyncBuffer{}}
	logger := slog.New(slog.NewTextHandler(r.logs, nil))
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() {
		done <- RunOptions(ctx, cfg, logger, Options{
			Version:  "test",
			Stdout:   r.stdout,
			Listener: ln,
			OnListen: func(a net.Addr) { ready <- a },
		})
	}()
	select {
	case a := <-ready:
		r.url = "http://" + a.String()
	case err := <-done:
		cancel()
		t.Fatalf("daemon exited before listening: %v\nlogs:\n%s", err, r.logs)
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatal("daemon did not listen within 30s")
	}
	r.stop = sync.OnceValue(func() error {
		cancel()
		return <-done
	})
	t.Cleanup(func() {
		if err := r.stop(); err != nil {
			t.Errorf("daemon stop: %v", err)
		}
	})
	return r
}

func get(t *testing.T, url string) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestRunServesHealthAndStopsCleanly(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	d := start(t, dir)
	for _, path := range []string{"/healthz", "/readyz"} {
		if code := get(t, d.url+path); code != http.StatusOK {
			t.Errorf("GET %s = %d, want 200", path, code)
		}
	}
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o700 {
		t.Errorf("data dir mode %o, want 700", perm)
	}
	if err := d.stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	logs := d.logs.String()
	if !strings.Contains(logs, "msg=stopped") {
		t.Errorf("no \"stopped\" in logs:\n%s", logs)
	}
	if _, err := http.Get(d.url + "/healthz"); err == nil {
		t.Error("daemon still answers after stop")
	}
}

func TestAdminTokenPrintedOnceNeverLogged(t *testing.T) {
	dir := t.TempDir()
	d := start(t, dir)
	tokenPath := filepath.Join(dir, TokenFile)
	b, err := os.ReadFile(tokenPath)
	if err != nil {
		t.Fatal(err)
	}
	token := strings.TrimSpace(string(b))
	if len(token) != 43 { // 32 bytes, base64url without padding
		t.Errorf("token %d chars, want 43", len(token))
	}
	fi, err := os.Stat(tokenPath)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Errorf("token file mode %o, want 600", perm)
	}
	if !strings.Contains(d.stdout.String(), token) {
		t.Errorf("first start did not print the token to stdout: %q", d.stdout.String())
	}
	if err := d.stop(); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(d.logs.String(), token) {
		t.Error("the token appears in the logs")
	}
	if !strings.Contains(d.logs.String(), tokenPath) {
		t.Errorf("the logs do not say where the token is:\n%s", d.logs)
	}

	again := start(t, dir)
	if out := again.stdout.String(); out != "" {
		t.Errorf("second start printed %q; the token is printed on first start only", out)
	}
	b2, _ := os.ReadFile(tokenPath)
	if strings.TrimSpace(string(b2)) != token {
		t.Error("the token changed on restart")
	}
}

func TestSecondDaemonOnSameDataDirIsRefused(t *testing.T) {
	dir := t.TempDir()
	start(t, dir)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.Media.UDPPort, cfg.Media.TCPPort = 0, 0 // media on free ports: daemons run side by side in tests
	cfg.DataDir = dir
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	began := time.Now()
	err = RunOptions(ctx, cfg, nil, Options{Listener: ln, Stdout: &bytes.Buffer{}})
	if !errors.Is(err, ErrDataDirInUse) {
		t.Fatalf("second daemon: err = %v, want ErrDataDirInUse", err)
	}
	want := fmt.Sprintf("data directory %s is in use by another oneonone (pid %d)", dir, os.Getpid())
	if !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not say %q", err, want)
	}
	if time.Since(began) > 5*time.Second {
		t.Error("the second daemon waited instead of failing at once")
	}
}

func TestLockIsReleasedOnStop(t *testing.T) {
	dir := t.TempDir()
	l, err := lockDataDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lockDataDir(dir); !errors.Is(err, ErrDataDirInUse) {
		t.Fatalf("second lock: %v, want ErrDataDirInUse", err)
	}
	if err := l.release(); err != nil {
		t.Fatal(err)
	}
	l2, err := lockDataDir(dir)
	if err != nil {
		t.Fatalf("lock after release: %v", err)
	}
	if err := l2.release(); err != nil {
		t.Fatal(err)
	}
}

func TestEnsureAdminToken(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, TokenFile)
	tok, created, err := ensureAdminToken(path)
	if err != nil || !created {
		t.Fatalf("first call: created=%v err=%v", created, err)
	}
	tok2, created2, err := ensureAdminToken(path)
	if err != nil || created2 || tok2 != tok {
		t.Fatalf("second call: token changed=%v created=%v err=%v", tok2 != tok, created2, err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("temporary files left behind: %v", entries)
	}
	if err := os.WriteFile(path, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := ensureAdminToken(path); err == nil || !strings.Contains(err.Error(), "empty") {
		t.Errorf("empty token file: err = %v, want an error saying so", err)
	}
}

func TestListenFailureReleasesDataDir(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	dir := t.TempDir()
	cfg := config.Default()
	cfg.Media.UDPPort, cfg.Media.TCPPort = 0, 0 // media on free ports: daemons run side by side in tests
	cfg.DataDir = dir
	cfg.Listen = busy.Addr().String()
	err = RunOptions(context.Background(), cfg, nil, Options{Stdout: &bytes.Buffer{}})
	if err == nil || !strings.Contains(err.Error(), "listen on") {
		t.Fatalf("err = %v, want a listen error", err)
	}
	l, err := lockDataDir(dir)
	if err != nil {
		t.Fatalf("data dir still locked after a failed start: %v", err)
	}
	l.release()
}

// TestServesMetricsWithoutToken: Prometheus scrapes /metrics without the
// admin token, and the daemon's collectors are there from the first scrape.
func TestServesMetricsWithoutToken(t *testing.T) {
	d := start(t, filepath.Join(t.TempDir(), "data"))
	resp, err := http.Get(d.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics = %d", resp.StatusCode)
	}
	for _, want := range []string{`oneonone_build_info{goversion="`, `version="test"`, "oneonone_series_overdue", "process_resident_memory_bytes"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}
