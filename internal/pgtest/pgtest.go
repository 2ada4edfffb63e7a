// Package pgtest gives tests a fresh, empty PostgreSQL database each. With
// ONEONONE_TEST_POSTGRES_DSN set it creates databases on that server;
// otherwise it starts one throwaway cluster per test binary from the
// PostgreSQL binaries installed on the machine (never a server that happens
// to be running). It is for tests only: it holds that cluster in package
// state, which production code must not do.
//
// A test package that uses DSN calls Main from TestMain, which stops the
// cluster and removes its files when the tests are done:
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
package pgtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// EnvDSN names the environment variable holding the URL of a PostgreSQL
// server (a superuser or a role with CREATEDB) to use instead of a
// throwaway cluster, e.g. postgres://postgres@127.0.0.1:5432/postgres.
const EnvDSN = "ONEONONE_TEST_POSTGRES_DSN"

// The once-per-test-binary cluster. Package state is acceptable here: it is
// a test helper, and a test binary is one process.
var (
	mainRunning atomic.Bool
	startOnce   sync.Once
	shared      *cluster
	sharedErr   error
)

// errNoBinaries marks a machine without PostgreSQL installed.
var errNoBinaries = errors.New("no PostgreSQL server binaries (initdb, postgres) found under /usr/lib/postgresql/*/bin or in PATH")

// Main runs the tests of a package, then stops the cluster that DSN may
// have started and removes its directory, and exits with the tests' code.
func Main(m *testing.M) {
	mainRunning.Store(true)
	code := m.Run()
	if shared != nil {
		if err := shared.stop(); err != nil {
			fmt.Fprintln(os.Stderr, "pgtest:", err)
		}
	}
	os.Exit(code)
}

// DSN returns the postgres:// URL of a new, empty database that is dropped
// when t ends. Without PostgreSQL binaries it fails the test when CI is set
// and skips it otherwise.
func DSN(t testing.TB) string {
	t.Helper()
	admin := os.Getenv(EnvDSN)
	if admin == "" {
		if !mainRunning.Load() {
			t.Fatal("pgtest: call pgtest.Main(m) from TestMain, so the PostgreSQL cluster is stopped after the tests")
		}
		startOnce.Do(func() { shared, sharedErr = startCluster() })
		switch {
		case errors.Is(sharedErr, errNoBinaries) && os.Getenv("CI") == "":
			t.Skipf("pgtest: SKIPPING PostgreSQL test: %v. Install postgresql or set %s; with CI set this fails instead.", sharedErr, EnvDSN)
		case sharedErr != nil:
			t.Fatalf("pgtest: %v", sharedErr)
		}
		admin = shared.adminDSN()
	}
	dsn, err := createDatabase(t, admin)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	return dsn
}

// createDatabase creates a database with a random name on the server of
// admin and schedules dropping it.
func createDatabase(t testing.TB, admin string) (string, error) {
	u, err := url.Parse(admin)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return "", fmt.Errorf("%s must be a postgres:// URL", EnvDSN)
	}
	b := make([]byte, 6)
	rand.Read(b)
	name := "oneonone_test_" + hex.EncodeToString(b)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := adminExec(ctx, admin, `CREATE DATABASE `+name); err != nil {
		return "", fmt.Errorf("create database: %w", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		err := adminExec(ctx, admin, `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`)
		var pe *pgconn.PgError
		if errors.As(err, &pe) && pe.Code == "42601" { // before PostgreSQL 13: no FORCE
			err = adminExec(ctx, admin, `DROP DATABASE IF EXISTS `+name)
		}
		if err != nil {
			t.Errorf("pgtest: drop database %s: %v", name, err)
		}
	})
	u.Path = "/" + name
	return u.String(), nil
}

func adminExec(ctx context.Context, dsn, sql string) error {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, sql)
	return err
}

// cluster is a PostgreSQL server this process started.
type cluster struct {
	dir  string // owned by the server's user; holds data/, the socket and the log
	port int
	cmd  *exec.Cmd
	done chan struct{} // closed when the server has exited
}

func (c *cluster) adminDSN() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", c.port)
}

