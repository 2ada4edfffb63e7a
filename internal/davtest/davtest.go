// Package davtest starts real CalDAV servers for tests — Debian's
// radicale and xandikos — on free loopback ports with temporary storage,
// and talks to them "as another calendar client would" with raw HTTP, so a
// test can change a calendar behind our client's back and check what our
// client wrote without trusting it. It must never import our CalDAV
// client, and is for tests only.
//
// When a server binary is missing the test fails if CI is set, and is
// skipped loudly otherwise (apt-get install radicale xandikos).
package davtest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Server is a running CalDAV server with one calendar for user "aiko".
type Server struct {
	// Name is "radicale" or "xandikos".
	Name string
	// Root is the server's base URL ("http://127.0.0.1:PORT/").
	Root string
	// URL is aiko's calendar collection, ending in "/".
	URL      string
	Username string
	Password string
	// HTTPClient is a plain client for this server (no auth added; the
	// raw helpers add it).
	HTTPClient *http.Client
	// SyncCollection and CTag say what change detection the server offers.
	SyncCollection bool
	CTag           bool
	// SyncData says whether sync-collection returns calendar-data inline
	// (Xandikos 0.2 answers 404 for it, so changed objects cost a
	// calendar-multiget more).
	SyncData bool
	// Auth says whether the server checks the password.
	Auth bool
	// storage is the directory that maps to Root's path "/".
	storage string
}

const (
	user     = "aiko"
	password = "correct horse battery staple"
)

// Radicale starts radicale with htpasswd auth (user aiko) and a calendar
// collection at /aiko/1on1/. It is stopped when the test ends.
func Radicale(t testing.TB) Server {
	t.Helper()
	bin := lookBinary(t, "radicale")
	dir := t.TempDir()
	port := freePort(t)
	htpasswd := filepath.Join(dir, "users")
	// Radicale 3.1 reads plain htpasswd lines; bcrypt would need passlib
	// at each login, which only slows tests down.
	writeFile(t, htpasswd, user+":"+password+"\n")
	conf := filepath.Join(dir, "config")
	writeFile(t, conf, fmt.Sprintf(`[server]
hosts = 127.0.0.1:%d
[auth]
type = htpasswd
htpasswd_filename = %s
htpasswd_encryption = plain
delay = 0
[rights]
type = owner_only
[storage]
filesystem_folder = %s
[web]
type = none
[logging]
level = warning
mask_passwords = True
`, port, htpasswd, filepath.Join(dir, "collections")))
	root := fmt.Sprintf("http://127.0.0.1:%d/", port)
	start(t, "radicale", exec.Command(bin, "--config", conf), root, dir)
	s := Server{Name: "radicale", Root: root, URL: root + user + "/1on1/", Username: user, Password: password,
		HTTPClient: &http.Client{Timeout: 30 * time.Second}, SyncCollection: true, CTag: true, SyncData: true, Auth: true,
		storage: filepath.Join(dir, "collections", "collection-root")}
	if err := s.MakeCalendar(context.Background(), s.URL); err != nil {
		t.Fatalf("davtest: radicale: %v", err)
	}
	return s
}

// Xandikos starts xandikos with --defaults, which makes the principal
// /aiko/ and the calendar /aiko/calendars/calendar/. Xandikos has no
// authentication of its own (it expects a proxy in front), so it takes
// any credentials.
func Xandikos(t testing.TB) Server {
	t.Helper()
	bin := lookBinary(t, "xandikos")
	dir := t.TempDir()
	port := freePort(t)
	root := fmt.Sprintf("http://127.0.0.1:%d/", port)
	cmd := exec.Command(bin, "-d", filepath.Join(dir, "data"), "--defaults",
		"--current-user-principal", "/"+user+"/", "-l", "127.0.0.1", "-p", fmt.Sprint(port))
	start(t, "xandikos", cmd, root, dir)
	return Server{Name: "xandikos", Root: root, URL: root + user + "/calendars/calendar/", Username: user, Password: password,
		HTTPClient: &http.Client{Timeout: 30 * time.Second}, SyncCollection: true, CTag: true,
		storage: filepath.Join(dir, "data")}
}

// Each runs f once per server, as a subtest named after it.
func Each(t *testing.T, f func(t *testing.T, s Server)) {
	t.Helper()
	servers := []struct {
		name  string
		start func(testing.TB) Server
	}{{"radicale", Radicale}, {"xandikos", Xandikos}}
	for _, srv := range servers {
		t.Run(srv.name, func(t *testing.T) { f(t, srv.start(t)) })
	}
}

