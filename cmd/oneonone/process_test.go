package main

import (
	"bufio"
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/oneonone/oneonone/internal/testutil"
)

// These tests run the real binary as a separate process, because only a
// process can be killed with SIGKILL or sent SIGTERM.

// buildBinary compiles this command into a temporary directory.
func buildBinary(t *testing.T) string {
	t.Helper()
	goCmd, err := exec.LookPath("go")
	if err != nil {
		goCmd = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	bin := filepath.Join(t.TempDir(), "oneonone")
	cmd := exec.Command(goCmd, "build", "-o", bin, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// daemonProcess is "oneonone serve" as a child process.
type daemonProcess struct {
	cmd    *exec.Cmd
	url    string
	stderr *testutil.SyncBuffer
	done   chan error
}

// startProcess runs bin serve over dataDir on 127.0.0.1:0 and waits until
// it logs its address.
func startProcess(t *testing.T, bin, dataDir string) *daemonProcess {
	t.Helper()
	cmd := exec.Command(bin, "serve", "--data", dataDir, "--listen", "127.0.0.1:0")
	cmd.Env = cleanEnviron()
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &daemonProcess{cmd: cmd, stderr: &testutil.SyncBuffer{}, done: make(chan error, 1)}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(p.stderr, line)
			if m := listeningAddr.FindStringSubmatch(line); m != nil {
				addr <- m[1]
			}
		}
		// The pipe is drained before Wait, as os/exec requires.
		p.done <- cmd.Wait()
	}()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			<-p.done
		}
	})
	select {
	case a := <-addr:
		p.url = "http://" + a
	case err := <-p.done:
		t.Fatalf("serve exited before listening: %v\n%s", err, p.stderr)
	case <-time.After(60 * time.Second):
		t.Fatalf("serve did not listen within 60s:\n%s", p.stderr)
	}
	return p
}

// wait waits for the process to exit and returns its exit code.
func (p *daemonProcess) wait(t *testing.T) int {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		t.Fatalf("serve did not exit within 30s:\n%s", p.stderr)
	}
	return p.cmd.ProcessState.ExitCode()
}

// cleanEnviron is this process's environment without ONEONONE_* settings
// that would change the daemon under test.
func cleanEnviron() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "ONEONONE_") {
			env = append(env, kv)
		}
	}
	return env
}

// apiClient is a client of the daemon at url with the token in dataDir.
func apiClient(t *testing.T, url, dataDir string) *client {
	t.Helper()
	cf := clientFlags{server: url, dataDir: dataDir}
	cl, err := cf.client(env{})
	if err != nil {
		t.Fatal(err)
	}
	return cl
}

func TestSIGTERMStopsCleanly(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildBinary(t)
	p := startProcess(t, bin, t.TempDir())
	if r := runCLI(t, nil, "healthcheck", "--server", p.url); r.code != exitOK {
		t.Fatalf("healthcheck: %s", r.stderr)
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := p.wait(t); code != 0 {
		t.Errorf("exit %d after SIGTERM, want 0:\n%s", code, p.stderr)
	}
	if !strings.Contains(p.stderr.String(), "msg=stopped") {
		t.Errorf("no \"stopped\" logged:\n%s", p.stderr)
	}
}

func TestSIGKILLMidImportThenReimportCreatesEveryRowOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and imports thousands of rows")
	}
	bin := buildBinary(t)
	dataDir := t.TempDir()
	p := startProcess(t, bin, dataDir)

	const rows = 4000
	var b strings.Builder
	b.WriteString("manager_email,report_email,team,start,timezone,cadence\n")
	for i := range rows {
		fmt.Fprintf(&b, "manager%d@example.com,report%d@example.com,team%d,2030-12-02T10:00,Asia/Tokyo,weekly\n", i%50, i, i%7)
	}
	csvPath := filepath.Join(t.TempDir(), "big.csv")
	if err := os.WriteFile(csvPath, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}

	imported := make(chan cliResult, 1)
	go func() {
		imported <- runCLI(t, []string{"ONEONONE_SERVER=" + p.url}, "series", "import", csvPath, "--data", dataDir)
	}()

	// Kill the daemon as soon as the first rows are in.
	cl := apiClient(t, p.url, dataDir)
	ctx := context.Background()
	killed := false
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); {
		var page struct {
			Series []seriesJSON `json:"series"`
		}
		if err := cl.doJSON(ctx, "GET", "/api/v1/series", url.Values{"limit": {"1"}}, nil, &page); err == nil && len(page.Series) > 0 {
			if err := p.cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			killed = true
			break
		}
		time.Sleep(2 * time.Millisecond)
	}
	if !killed {
		t.Fatal("no row arrived within 60s")
	}
	p.wait(t)
	first := <-imported
	if first.code == exitOK {
		t.Logf("the import finished before the kill landed; the re-import still must create nothing twice")
	} else if !strings.HasPrefix(first.stderr, "oneonone: ") {
		t.Errorf("killed import: exit %d, stderr %q", first.code, first.stderr)
	}

	// Restart over the same directory: the lock died with the process.
	p2 := startProcess(t, bin, dataDir)
	before := countSeries(t, apiClient(t, p2.url, dataDir))
	t.Logf("rows stored before the kill: %d of %d", before, rows)
	second := runCLI(t, []string{"ONEONONE_SERVER=" + p2.url}, "series", "import", csvPath, "--json", "--data", dataDir)
	if second.code != exitOK {
		t.Fatalf("re-import: exit %d: %s", second.code, second.stderr)
	}
	var rep importReport
	if err := jsonUnmarshal(second.stdout, &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Created)+len(rep.Skipped) != rows || len(rep.Errors) != 0 {
		t.Errorf("re-import: %d created + %d skipped + %d errors, want %d rows", len(rep.Created), len(rep.Skipped), len(rep.Errors), rows)
	}
	if len(rep.Skipped) != before {
		t.Errorf("re-import skipped %d rows, but %d were stored before it", len(rep.Skipped), before)
	}
	if got := countSeries(t, apiClient(t, p2.url, dataDir)); got != rows {
		t.Errorf("after the re-import the API lists %d series, want exactly %d", got, rows)
	}

	if err := p2.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := p2.wait(t); code != 0 {
		t.Errorf("exit %d after SIGTERM:\n%s", code, p2.stderr)
	}
}

// countSeries counts series through the API, checking that no
// manager/report pair appears twice.
func countSeries(t *testing.T, cl *client) int {
	t.Helper()
	raws, err := listAllSeries(context.Background(), cl, "")
	if err != nil {
		t.Fatal(err)
	}
	pairs := map[string]bool{}
	for _, r := range raws {
		var s seriesJSON
		if err := jsonUnmarshal(string(r), &s); err != nil {
			t.Fatal(err)
		}
		key := s.Manager.Email + "/" + s.Report.Email
		if pairs[key] {
			t.Errorf("pair %s stored twice", key)
		}
		pairs[key] = true
	}
	return len(raws)
}
