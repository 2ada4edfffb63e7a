package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var createdID = regexp.MustCompile(`created series (\S+) `)

func addSeries(t *testing.T, d *testDaemon, manager, report string, extra ...string) string {
	t.Helper()
	args := append([]string{"series", "add", "--manager", manager, "--report", report,
		"--start", "2030-12-02T10:00", "--tz", "Asia/Tokyo"}, extra...)
	r := d.cli(t, args...)
	if r.code != exitOK {
		t.Fatalf("series add: exit %d: %s", r.code, r.stderr)
	}
	m := createdID.FindStringSubmatch(r.stdout)
	if m == nil {
		t.Fatalf("series add printed %q, want \"created series ID …\"", r.stdout)
	}
	return m[1]
}

func listJSON(t *testing.T, d *testDaemon, args ...string) []seriesJSON {
	t.Helper()
	r := d.cli(t, append([]string{"series", "list", "--json"}, args...)...)
	if r.code != exitOK {
		t.Fatalf("series list --json: exit %d: %s", r.code, r.stderr)
	}
	var out struct {
		Series []seriesJSON `json:"series"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		t.Fatalf("series list --json printed invalid JSON: %v\n%s", err, r.stdout)
	}
	return out.Series
}

func TestSeriesLifecycleThroughTheCLI(t *testing.T) {
	d := startDaemon(t, t.TempDir())

	id := addSeries(t, d, "aiko@example.com", "ren@example.com",
		"--cadence", "biweekly", "--duration", "45m", "--team", "platform",
		"--manager-name", "Aiko", "--report-name", "Ren")
	other := addSeries(t, d, "aiko@example.com", "mei@example.com", "--team", "web")

	// list: the table names both, with their next occurrence.
	r := d.cli(t, "series", "list")
	if r.code != exitOK {
		t.Fatalf("series list: exit %d: %s", r.code, r.stderr)
	}
	for _, want := range []string{"ID", "TEAM", "MANAGER", "REPORT", "CADENCE", "NEXT", "STATE", id, other,
		"platform", "biweekly", "ren@example.com", "2030-12-02 10:00 +09:00", "active"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("series list lacks %q:\n%s", want, r.stdout)
		}
	}
	if got := listJSON(t, d, "--team", "platform"); len(got) != 1 || got[0].ID != id {
		t.Errorf("list --team platform = %+v, want only %s", got, id)
	}

	// show: the series and its next 5 occurrences, flags after the ID.
	r = d.cli(t, "series", "show", id)
	if r.code != exitOK {
		t.Fatalf("series show: exit %d: %s", r.code, r.stderr)
	}
	for _, want := range []string{"Aiko <aiko@example.com>", "Ren <ren@example.com>", "2030-12-02T10:00:00 Asia/Tokyo",
		"biweekly", "45m", "platform", "next occurrences:", "20301202T010000Z", "20301216T010000Z", "scheduled"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("series show lacks %q:\n%s", want, r.stdout)
		}
	}
	if n := strings.Count(r.stdout, "scheduled"); n != 5 {
		t.Errorf("series show lists %d occurrences, want 5:\n%s", n, r.stdout)
	}
	r = runCLI(t, d.env(), "series", "show", id, "--json", "--data", d.dataDir)
	var shown struct {
		Series      seriesJSON       `json:"series"`
		Occurrences []occurrenceJSON `json:"occurrences"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &shown); err != nil || shown.Series.ID != id || len(shown.Occurrences) != 5 {
		t.Errorf("series show --json: err=%v series=%q occurrences=%d", err, shown.Series.ID, len(shown.Occurrences))
	}

	// pause and resume.
	if r := d.cli(t, "series", "pause", id); r.code != exitOK || !strings.Contains(r.stdout, "paused") {
		t.Fatalf("series pause: exit %d: %s%s", r.code, r.stdout, r.stderr)
	}
	if s := findSeries(listJSON(t, d), id); s.State != "paused" {
		t.Errorf("after pause, state = %q", s.State)
	}
	if r := d.cli(t, "series", "resume", id); r.code != exitOK {
		t.Fatalf("series resume: exit %d: %s", r.code, r.stderr)
	}
	if s := findSeries(listJSON(t, d), id); s.State != "active" {
		t.Errorf("after resume, state = %q", s.State)
	}

	// rm, then the id is gone.
	if r := d.cli(t, "series", "rm", other); r.code != exitOK || !strings.Contains(r.stdout, "removed") {
		t.Fatalf("series rm: exit %d: %s%s", r.code, r.stdout, r.stderr)
	}
	if got := listJSON(t, d); len(got) != 1 || got[0].ID != id {
		t.Errorf("after rm, list = %+v", got)
	}
	r = d.cli(t, "series", "show", other)
	if r.code != exitError || !strings.HasPrefix(r.stderr, "oneonone: ") || strings.Count(r.stderr, "\n") != 1 {
		t.Errorf("show of a removed series: exit %d, stderr %q; want exit 1 and one line", r.code, r.stderr)
	}
}