// findBinaries returns the directory holding initdb and postgres: the
// highest version under /usr/lib/postgresql (Debian, Ubuntu), else PATH.
func findBinaries() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return versionOf(dirs[i]) > versionOf(dirs[j]) })
	for _, d := range dirs {
		if isExecutable(filepath.Join(d, "initdb")) && isExecutable(filepath.Join(d, "postgres")) {
			return d, nil
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		d := filepath.Dir(p)
		if isExecutable(filepath.Join(d, "postgres")) {
			return d, nil
		}
	}
	return "", errNoBinaries
}

// versionOf reads the version from /usr/lib/postgresql/<version>/bin.
func versionOf(binDir string) float64 {
	v, _ := strconv.ParseFloat(filepath.Base(filepath.Dir(binDir)), 64)
	return v
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0
}

// startCluster initialises a cluster in a temporary directory and runs it
// on a free loopback port, as the postgres user when this process is root
// (PostgreSQL refuses to run as root).
func startCluster() (*cluster, error) {
	bin, err := findBinaries()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "oneonone-pgtest-")
	if err != nil {
		return nil, err
	}
	var cred *syscall.Credential
	if os.Geteuid() == 0 {
		if cred, err = postgresUser(); err == nil {
			err = os.Chown(dir, int(cred.Uid), int(cred.Gid))
		}
		if err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
	}
	data := filepath.Join(dir, "data")
	initdb := exec.Command(filepath.Join(bin, "initdb"), "-D", data, "-U", "postgres", "-A", "trust",
		"-E", "UTF8", "--locale=C", "--no-sync")
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	initdb.Env = append(os.Environ(), "LC_ALL=C")
	if out, err := initdb.CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("initdb: %v\n%s", err, out)
	}
	// A port picked free can be taken before the server binds it; retry.
	for attempt := 0; ; attempt++ {
		c, err := runServer(bin, dir, cred)
		if err == nil {
			return c, nil
		}
		if attempt == 2 {
			os.RemoveAll(dir)
			return nil, err
		}
	}
}

func postgresUser() (*syscall.Credential, error) {
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("running as root, PostgreSQL needs another user: %w", err)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err := errors.Join(err1, err2); err != nil {
		return nil, fmt.Errorf("user postgres: %w", err)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

func runServer(bin, dir string, cred *syscall.Credential) (*cluster, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	logPath := filepath.Join(dir, "postgres.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logFile.Close()
	cmd := exec.Command(filepath.Join(bin, "postgres"), "-D", filepath.Join(dir, "data"),
		"-p", strconv.Itoa(port),
		"-c", "listen_addresses=127.0.0.1",
		"-c", "unix_socket_directories="+dir,
		"-c", "fsync=off",
		"-c", "synchronous_commit=off",
		"-c", "full_page_writes=off",
		"-c", "max_connections=300")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// The kernel stops the server (fast shutdown) should this process die
	// without running Main's cleanup, e.g. on a test timeout.
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGINT}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start postgres: %w", err)
	}
	c := &cluster{dir: dir, port: port, cmd: cmd, done: make(chan struct{})}
	go func() { cmd.Wait(); close(c.done) }()

	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		conn, err := pgx.Connect(ctx, c.adminDSN())
		cancel()
		if err == nil {
			conn.Close(context.Background())
			return c, nil
		}
		select {
		case <-c.done:
			return nil, fmt.Errorf("postgres exited while starting on port %d:\n%s", port, tail(logPath))
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			c.stop()
			return nil, fmt.Errorf("postgres did not accept connections on port %d within 30s: %v\n%s", port, err, tail(logPath))
		}
	}
}

// stop shuts the server down (fast shutdown) and removes its directory.
func (c *cluster) stop() error {
	c.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-c.done:
	case <-time.After(15 * time.Second):
		c.cmd.Process.Kill()
		<-c.done
	}
	if err := os.RemoveAll(c.dir); err != nil {
		return fmt.Errorf("remove cluster directory: %w", err)
	}
	return nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// tail returns the end of the server log, for error messages.
func tail(path string) string {
	b, _ := os.ReadFile(path)
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(bytes.TrimSpace(b))
}
