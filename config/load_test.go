package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// writeConfig writes content as oneonone.yaml in a fresh directory, makes it
// the working directory (so that messages say "oneonone.yaml:LINE") and
// returns the file's name.
func writeConfig(t *testing.T, content string) string {
	t.Helper()
	dir := t.TempDir()
	t.Chdir(dir)
	if err := os.WriteFile(filepath.Join(dir, "oneonone.yaml"), []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return "oneonone.yaml"
}

func writeSecret(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		env  []string
		want string // the whole error text, one problem per line
	}{
		{
			name: "unknown key with a typo",
			yaml: "sync:\n  intervall: 5m\n",
			want: `oneonone.yaml:2: unknown key "sync.intervall" (did you mean "sync.interval"?)`,
		},
		{
			name: "unknown key that lives elsewhere",
			yaml: "listen: \":8080\"\ndsn: postgres://db/x\n",
			want: `oneonone.yaml:2: unknown key "dsn" (did you mean "store.dsn"?)`,
		},
		{
			name: "unknown key that abbreviates a sibling",
			yaml: "calendars:\n  - id: a\n    caldav:\n      url: http://x/\n      user: aiko\n",
			want: `oneonone.yaml:5: unknown key "calendars[0].caldav.user" (did you mean "calendars[0].caldav.username"?)`,
		},
		{
			name: "unknown key with no suggestion",
			yaml: "zzzzzz: 1\n",
			want: `oneonone.yaml:1: unknown key "zzzzzz"`,
		},
		{
			name: "list where a string belongs",
			yaml: "listen: \":8080\"\n\n\n\n\nstore:\n  dsn:\n    - a\n",
			want: `oneonone.yaml:7: store.dsn: expected a string, got a list`,
		},
		{
			name: "string where a mapping belongs",
			yaml: "sync: often\n",
			want: `oneonone.yaml:1: sync: expected a mapping, got a string`,
		},
		{
			name: "quoted port",
			yaml: "media:\n  udp_port: \"3478\"\n",
			want: `oneonone.yaml:2: media.udp_port: expected an integer, got a string`,
		},
		{
			name: "yes is not a boolean",
			yaml: "metrics:\n  per_series: yes\n",
			want: `oneonone.yaml:2: metrics.per_series: expected true or false, got a string`,
		},
		{
			name: "integer out of range",
			yaml: "media:\n  udp_port: 99999999999999999999\n",
			want: `oneonone.yaml:2: media.udp_port: 99999999999999999999 is out of range`,
		},
		{
			name: "not a duration",
			yaml: "listen: \":8080\"\nsync:\n\n\n\n\n\n\n  interval: 5x\n",
			want: `oneonone.yaml:9: sync.interval: "5x" is not a duration`,
		},
		{
			name: "a value that does not decode is not validated again",
			yaml: "calendars:\n  - id: [a]\n    caldav:\n      url: http://x/\n",
			want: `oneonone.yaml:2: calendars[0].id: expected a string, got a list`,
		},
		{
			name: "duplicate key",
			yaml: "sync:\n  interval: 1m\nlisten: \":1\"\nsync:\n  interval: 2m\n",
			want: `oneonone.yaml:4: duplicate key "sync" (first at line 1)`,
		},
		{
			name: "duplicate nested key",
			yaml: "log:\n  level: info\n  level: debug\n",
			want: `oneonone.yaml:3: duplicate key "log.level" (first at line 2)`,
		},
		{
			name: "syntax error",
			yaml: "listen: \":8080\"\nstore:\n  dsn: [\n",
			want: `oneonone.yaml:3: did not find expected node content`,
		},
		{
			name: "top level is a list",
			yaml: "- listen\n",
			want: `oneonone.yaml:1: expected a mapping of keys at the top level, got a list`,
		},
		{
			name: "two documents",
			yaml: "listen: \":1\"\n---\nlisten: \":2\"\n",
			want: `oneonone.yaml:2: only one YAML document is allowed`,
		},
		{
			name: "merge key that contains itself",
			yaml: "sync: &s\n  <<: *s\n",
			want: `oneonone.yaml:2: sync: merge key refers to the mapping that contains it`,
		},
		{
			name: "listen without a port",
			yaml: "listen: \"8080\"\n",
			want: `oneonone.yaml:1: listen: "8080" is not host:port`,
		},
		{
			name: "relative public_url",
			yaml: "public_url: /oneonone\n",
			want: `oneonone.yaml:1: public_url: "/oneonone" is not an absolute http(s) URL`,
		},
		{
			name: "store dsn of an unknown kind, not echoed",
			yaml: "store:\n  dsn: mysql://root:hunter2@db/x\n",
			want: `oneonone.yaml:2: store.dsn: must start with sqlite: or postgres://`,
		},
		{
			name: "ports, window, log",
			yaml: "media:\n  udp_port: 70000\n  tcp_port: 0\nmetrics:\n  window: 30m\n  min_series_per_unit: 0\nlog:\n  level: verbose\n  format: xml\n",
			want: strings.Join([]string{
				`oneonone.yaml:2: media.udp_port: 70000 is not a port (1..65535)`,
				`oneonone.yaml:3: media.tcp_port: 0 is not a port (1..65535)`,
				`oneonone.yaml:5: metrics.window: must be at least 1h, got 30m0s`,
				`oneonone.yaml:6: metrics.min_series_per_unit: must be at least 1, got 0`,
				`oneonone.yaml:8: log.level: "verbose" is not one of debug, info, warn, error`,
				`oneonone.yaml:9: log.format: "xml" is not one of text, json`,
			}, "\n"),
		},
		{
			name: "calendars",
			yaml: `calendars:
  - caldav:
      url: http://dav.example.com/a/
  - id: Team
    google:
      credentials_file: /nonexistent/google.json
  - id: a
    caldav:
      url: dav.example.com/a/
  - id: a
  - id: b
    caldav:
    google:
      credentials: "{}"
  - id: c
    caldav:
      url: http://aiko:hunter2@dav.example.com/
      password: x
      password_file: /run/secrets/caldav
`,
			want: strings.Join([]string{
				`oneonone.yaml:2: calendars[0].id: is required`,
				`oneonone.yaml:4: calendars[1].id: "Team" must match [a-z0-9][a-z0-9_-]*`,
				`oneonone.yaml:6: calendars[1].google.credentials_file: cannot read "/nonexistent/google.json": no such file or directory`,
				`oneonone.yaml:9: calendars[2].caldav.url: "dav.example.com/a/" is not an absolute http(s) URL`,
				`oneonone.yaml:10: calendars[3].id: "a" is already the id of calendars[2]`,
				`oneonone.yaml:10: calendars[3]: needs a caldav or a google block`,
				`oneonone.yaml:11: calendars[4]: give either caldav or google, not both`,
				`oneonone.yaml:19: calendars[5].caldav.password_file: give either password or password_file, not both`,
			}, "\n"),
		},
		{
			name: "problems from the file, the environment and defaults together, file first",
			yaml: "log:\n  level: loud\nsmtp:\n  host: mail.example.com\n",
			env:  []string{"ONEONONE_SYNC_INTERVAL=5x", "ONEONONE_METRICS_PER_SERIES=maybe"},
			want: strings.Join([]string{
				`oneonone.yaml:2: log.level: "loud" is not one of debug, info, warn, error`,
				`oneonone.yaml:3: smtp.from: is required when smtp.host is set`,
				`ONEONONE_METRICS_PER_SERIES (metrics.per_series): "maybe" is not true or false`,
				`ONEONONE_SYNC_INTERVAL (sync.interval): "5x" is not a duration`,
			}, "\n"),
		},
		{
			name: "validation names the variable a value came from",
			yaml: "log:\n  level: info\n",
			env:  []string{"ONEONONE_LOG_LEVEL=loud", "ONEONONE_MEDIA_PUBLIC_IP=example.com"},
			want: strings.Join([]string{
				`ONEONONE_MEDIA_PUBLIC_IP (media.public_ip): "example.com" is not an IP address`,
				`ONEONONE_LOG_LEVEL (log.level): "loud" is not one of debug, info, warn, error`,
			}, "\n"),
		},
		{
			name: "a list entry the file does not define",
			yaml: "calendars:\n  - id: a\n    caldav:\n      url: http://x/\n",
			env:  []string{"ONEONONE_CALENDARS_1_ID=b", "ONEONONE_CALENDARS_0_CALDAV_USERNAME=aiko"},
			want: `ONEONONE_CALENDARS_1_ID (calendars[1]): the configuration has 1 calendars entries; the environment can only override entries defined in the file`,
		},
		{
			name: "missing secret file named by its key and path",
			yaml: "auth:\n  oidc:\n    issuer: https://id.example.com\n    client_id: x\n    client_secret_file: missing.txt\n",
			want: `oneonone.yaml:5: auth.oidc.client_secret_file: cannot read "missing.txt": no such file or directory`,
		},
		{
			name: "oidc without issuer",
			yaml: "auth:\n  oidc:\n    client_id: x\n",
			want: `oneonone.yaml:2: auth.oidc.issuer: is required when auth.oidc is configured`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeConfig(t, tt.yaml)
			_, err := Load(path, tt.env)
			if err == nil {
				t.Fatalf("Load succeeded, want\n%s", tt.want)
			}
			if got := err.Error(); got != tt.want {
				t.Errorf("Load error:\n%s\nwant:\n%s", got, tt.want)
			}
			var cerr *Error
			if !errors.As(err, &cerr) || len(cerr.Problems) != strings.Count(tt.want, "\n")+1 {
				t.Errorf("want an *Error with one problem per line, got %#v", err)
			}
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	t.Chdir(t.TempDir())
	_, err := Load("nope.yaml", nil)
	if err == nil || err.Error() != "nope.yaml: cannot read config: no such file or directory" {
		t.Fatalf("Load(missing) = %v", err)
	}
}

func TestLoadNoFileIsDefault(t *testing.T) {
	c, err := Load("", []string{"HOME=/root", "ONEONONE_TOKEN=abc", "ONEONONE_CONFIG=x.yaml", "ONEONONE_TEST_POSTGRES=1"})
	if err != nil {
		t.Fatal(err)
	}
	d := Default()
	if c.Listen != ":8080" || c.DataDir != "./data" || c.Sync.Interval != time.Minute ||
		c.Media.UDPPort != 3478 || c.Media.TCPPort != 3478 || c.Metrics.Window != 90*24*time.Hour ||
		c.Metrics.MinSeriesPerUnit != 3 || c.Log.Level != "info" || c.HTTP.MaxBodyBytes != 1<<20 ||
		c.Attendance.MinHeld != 5*time.Minute || c.PublicURL != "" {
		t.Errorf("Load(\"\") = %+v, want the defaults %+v", c, d)
	}
	if got := c.StoreDSN(); got != "sqlite:./data/oneonone.db" {
		t.Errorf("StoreDSN() = %q", got)
	}
	if got := c.BaseURL(); got != "http://localhost:8080" {
		t.Errorf("BaseURL() = %q", got)
	}
	if err := d.Validate(); err != nil {
		t.Errorf("Default().Validate() = %v", err)
	}
}

func TestLoadEmptyAndCommentOnlyFiles(t *testing.T) {
	for _, content := range []string{"", "# nothing here\n", "---\n", "~\n"} {
		path := writeConfig(t, content)
		if _, err := Load(path, nil); err != nil {
			t.Errorf("Load(%q) = %v", content, err)
		}
	}
}

func TestEnvOverridesFile(t *testing.T) {
	path := writeConfig(t, `public_url: https://file.example.com
store:
  dsn: sqlite:/var/lib/file.db
sync:
  interval: 5m
metrics:
  per_series: false
calendars:
  - id: team
    caldav:
      url: http://dav.example.com/team/
      username: file-user
media:
  stun_servers: [stun:file.example.com]
`)
	env := []string{
		"ONEONONE_PUBLIC_URL=https://env.example.com/",
		"ONEONONE_STORE_DSN=postgres://oneonone@db/oneonone",
		"ONEONONE_SYNC_INTERVAL=1d",
		"ONEONONE_SYNC_INTERVAL=10m", // a later entry wins
		"ONEONONE_METRICS_PER_SERIES=true",
		"ONEONONE_CALENDARS_0_CALDAV_USERNAME=env-user",
		"ONEONONE_MEDIA_STUN_SERVERS=stun:a.example.com, stun:b.example.com",
		"ONEONONE_MEDIA_UDP_PORT=40000",
		"ONEONONE_LISTEN=", // empty: unset, keep the default
		"ONEONONE_TOKEN=not-a-key",
	}
	c, err := Load(path, env)
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"public_url", c.PublicURL, "https://env.example.com/"},
		{"BaseURL", c.BaseURL(), "https://env.example.com"},
		{"store.dsn", c.StoreDSN(), "postgres://oneonone@db/oneonone"},
		{"sync.interval", c.Sync.Interval, 10 * time.Minute},
		{"metrics.per_series", c.Metrics.PerSeries, true},
		{"caldav.username", c.Calendars[0].CalDAV.Username, "env-user"},
		{"caldav.url", c.Calendars[0].CalDAV.URL, "http://dav.example.com/team/"},
		{"stun_servers", strings.Join(c.Media.STUNServers, " "), "stun:a.example.com stun:b.example.com"},
		{"udp_port", c.Media.UDPPort, 40000},
		{"listen", c.Listen, ":8080"},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s = %v, want %v", ch.name, ch.got, ch.want)
		}
	}
}

func TestEnvCanAddOptionalBlock(t *testing.T) {
	path := writeConfig(t, "calendars:\n  - id: ws\n")
	creds := writeSecret(t, "google.json", `{"type":"service_account"}`+"\n")
	c, err := Load(path, []string{"ONEONONE_CALENDARS_0_GOOGLE_CREDENTIALS_FILE=" + creds})
	if err != nil {
		t.Fatal(err)
	}
	g := c.Calendars[0].Google
	if g == nil || g.Credentials.Reveal() != `{"type":"service_account"}` || g.CalendarID != "primary" {
		t.Fatalf("google block = %+v", g)
	}
	if c.Calendars[0].Provider() != "google" {
		t.Errorf("Provider() = %q", c.Calendars[0].Provider())
	}
}

func TestSecretFiles(t *testing.T) {
	caldav := writeSecret(t, "caldav", "dav-pass\n")
	oidc := writeSecret(t, "oidc", "oidc-secret\r\n")
	smtp := writeSecret(t, "smtp", "smtp-pass")
	path := writeConfig(t, `calendars:
  - id: team
    caldav:
      url: http://dav.example.com/
      password_file: `+caldav+`
auth:
  oidc:
    issuer: https://id.example.com
    client_id: oneonone
    client_secret_file: `+oidc+`
smtp:
  host: mail.example.com
  from: oneonone@example.com
  password: inline-pass
`)
	c, err := Load(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for name, got := range map[string]Secret{"dav-pass": c.Calendars[0].CalDAV.Password, "oidc-secret": c.Auth.OIDC.ClientSecret, "inline-pass": c.SMTP.Password} {
		if got.Reveal() != name {
			t.Errorf("secret = %q, want %q", got.Reveal(), name)
		}
	}

	t.Run("the environment replaces the pair from the file", func(t *testing.T) {
		smtpFile := writeSecret(t, "smtp2", "from-env-file\n")
		c, err := Load(path, []string{
			"ONEONONE_CALENDARS_0_CALDAV_PASSWORD=from-env",
			"ONEONONE_SMTP_PASSWORD_FILE=" + smtpFile,
		})
		if err != nil {
			t.Fatal(err)
		}
		if got := c.Calendars[0].CalDAV.Password.Reveal(); got != "from-env" {
			t.Errorf("caldav password = %q, want from-env", got)
		}
		if c.Calendars[0].CalDAV.PasswordFile != "" {
			t.Errorf("caldav password_file = %q, want it cleared by the env password", c.Calendars[0].CalDAV.PasswordFile)
		}
		if got := c.SMTP.Password.Reveal(); got != "from-env-file" {
			t.Errorf("smtp password = %q, want from-env-file", got)
		}
	})

	t.Run("both halves in the environment", func(t *testing.T) {
		_, err := Load(path, []string{"ONEONONE_SMTP_PASSWORD=a", "ONEONONE_SMTP_PASSWORD_FILE=" + smtp})
		want := "ONEONONE_SMTP_PASSWORD_FILE (smtp.password_file): give either password or password_file, not both"
		if err == nil || err.Error() != want {
			t.Errorf("err = %v, want %s", err, want)
		}
	})

	t.Run("an empty secret file", func(t *testing.T) {
		empty := writeSecret(t, "empty", "\n")
		_, err := Load(path, []string{"ONEONONE_SMTP_PASSWORD_FILE=" + empty})
		want := `ONEONONE_SMTP_PASSWORD_FILE (smtp.password_file): "` + empty + `" is empty`
		if err == nil || err.Error() != want {
			t.Errorf("err = %v, want %s", err, want)
		}
	})
}

func TestMergeKeys(t *testing.T) {
	path := writeConfig(t, `x-dav: &dav
  username: shared
  url: http://dav.example.com/shared/
`)
	// x-dav is not a key: merge keys work, but unknown top-level keys do not.
	if _, err := Load(path, nil); err == nil {
		t.Fatal("want an error for the unknown key x-dav")
	}
	path = writeConfig(t, `calendars:
  - id: a
    caldav: &dav
      username: shared
      url: http://dav.example.com/a/
  - id: b
    caldav:
      <<: *dav
      url: http://dav.example.com/b/
`)
	c, err := Load(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	b := c.Calendars[1].CalDAV
	if b.Username != "shared" || b.URL != "http://dav.example.com/b/" {
		t.Errorf("merged caldav = %+v", b)
	}
}

func TestValidateAfterFlags(t *testing.T) {
	c := Default()
	c.Listen = "127.0.0.1:9000"
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if got := c.BaseURL(); got != "http://127.0.0.1:9000" {
		t.Errorf("BaseURL() = %q", got)
	}
	c.Listen = "nonsense"
	if err := c.Validate(); err == nil || err.Error() != `listen: "nonsense" is not host:port` {
		t.Errorf("Validate() = %v", err)
	}
}

func TestBaseURL(t *testing.T) {
	tests := []struct{ publicURL, listen, want string }{
		{"", ":8080", "http://localhost:8080"},
		{"", "0.0.0.0:9000", "http://localhost:9000"},
		{"", "[::]:9000", "http://localhost:9000"},
		{"", "[::1]:9000", "http://[::1]:9000"},
		{"", "meet.internal:80", "http://meet.internal:80"},
		{"https://1on1.example.com/", ":8080", "https://1on1.example.com"},
		{"https://example.com/oneonone", ":8080", "https://example.com/oneonone"},
	}
	for _, tt := range tests {
		c := Config{PublicURL: tt.publicURL, Listen: tt.listen}
		if got := c.BaseURL(); got != tt.want {
			t.Errorf("BaseURL(%q, %q) = %q, want %q", tt.publicURL, tt.listen, got, tt.want)
		}
	}
}

func TestStoreDSN(t *testing.T) {
	tests := []struct{ dsn, dataDir, want string }{
		{"", "./data", "sqlite:./data/oneonone.db"},
		{"", "/var/lib/oneonone/", "sqlite:/var/lib/oneonone/oneonone.db"},
		{"", "", "sqlite:./oneonone.db"},
		{"postgres://u@h/db", "./data", "postgres://u@h/db"},
	}
	for _, tt := range tests {
		c := Config{Store: StoreConfig{DSN: tt.dsn}, DataDir: tt.dataDir}
		if got := c.StoreDSN(); got != tt.want {
			t.Errorf("StoreDSN(%q, %q) = %q, want %q", tt.dsn, tt.dataDir, got, tt.want)
		}
	}
}

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in      string
		want    time.Duration
		wantErr bool
	}{
		{"90s", 90 * time.Second, false},
		{"1h30m", 90 * time.Minute, false},
		{"90d", 90 * 24 * time.Hour, false},
		{"1d12h", 36 * time.Hour, false},
		{"1.5d", 36 * time.Hour, false},
		{"-1d", -24 * time.Hour, false},
		{"0", 0, false},
		{"5x", 0, true},
		{"d", 0, true},
		{"1d1d", 0, true},
		{"1e3d", 0, true},
		{"infd", 0, true},
		{"1d-1h", 0, true},
		{"1d12", 0, true},
		{"200000000d", 0, true},
		{"60", 0, true},
	}
	for _, tt := range tests {
		got, err := ParseDuration(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
	if got := FormatDuration(90 * 24 * time.Hour); got != "90d" {
		t.Errorf("FormatDuration(90d) = %q", got)
	}
	if got := FormatDuration(90 * time.Minute); got != "1h30m0s" {
		t.Errorf("FormatDuration(90m) = %q", got)
	}
}

func TestLogLevel(t *testing.T) {
	for level, want := range map[string]string{"debug": "DEBUG", "info": "INFO", "warn": "WARN", "error": "ERROR"} {
		if got := (LogConfig{Level: level}).SlogLevel().String(); got != want {
			t.Errorf("SlogLevel(%q) = %s", level, got)
		}
	}
}