func findSeries(list []seriesJSON, id string) seriesJSON {
	for _, s := range list {
		if s.ID == id {
			return s
		}
	}
	return seriesJSON{}
}

func TestSeriesBadInputExits1WithOneClearLine(t *testing.T) {
	d := startDaemon(t, t.TempDir())
	addSeries(t, d, "aiko@example.com", "ren@example.com")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown zone", []string{"series", "add", "--manager", "a@example.com", "--report", "b@example.com", "--start", "2030-12-01T10:00", "--tz", "Asia/Tokio"}, "(field timezone)"},
		{"bad start", []string{"series", "add", "--manager", "a@example.com", "--report", "b@example.com", "--start", "tomorrow", "--tz", "Asia/Tokyo"}, "(field start)"},
		{"bad duration", []string{"series", "add", "--manager", "a@example.com", "--report", "b@example.com", "--start", "2030-12-01T10:00", "--tz", "Asia/Tokyo", "--duration", "forever"}, "(field duration)"},
		{"duplicate pair", []string{"series", "add", "--manager", "aiko@example.com", "--report", "ren@example.com", "--start", "2030-12-01T10:00", "--tz", "Asia/Tokyo"}, "oneonone: "},
		{"unknown id", []string{"series", "pause", "s_nope"}, "oneonone: "},
		{"missing csv", []string{"series", "import", filepath.Join(t.TempDir(), "nope.csv")}, "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := d.cli(t, tt.args...)
			if r.code != exitError {
				t.Fatalf("exit %d, want 1; stdout=%q stderr=%q", r.code, r.stdout, r.stderr)
			}
			if !strings.HasPrefix(r.stderr, "oneonone: ") || strings.Count(r.stderr, "\n") != 1 {
				t.Errorf("stderr %q: want one line starting with \"oneonone: \"", r.stderr)
			}
			if !strings.Contains(r.stderr, tt.want) {
				t.Errorf("stderr %q lacks %q", r.stderr, tt.want)
			}
		})
	}
}

func TestImportTwiceCreatesOnceThenSkips(t *testing.T) {
	d := startDaemon(t, t.TempDir())
	csv := "manager_email,report_email,team,start,timezone,cadence\n" +
		"aiko@example.com,ren@example.com,platform,2030-12-02T10:00,Asia/Tokyo,weekly\n" +
		"aiko@example.com,mei@example.com,platform,2030-12-03T10:00,Asia/Tokyo,biweekly\n" +
		"kenji@example.com,yuki@example.com,web,2030-12-04T15:00,Europe/Berlin,monthly\n"
	path := filepath.Join(t.TempDir(), "people.csv")
	if err := os.WriteFile(path, []byte(csv), 0o600); err != nil {
		t.Fatal(err)
	}
	r := d.cli(t, "series", "import", path)
	if r.code != exitOK {
		t.Fatalf("first import: exit %d: %s%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{"line 2: created ", "line 3: created ", "line 4: created ", "3 created, 0 skipped, 0 failed"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("first import report lacks %q:\n%s", want, r.stdout)
		}
	}
	r = d.cli(t, "series", "import", path)
	if r.code != exitOK {
		t.Fatalf("second import: exit %d: %s%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{"line 2: skipped: ", "line 4: skipped: ", "0 created, 3 skipped, 0 failed"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("second import report lacks %q:\n%s", want, r.stdout)
		}
	}
	if got := listJSON(t, d); len(got) != 3 {
		t.Errorf("after two imports, %d series, want 3", len(got))
	}

	// Standard input works too.
	r = runCLIStdin(t, d.env(), csv, "series", "import", "-", "--data", d.dataDir)
	if r.code != exitOK || !strings.Contains(r.stdout, "0 created, 3 skipped") {
		t.Errorf("import from stdin: exit %d: %s%s", r.code, r.stdout, r.stderr)
	}
}