func lookBinary(t testing.TB, name string) string {
	t.Helper()
	for _, p := range []string{"/usr/bin/" + name, "/usr/local/bin/" + name} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	msg := fmt.Sprintf("davtest: %s is not installed (apt-get install %s); this test needs a real CalDAV server", name, name)
	if os.Getenv("CI") != "" {
		t.Fatal(msg + " and CI is set, so it fails instead of skipping")
	}
	t.Skip("SKIPPED LOUDLY: " + msg + " (it would fail with CI set)")
	return ""
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("davtest: free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func writeFile(t testing.TB, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatalf("davtest: %v", err)
	}
}

// start runs cmd, waits until root answers HTTP, and stops it (SIGTERM,
// then SIGKILL) when the test ends. The server's output goes to a log
// file that is printed when the test failed.
func start(t testing.TB, name string, cmd *exec.Cmd, root, dir string) {
	t.Helper()
	logPath := filepath.Join(dir, name+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatalf("davtest: %v", err)
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.Env = append(os.Environ(), "HOME="+dir)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		t.Fatalf("davtest: start %s: %v", name, err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
		logFile.Close()
		if t.Failed() {
			if b, err := os.ReadFile(logPath); err == nil && len(b) > 0 {
				t.Logf("davtest: %s log:\n%s", name, tail(b, 4000))
			}
		}
	})
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(20 * time.Second)
	for {
		select {
		case err := <-done:
			b, _ := os.ReadFile(logPath)
			t.Fatalf("davtest: %s exited before answering: %v\n%s", name, err, tail(b, 4000))
		default:
		}
		resp, err := client.Get(root)
		if err == nil {
			resp.Body.Close()
			return
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(logPath)
			t.Fatalf("davtest: %s did not answer at %s within 20s: %v\n%s", name, root, err, tail(b, 4000))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

// Response is a raw answer.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// ETag is the ETag header without quotes.
func (r Response) ETag() string {
	return strings.Trim(strings.TrimPrefix(r.Header.Get("ETag"), "W/"), `"`)
}

// Do sends one raw request to ref (resolved against the server root),
// with basic auth, and reads the answer. It never goes through our CalDAV
// client.
func (s Server) Do(ctx context.Context, method, ref string, header http.Header, body []byte) (Response, error) {
	base, _ := url.Parse(s.Root)
	u, err := base.Parse(ref)
	if err != nil {
		return Response{}, err
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return Response{}, err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.SetBasicAuth(s.Username, s.Password)
	resp, err := s.HTTPClient.Do(req)
	if err != nil {
		return Response{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return Response{}, err
	}
	return Response{Status: resp.StatusCode, Header: resp.Header, Body: b}, nil
}

// MakeCalendar creates a calendar collection at ref with MKCALENDAR.
func (s Server) MakeCalendar(ctx context.Context, ref string) error {
	r, err := s.Do(ctx, "MKCALENDAR", ref, http.Header{"Content-Type": {"application/xml"}}, []byte(`<?xml version="1.0" encoding="utf-8"?>
<c:mkcalendar xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><d:set><d:prop><d:displayname>1on1</d:displayname>
<c:supported-calendar-component-set><c:comp name="VEVENT"/></c:supported-calendar-component-set></d:prop></d:set></c:mkcalendar>`))
	if err != nil {
		return fmt.Errorf("MKCALENDAR %s: %w", ref, err)
	}
	if r.Status != http.StatusCreated {
		return fmt.Errorf("MKCALENDAR %s: HTTP %d: %s", ref, r.Status, r.Body)
	}
	return nil
}

// Put writes an iCalendar object at ref: with If-Match when etag is set,
// else unconditionally. It returns the new ETag ("" if the server gave
// none).
func (s Server) Put(ctx context.Context, ref, ics, etag string) (string, error) {
	h := http.Header{"Content-Type": {"text/calendar; charset=utf-8"}}
	if etag != "" {
		h.Set("If-Match", `"`+etag+`"`)
	}
	r, err := s.Do(ctx, http.MethodPut, ref, h, []byte(ics))
	if err != nil {
		return "", fmt.Errorf("PUT %s: %w", ref, err)
	}
	if r.Status/100 != 2 {
		return "", fmt.Errorf("PUT %s: HTTP %d: %s", ref, r.Status, r.Body)
	}
	return r.ETag(), nil
}

// Get reads an object: its body and ETag.
func (s Server) Get(ctx context.Context, ref string) (string, string, error) {
	r, err := s.Do(ctx, http.MethodGet, ref, nil, nil)
	if err != nil {
		return "", "", fmt.Errorf("GET %s: %w", ref, err)
	}
	if r.Status != http.StatusOK {
		return "", "", fmt.Errorf("GET %s: HTTP %d", ref, r.Status)
	}
	return string(r.Body), r.ETag(), nil
}

// Delete removes an object unconditionally.
func (s Server) Delete(ctx context.Context, ref string) error {
	r, err := s.Do(ctx, http.MethodDelete, ref, nil, nil)
	if err != nil {
		return fmt.Errorf("DELETE %s: %w", ref, err)
	}
	if r.Status/100 != 2 {
		return fmt.Errorf("DELETE %s: HTTP %d: %s", ref, r.Status, r.Body)
	}
	return nil
}

// Object is one calendar object from a raw REPORT.
type Object struct {
	Href string // as the server wrote it
	ETag string
	Data string
}

// Query runs a raw calendar-query REPORT for every VEVENT of the
// collection at ref and returns the objects with their data.
func (s Server) Query(ctx context.Context, ref string) ([]Object, error) {
	body := `<?xml version="1.0" encoding="utf-8"?>
<c:calendar-query xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">
<d:prop><d:getetag/><c:calendar-data/></d:prop>
<c:filter><c:comp-filter name="VCALENDAR"><c:comp-filter name="VEVENT"/></c:comp-filter></c:filter>
</c:calendar-query>`
	r, err := s.Do(ctx, "REPORT", ref, http.Header{"Depth": {"1"}, "Content-Type": {"application/xml; charset=utf-8"}}, []byte(body))
	if err != nil {
		return nil, fmt.Errorf("REPORT calendar-query %s: %w", ref, err)
	}
	if r.Status != http.StatusMultiStatus {
		return nil, fmt.Errorf("REPORT calendar-query %s: HTTP %d: %s", ref, r.Status, r.Body)
	}
	return parseObjects(r.Body)
}

// ListETags lists the collection at ref the way a client without
// sync-collection or ctag does (vdirsyncer): PROPFIND depth 1 for every
// getetag. It returns how many objects it saw.
func (s Server) ListETags(ctx context.Context, ref string) (int, error) {
	r, err := s.Do(ctx, "PROPFIND", ref, http.Header{"Depth": {"1"}, "Content-Type": {"application/xml; charset=utf-8"}},
		[]byte(`<?xml version="1.0" encoding="utf-8"?><d:propfind xmlns:d="DAV:"><d:prop><d:getetag/></d:prop></d:propfind>`))
	if err != nil {
		return 0, fmt.Errorf("PROPFIND %s: %w", ref, err)
	}
	if r.Status != http.StatusMultiStatus {
		return 0, fmt.Errorf("PROPFIND %s: HTTP %d", ref, r.Status)
	}
	objs, err := parseListing(r.Body)
	return objs, err
}

// Seed writes objects (file name → iCalendar text) straight into the
// storage of the existing collection at ref, bypassing HTTP, because both
// servers take ~30 ms per PUT, one at a time. For benchmarks that need
// thousands of objects; what is measured must come after.
func (s Server) Seed(t testing.TB, ref string, objects map[string]string) {
	t.Helper()
	base, _ := url.Parse(s.Root)
	u, err := base.Parse(ref)
	if err != nil {
		t.Fatalf("davtest: seed %s: %v", ref, err)
	}
	dir := filepath.Join(s.storage, filepath.FromSlash(strings.Trim(u.Path, "/")))
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("davtest: seed: collection %s has no storage: %v", u.Path, err)
	}
	for name, data := range objects {
		if strings.ContainsAny(name, "/\\") || strings.HasPrefix(name, ".") {
			t.Fatalf("davtest: seed: bad object name %q", name)
		}
		writeFile(t, filepath.Join(dir, name), data)
	}
	if s.Name != "xandikos" {
		return // Radicale lists its folder on every request
	}
	// Xandikos serves what is committed in the collection's git repository.
	for _, args := range [][]string{{"add", "-A"}, {"commit", "-q", "-m", "davtest seed"}} {
		cmd := exec.Command("git", append([]string{"-C", dir}, args...)...)
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=davtest", "GIT_AUTHOR_EMAIL=davtest@example.com",
			"GIT_COMMITTER_NAME=davtest", "GIT_COMMITTER_EMAIL=davtest@example.com")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("davtest: seed: git %v: %v\n%s", args, err, out)
		}
	}
}
