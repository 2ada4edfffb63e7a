// Package config owns oneonone's configuration: the Config struct, its
// built-in defaults, loading a YAML file with ONEONONE_* environment
// overrides, reading secrets from *_file keys, and validation whose errors
// name the file, line and key.
//
// It must not import other oneonone packages (calendar, store, meet…): they
// receive the values they need from main, which loads one Config and passes
// it down. It keeps no package-level mutable state.
//
// Adding a key: add a field with a `yaml:"snake_case"` tag to the right
// struct, give it a default in Default if zero is not right, check it in
// Validate, and document it in oneonone.example.yaml (a test fails until you
// do). Loading, the environment variable, unknown-key suggestions and line
// numbers come for free. A secret is a Secret field plus a string sibling
// named like it with "_file" appended.
package config

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"strings"
	"time"
)

// Config is the whole configuration of the daemon. Zero values of optional
// blocks mean "not configured"; Default fills in everything the daemon needs
// to run with no file at all.
type Config struct {
	// PublicURL is the base URL people reach the daemon at, used in links
	// put into invites and feeds. Empty means "derived from Listen": use
	// BaseURL, not this field, when building links.
	PublicURL string `yaml:"public_url"`
	// Listen is the HTTP listen address, host:port.
	Listen string `yaml:"listen"`
	// DataDir holds the SQLite database and admin.token.
	DataDir string `yaml:"data_dir"`

	Store      StoreConfig      `yaml:"store"`
	Calendars  []CalendarConfig `yaml:"calendars"`
	Sync       SyncConfig       `yaml:"sync"`
	Media      MediaConfig      `yaml:"media"`
	Auth       AuthConfig       `yaml:"auth"`
	Metrics    MetricsConfig    `yaml:"metrics"`
	Log        LogConfig        `yaml:"log"`
	SMTP       SMTPConfig       `yaml:"smtp"`
	HTTP       HTTPConfig       `yaml:"http"`
	Attendance AttendanceConfig `yaml:"attendance"`
	Agenda     AgendaConfig     `yaml:"agenda"`

	// origins remembers where each key's value came from (file:line or an
	// environment variable) so that Validate can point at it. A pointer so
	// that printing a Config stays short; nil for a Config built in code.
	origins *origins
}

// StoreConfig selects the database.
type StoreConfig struct {
	// DSN is "sqlite:PATH" or "postgres://…". Empty means the SQLite file
	// in DataDir: use Config.StoreDSN, not this field.
	DSN string `yaml:"dsn"`
}

// CalendarConfig is one external calendar that series can be written to.
// Exactly one of CalDAV and Google is set.
type CalendarConfig struct {
	// ID names the calendar in series (`--calendar ID`) and in metrics
	// labels; [a-z0-9][a-z0-9_-]*.
	ID     string        `yaml:"id"`
	CalDAV *CalDAVConfig `yaml:"caldav"`
	Google *GoogleConfig `yaml:"google"`
}

// Provider returns "caldav" or "google", or "" when neither is set.
func (c CalendarConfig) Provider() string {
	switch {
	case c.CalDAV != nil:
		return "caldav"
	case c.Google != nil:
		return "google"
	}
	return ""
}

// CalDAVConfig is a CalDAV server and the account used to write events.
type CalDAVConfig struct {
	// URL is the calendar collection (or a principal/home URL to discover
	// it from).
	URL string `yaml:"url"`
	// URLTemplate, when set, is the collection URL per organizer, with
	// placeholders that the caldav provider expands (for servers where each
	// manager has their own calendar).
	URLTemplate  string `yaml:"url_template"`
	Username     string `yaml:"username"`
	Password     Secret `yaml:"password"`
	PasswordFile string `yaml:"password_file"`
}

// GoogleConfig is a Google Calendar account: a service account with
// domain-wide delegation, or an OAuth client.
type GoogleConfig struct {
	// CredentialsFile is the JSON key file; Load reads it into Credentials.
	CredentialsFile string `yaml:"credentials_file"`
	// Credentials is the JSON key itself (rather give CredentialsFile).
	Credentials Secret `yaml:"credentials"`
	// CalendarID is the calendar written to in each organizer's account;
	// "primary" by default.
	CalendarID string `yaml:"calendar_id"`
	// Endpoint overrides the API base URL (a test server or a proxy);
	// empty means Google's.
	Endpoint string `yaml:"endpoint"`
	// OAuthClient is an OAuth client JSON ("installed" or "web") for
	// setups without domain-wide delegation: an admin authorises the
	// calendar once in a browser (the consent flow). Give it instead of
	// Credentials.
	OAuthClient     Secret `yaml:"oauth_client"`
	OAuthClientFile string `yaml:"oauth_client_file"`
	// TokenKey encrypts the consent flow's refresh tokens at rest: 32
	// bytes, raw or base64. Required with an OAuth client.
	TokenKey     Secret `yaml:"token_key"`
	TokenKeyFile string `yaml:"token_key_file"`
}

// IsOAuthClient reports whether the calendar uses the consent flow: an
// OAuth client given as oauth_client, or as credentials.
func (g GoogleConfig) IsOAuthClient() bool {
	if g.OAuthClient.IsSet() {
		return true
	}
	var kind struct {
		Installed json.RawMessage `json:"installed"`
		Web       json.RawMessage `json:"web"`
	}
	return json.Unmarshal([]byte(g.Credentials.Reveal()), &kind) == nil && (kind.Installed != nil || kind.Web != nil)
}

// OAuthClientJSON is the OAuth client of the consent flow, wherever it
// was given.
func (g GoogleConfig) OAuthClientJSON() []byte {
	if g.OAuthClient.IsSet() {
		return []byte(g.OAuthClient.Reveal())
	}
	return []byte(g.Credentials.Reveal())
}

// TokenKeyBytes decodes TokenKey: 32 raw bytes, or their base64
// (standard or URL alphabet, padded or not).
func (g GoogleConfig) TokenKeyBytes() ([]byte, error) {
	raw := strings.TrimSpace(g.TokenKey.Reveal())
	if len(raw) == 32 {
		return []byte(raw), nil
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(raw); err == nil && len(b) == 32 {
			return b, nil
		}
	}
	// Never the key itself in the message.
	return nil, errors.New("must be 32 bytes, raw or base64 (e.g. openssl rand -base64 32)")
}

// SyncConfig tunes the calendar reconciler.
type SyncConfig struct {
	// Interval between two polls of each calendar.
	Interval time.Duration `yaml:"interval"`
}

// MediaConfig is the SFU's network setup.
type MediaConfig struct {
	// UDPPort carries all media (ICE UDP mux).
	UDPPort int `yaml:"udp_port"`
	// TCPPort is the ICE-TCP fallback.
	TCPPort int `yaml:"tcp_port"`
	// PublicIP is the address announced in ICE candidates; empty means the
	// host's own addresses.
	PublicIP string `yaml:"public_ip"`
	// STUNServers are given to browsers (stun:host:port).
	STUNServers []string `yaml:"stun_servers"`
	// TURN servers are given to browsers that cannot reach UDPPort/TCPPort
	// directly.
	TURN []TURNConfig `yaml:"turn"`
}

// TURNConfig is one TURN server handed to browsers.
type TURNConfig struct {
	// URLs are turn:/turns: URLs of the same server.
	URLs         []string `yaml:"urls"`
	Username     string   `yaml:"username"`
	Password     Secret   `yaml:"password"`
	PasswordFile string   `yaml:"password_file"`
}

// AuthConfig holds how people sign in.
type AuthConfig struct {
	OIDC OIDCConfig `yaml:"oidc"`
	// Secret keys personal links and session cookies: at least 32 random
	// bytes as base64 or hex. Empty means data_dir/secret.key, created on
	// first start. Daemons sharing one database must share it.
	Secret     Secret `yaml:"secret"`
	SecretFile string `yaml:"secret_file"`
	// SessionTTL is how long a signed-in browser stays signed in.
	SessionTTL time.Duration `yaml:"session_ttl"`
	// LinkTTL is how long a personal join link works (at least).
	LinkTTL time.Duration `yaml:"link_ttl"`
	// EmailLinkTTL is how long an e-mailed sign-in link works.
	EmailLinkTTL time.Duration `yaml:"email_link_ttl"`
}

// OIDCConfig is an OpenID Connect provider for signing in. Disabled when
// Issuer is empty (personal join links still work).
type OIDCConfig struct {
	Issuer           string `yaml:"issuer"`
	ClientID         string `yaml:"client_id"`
	ClientSecret     Secret `yaml:"client_secret"`
	ClientSecretFile string `yaml:"client_secret_file"`
}

// Enabled reports whether sign-in through OIDC is configured.
func (o OIDCConfig) Enabled() bool { return o.Issuer != "" }

// MetricsConfig tunes /metrics.
type MetricsConfig struct {
	// Window is the period cadence adherence is computed over.
	Window time.Duration `yaml:"window"`
	// PerSeries adds a few per-pair series, labelled by an opaque hash.
	PerSeries bool `yaml:"per_series"`
	// MinSeriesPerUnit: org units with fewer series are reported together,
	// so that a metric never describes one pair.
	MinSeriesPerUnit int `yaml:"min_series_per_unit"`
}

// LogConfig configures log/slog in main.
type LogConfig struct {
	Level  string `yaml:"level"`  // debug|info|warn|error
	Format string `yaml:"format"` // text|json
}

// SlogLevel returns Level as a slog.Level; unknown levels (which Validate
// rejects) give Info.
func (l LogConfig) SlogLevel() slog.Level {
	switch l.Level {
	case "debug":
		return slog.LevelDebug
	case "warn":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	}
	return slog.LevelInfo
}

// SMTPConfig is the mail relay for notifications. Disabled when Host is
// empty.
type SMTPConfig struct {
	Host         string `yaml:"host"`
	Port         int    `yaml:"port"`
	Username     string `yaml:"username"`
	Password     Secret `yaml:"password"`
	PasswordFile string `yaml:"password_file"`
	// From is the sender address, "Name <addr@example.com>" or a bare
	// address.
	From string `yaml:"from"`
	// StartTLS upgrades the connection before authenticating.
	StartTLS bool `yaml:"starttls"`
}

// Enabled reports whether mail can be sent.
func (s SMTPConfig) Enabled() bool { return s.Host != "" }

// HTTPConfig tunes the HTTP server.
type HTTPConfig struct {
	// MaxBodyBytes caps request bodies.
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
}

// AttendanceConfig tunes how joining a room turns into "held".
type AttendanceConfig struct {
	// MinHeld is how long both participants must be in the room together
	// for an occurrence to count as held.
	MinHeld time.Duration `yaml:"min_held"`
}

// AgendaConfig tunes the agenda's e-mail reminders (sent only when smtp is
// configured).
type AgendaConfig struct {
	// ReminderBefore is how long before each occurrence both people are
	// nudged to prepare the agenda; 0 turns the nudge off.
	ReminderBefore time.Duration `yaml:"reminder_before"`
}

// Default returns the configuration used when no file is given: everything
// `oneonone serve` needs, with SQLite in ./data and the built-in ICS feed as
// the only calendar.
func Default() Config {
	return Config{
		Listen:  ":8080",
		DataDir: "./data",
		Sync:    SyncConfig{Interval: time.Minute},
		Media: MediaConfig{
			UDPPort: 3478,
			TCPPort: 3478,
		},
		Metrics: MetricsConfig{
			Window:           90 * 24 * time.Hour,
			MinSeriesPerUnit: 3,
		},
		Auth: AuthConfig{
			SessionTTL:   30 * 24 * time.Hour,
			LinkTTL:      90 * 24 * time.Hour,
			EmailLinkTTL: 15 * time.Minute,
		},
		Log:        LogConfig{Level: "info", Format: "text"},
		SMTP:       SMTPConfig{Port: 587, StartTLS: true},
		HTTP:       HTTPConfig{MaxBodyBytes: 1 << 20},
		Attendance: AttendanceConfig{MinHeld: 5 * time.Minute},
		Agenda:     AgendaConfig{ReminderBefore: 24 * time.Hour},
	}
}

// defaultGoogleCalendarID is filled into a google block that names none.
const defaultGoogleCalendarID = "primary"

// StoreDSN returns the database to open: Store.DSN, or the SQLite file
// oneonone.db in DataDir when Store.DSN is empty.
func (c Config) StoreDSN() string {
	if c.Store.DSN != "" {
		return c.Store.DSN
	}
	dir := c.DataDir
	if dir == "" {
		dir = "."
	}
	return "sqlite:" + strings.TrimRight(dir, "/") + "/oneonone.db"
}

// BaseURL returns the URL that links put into invites start with, without a
// trailing slash: PublicURL when set, otherwise derived from Listen
// (":8080" → "http://localhost:8080"). It is computed on each call so that
// a Listen changed after Load (a --listen flag) is taken into account.
func (c Config) BaseURL() string {
	if c.PublicURL != "" {
		return strings.TrimRight(c.PublicURL, "/")
	}
	host, port, err := net.SplitHostPort(c.Listen)
	if err != nil {
		return "http://localhost:8080"
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}