func TestImportWithBadRowsExits1AndNamesLines(t *testing.T) {
	d := startDaemon(t, t.TempDir())
	csv := "manager_email,report_email,timezone\n" +
		"aiko@example.com,ren@example.com,Asia/Tokyo\n" +
		"aiko@example.com,mei@example.com,Asia/Tokio\n" +
		"not-an-email,yuki@example.com,UTC\n"
	path := filepath.Join(t.TempDir(), "bad.csv")
	if err := os.WriteFile(path, []byte(csv), 0o600); err != nil {
		t.Fatal(err)
	}
	r := d.cli(t, "series", "import", path)
	if r.code != exitError {
		t.Fatalf("exit %d, want 1: %s%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{"line 2: created ", "line 3: error: timezone", "line 4: error: ", "1 created, 0 skipped, 2 failed"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("report lacks %q:\n%s", want, r.stdout)
		}
	}
	// A file that is not an import at all fails whole, with one line.
	if err := os.WriteFile(path, []byte("name,age\nx,1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r = d.cli(t, "series", "import", path)
	if r.code != exitError || !strings.HasPrefix(r.stderr, "oneonone: ") {
		t.Errorf("bad header: exit %d stderr %q", r.code, r.stderr)
	}
}

func TestListFollowsPages(t *testing.T) {
	d := startDaemon(t, t.TempDir())
	var b strings.Builder
	b.WriteString("manager_email,report_email\n")
	const n = 230 // more than two pages of the API's default 100
	for i := range n {
		fmt.Fprintf(&b, "m%d@example.com,r%d@example.com\n", i, i)
	}
	path := filepath.Join(t.TempDir(), "many.csv")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := d.cli(t, "series", "import", path); r.code != exitOK {
		t.Fatalf("import: exit %d: %s", r.code, r.stderr)
	}
	if got := listJSON(t, d); len(got) != n {
		t.Errorf("list --json returned %d series, want %d", len(got), n)
	}
}

func TestTokenSources(t *testing.T) {
	d := startDaemon(t, t.TempDir())
	tokenFile := filepath.Join(t.TempDir(), "tok")
	if err := os.WriteFile(tokenFile, []byte(d.token(t)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	wrongFile := filepath.Join(t.TempDir(), "wrong")
	if err := os.WriteFile(wrongFile, []byte("wrong\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	empty := t.TempDir()
	tests := []struct {
		name    string
		environ []string
		args    []string
		code    int
	}{
		{"env token", []string{"ONEONONE_TOKEN=" + d.token(t)}, []string{"--data", empty}, exitOK},
		{"token file wins over env", []string{"ONEONONE_TOKEN=wrong"}, []string{"--token-file", tokenFile}, exitOK},
		{"token file wins over env, wrong file", []string{"ONEONONE_TOKEN=" + d.token(t)}, []string{"--token-file", wrongFile}, exitError},
		{"token file", nil, []string{"--token-file", tokenFile, "--data", empty}, exitOK},
		{"token file wins over data dir", nil, []string{"--token-file", wrongFile, "--data", d.dataDir}, exitError},
		{"data dir", nil, []string{"--data", d.dataDir}, exitOK},
		{"no token anywhere", nil, []string{"--data", empty}, exitError},
		{"wrong token", []string{"ONEONONE_TOKEN=wrong"}, nil, exitError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			environ := append([]string{"ONEONONE_SERVER=" + d.url}, tt.environ...)
			r := runCLI(t, environ, append([]string{"series", "list"}, tt.args...)...)
			if r.code != tt.code {
				t.Errorf("exit %d, want %d; stderr %q", r.code, tt.code, r.stderr)
			}
		})
	}
	r := runCLI(t, []string{"ONEONONE_SERVER=" + d.url}, "series", "list", "--data", empty)
	if !strings.Contains(r.stderr, "ONEONONE_TOKEN") {
		t.Errorf("no-token error %q does not say how to give one", r.stderr)
	}
	// --server beats ONEONONE_SERVER.
	r = runCLI(t, []string{"ONEONONE_SERVER=http://127.0.0.1:1"}, "series", "list", "--server", d.url, "--data", d.dataDir)
	if r.code != exitOK {
		t.Errorf("--server did not override ONEONONE_SERVER: %s", r.stderr)
	}
}

func TestUnreachableServerExits1(t *testing.T) {
	r := runCLI(t, []string{"ONEONONE_TOKEN=x"}, "series", "list", "--server", "http://127.0.0.1:1")
	if r.code != exitError || !strings.Contains(r.stderr, "cannot reach the daemon") {
		t.Errorf("exit %d stderr %q", r.code, r.stderr)
	}
	r = runCLI(t, []string{"ONEONONE_TOKEN=x"}, "series", "list", "--server", "ftp://x")
	if r.code != exitError || !strings.Contains(r.stderr, "not an http(s) URL") {
		t.Errorf("bad --server: exit %d stderr %q", r.code, r.stderr)
	}
}

func TestHealthcheck(t *testing.T) {
	d := startDaemon(t, t.TempDir())
	if r := runCLI(t, nil, "healthcheck", "--server", d.url); r.code != exitOK {
		t.Errorf("healthcheck of a running daemon: exit %d: %s", r.code, r.stderr)
	}
	if r := runCLI(t, []string{"ONEONONE_SERVER=" + d.url}, "healthcheck"); r.code != exitOK {
		t.Errorf("healthcheck via ONEONONE_SERVER: exit %d: %s", r.code, r.stderr)
	}
	if r := runCLI(t, nil, "healthcheck", "--server", "http://127.0.0.1:1"); r.code != exitError {
		t.Errorf("healthcheck of nothing: exit %d, want 1", r.code)
	}
}

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }
