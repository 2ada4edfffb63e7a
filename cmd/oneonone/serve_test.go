package main

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/oneonone/oneonone/internal/testutil"
)

var listeningAddr = regexp.MustCompile(`msg=listening addr=(\S+)`)

// serving is "oneonone serve" running in-process.
type serving struct {
	url    string
	stdout *testutil.SyncBuffer
	stderr *testutil.SyncBuffer
	stop   func() int
}

// serveInProcess runs the serve subcommand through run, on 127.0.0.1:0,
// and waits until it logs its address.
func serveInProcess(t *testing.T, environ []string, args ...string) *serving {
	t.Helper()
	s := &serving{stdout: &testutil.SyncBuffer{}, stderr: &testutil.SyncBuffer{}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, append([]string{"serve", "--listen", "127.0.0.1:0"}, args...), strings.NewReader(""), s.stdout, s.stderr, environ)
	}()
	deadline := time.After(30 * time.Second)
	for s.url == "" {
		select {
		case code := <-done:
			cancel()
			t.Fatalf("serve exited with %d before listening:\n%s", code, s.stderr)
		case <-deadline:
			cancel()
			t.Fatalf("serve did not listen within 30s:\n%s", s.stderr)
		case <-time.After(10 * time.Millisecond):
		}
		if m := listeningAddr.FindStringSubmatch(s.stderr.String()); m != nil {
			s.url = "http://" + m[1]
		}
	}
	code := -1
	s.stop = func() int {
		if code == -1 {
			cancel()
			code = <-done
		}
		return code
	}
	t.Cleanup(func() { s.stop() })
	return s
}

func TestServeFirstStartRestartAndSecondInstance(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "data")
	s := serveInProcess(t, nil, "--data", dataDir)

	tokenPath := filepath.Join(dataDir, "admin.token")
	fi, err := os.Stat(tokenPath)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Errorf("admin.token mode %o, want 600", perm)
	}
	b, _ := os.ReadFile(tokenPath)
	token := strings.TrimSpace(string(b))
	if !strings.Contains(s.stdout.String(), token) {
		t.Errorf("first start did not print the token on stdout: %q", s.stdout)
	}
	if strings.Contains(s.stderr.String(), token) {
		t.Error("the token is in the logs")
	}

	environ := []string{"ONEONONE_SERVER=" + s.url}
	r := runCLI(t, environ, "series", "add", "--manager", "aiko@example.com", "--report", "ren@example.com",
		"--start", "2030-12-02T10:00", "--tz", "Asia/Tokyo", "--data", dataDir)
	if r.code != exitOK {
		t.Fatalf("series add: %s", r.stderr)
	}

	// A second serve on the same directory is refused at once.
	second := &testutil.SyncBuffer{}
	began := time.Now()
	code := run(context.Background(), []string{"serve", "--data", dataDir, "--listen", "127.0.0.1:0"},
		strings.NewReader(""), &testutil.SyncBuffer{}, second, nil)
	if code != exitError {
		t.Errorf("second serve: exit %d, want 1", code)
	}
	if want := "data directory " + dataDir + " is in use by another oneonone (pid "; !strings.Contains(second.String(), want) {
		t.Errorf("second serve said %q, want %q", second, want)
	}
	if time.Since(began) > 5*time.Second {
		t.Error("second serve did not fail at once")
	}

	if code := s.stop(); code != exitOK {
		t.Fatalf("serve stopped with exit %d:\n%s", code, s.stderr)
	}
	if !strings.Contains(s.stderr.String(), "msg=stopped") {
		t.Errorf("no \"stopped\" in the logs:\n%s", s.stderr)
	}

	// Restart keeps the data and the token, and prints no token again.
	again := serveInProcess(t, nil, "--data", dataDir)
	if out := again.stdout.String(); out != "" {
		t.Errorf("restart printed %q on stdout", out)
	}
	r = runCLI(t, []string{"ONEONONE_SERVER=" + again.url}, "series", "list", "--data", dataDir)
	if r.code != exitOK || !strings.Contains(r.stdout, "ren@example.com") {
		t.Errorf("after restart: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

func TestServeReadsConfigFileAndFlagsOverrideIt(t *testing.T) {
	dir := t.TempDir()
	fromFile := filepath.Join(dir, "from-file")
	fromFlag := filepath.Join(dir, "from-flag")
	cfgPath := filepath.Join(dir, "oneonone.yaml")
	yaml := "listen: \"127.0.0.1:1\"\ndata_dir: " + fromFile + "\nlog:\n  format: text\n"
	if err := os.WriteFile(cfgPath, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	// ONEONONE_CONFIG names the file; --listen (in serveInProcess) and
	// --data override it.
	s := serveInProcess(t, []string{"ONEONONE_CONFIG=" + cfgPath}, "--data", fromFlag)
	if _, err := os.Stat(filepath.Join(fromFlag, "admin.token")); err != nil {
		t.Errorf("--data did not override data_dir: %v", err)
	}
	if _, err := os.Stat(fromFile); err == nil {
		t.Error("data_dir from the file was used despite --data")
	}
	if code := s.stop(); code != exitOK {
		t.Errorf("exit %d", code)
	}
}

func TestServeRejectsBadConfig(t *testing.T) {
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(cfgPath, []byte("listen: \":8080\"\nsync:\n  intervall: 1m\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errb testutil.SyncBuffer
	code := run(context.Background(), []string{"serve", "--config", cfgPath, "--data", dir}, strings.NewReader(""), &out, &errb, nil)
	if code != exitError {
		t.Fatalf("exit %d, want 1", code)
	}
	if !strings.Contains(errb.String(), cfgPath+":3") {
		t.Errorf("error %q does not point at %s:3", errb.String(), cfgPath)
	}
}

// serve lowers the collector's target unless GOGC says otherwise.
func TestSetGCPercent(t *testing.T) {
	prev := debug.SetGCPercent(100)
	defer debug.SetGCPercent(prev)
	t.Setenv("GOGC", "") // restored after the test
	os.Unsetenv("GOGC")
	setGCPercent(slog.New(slog.DiscardHandler))
	if got := debug.SetGCPercent(100); got != defaultGCPercent {
		t.Fatalf("GOGC unset: gc percent %d, want %d", got, defaultGCPercent)
	}
	t.Setenv("GOGC", "100")
	setGCPercent(slog.New(slog.DiscardHandler))
	if got := debug.SetGCPercent(100); got != 100 {
		t.Fatalf("GOGC=100 overridden: gc percent %d", got)
	}
}
