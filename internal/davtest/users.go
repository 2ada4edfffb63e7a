package davtest

import (
	"context"
	"fmt"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Delegate is the account RadicaleUsers lets write into every user's
// calendars, as the one delegated account of a company's CalDAV server
// writes into each manager's calendar (caldav.url_template).
const Delegate = "assistant"

// RadicaleUsers starts radicale with htpasswd auth for Delegate and each
// of users, and a calendar collection /{user}/1on1/ for each user. Rights
// let each user into their own collections only, and Delegate into all.
// The Servers returned, one per user, share the one process: URL is that
// user's calendar, and the credentials are Delegate's. TemplateURL gives
// the url_template of the calendars.
func RadicaleUsers(t testing.TB, users ...string) map[string]Server {
	t.Helper()
	bin := lookBinary(t, "radicale")
	dir := t.TempDir()
	port := freePort(t)
	var lines strings.Builder
	for _, u := range append([]string{Delegate}, users...) {
		fmt.Fprintf(&lines, "%s:%s\n", u, password)
	}
	htpasswd := filepath.Join(dir, "users")
	writeFile(t, htpasswd, lines.String())
	rights := filepath.Join(dir, "rights")
	// The first matching section wins; Radicale formats {user} itself.
	writeFile(t, rights, fmt.Sprintf(`[delegate]
user: %s
collection: .*
permissions: RrWw

[owner]
user: .+
collection: {user}(/.*)?
permissions: RrWw

[root]
user: .+
collection:
permissions: R
`, Delegate))
	conf := filepath.Join(dir, "config")
	writeFile(t, conf, fmt.Sprintf(`[server]
hosts = 127.0.0.1:%d
[auth]
type = htpasswd
htpasswd_filename = %s
htpasswd_encryption = plain
delay = 0
[rights]
type = from_file
file = %s
[storage]
filesystem_folder = %s
[web]
type = none
[logging]
level = warning
mask_passwords = True
`, port, htpasswd, rights, filepath.Join(dir, "collections")))
	root := fmt.Sprintf("http://127.0.0.1:%d/", port)
	start(t, "radicale", exec.Command(bin, "--config", conf), root, dir)
	out := make(map[string]Server, len(users))
	for _, u := range users {
		s := Server{Name: "radicale", Root: root, URL: root + u + "/1on1/", Username: Delegate, Password: password,
			HTTPClient: &http.Client{Timeout: 30 * time.Second}, SyncCollection: true, CTag: true, SyncData: true, Auth: true,
			storage: filepath.Join(dir, "collections", "collection-root")}
		// Radicale makes a principal's collection when its owner first
		// signs in; the delegate makes it here instead.
		if r, err := s.Do(context.Background(), "MKCOL", root+u+"/", nil, nil); err != nil || r.Status != http.StatusCreated {
			t.Fatalf("davtest: radicale: MKCOL /%s/: %v %d %s", u, err, r.Status, r.Body)
		}
		if err := s.MakeCalendar(context.Background(), s.URL); err != nil {
			t.Fatalf("davtest: radicale: calendar of %s: %v", u, err)
		}
		out[u] = s
	}
	return out
}

// TemplateURL is the url_template ({user}) of the calendars RadicaleUsers
// made, for a server s it returned.
func (s Server) TemplateURL() string { return s.Root + "{user}/1on1/" }
