package config

import (
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// calendarID is the shape of a calendar id: it appears in metrics labels,
// URLs and CLI flags.
var calendarID = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)

// Validate checks the values of c and returns every problem at once as an
// *Error, or nil. Problems name the key and, for a Config from Load, the
// file and line or environment variable the value came from. Load calls it;
// call it again after changing a Config (from command-line flags, say).
func (c Config) Validate() error {
	return c.validate().err()
}

func (c Config) validate() problems {
	var ps problems
	bad := func(key, format string, args ...any) {
		ps = append(ps, c.problem(key, format, args...))
	}

	if err := checkHostPort(c.Listen); err != nil {
		bad("listen", "%q %v", c.Listen, err)
	}
	if c.PublicURL != "" {
		if err := checkHTTPURL(c.PublicURL); err != nil {
			bad("public_url", "%s %v", quoteURL(c.PublicURL), err)
		} else if u, _ := url.Parse(c.PublicURL); u.RawQuery != "" || u.Fragment != "" {
			bad("public_url", "%s must not have a query or fragment", quoteURL(c.PublicURL))
		}
	}
	if c.DataDir == "" {
		bad("data_dir", "must not be empty")
	}
	if dsn := c.Store.DSN; dsn != "" {
		switch {
		case strings.HasPrefix(dsn, "sqlite:"):
			if strings.TrimPrefix(dsn, "sqlite:") == "" {
				bad("store.dsn", "sqlite: needs a file path, e.g. sqlite:./data/oneonone.db")
			}
		case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		default:
			// Do not echo the DSN: a postgres URL may carry a password.
			bad("store.dsn", "must start with sqlite: or postgres://")
		}
	}

	seen := map[string]int{}
	for i, cal := range c.Calendars {
		key := "calendars[" + strconv.Itoa(i) + "]"
		switch {
		case cal.ID == "":
			bad(key+".id", "is required")
		case !calendarID.MatchString(cal.ID):
			bad(key+".id", "%q must match [a-z0-9][a-z0-9_-]*", cal.ID)
		default:
			if first, dup := seen[cal.ID]; dup {
				bad(key+".id", "%q is already the id of calendars[%d]", cal.ID, first)
			} else {
				seen[cal.ID] = i
			}
		}
		switch {
		case cal.CalDAV != nil && cal.Google != nil:
			bad(key, "give either caldav or google, not both")
		case cal.CalDAV != nil:
			dav := cal.CalDAV
			if dav.URL == "" && dav.URLTemplate == "" {
				bad(key+".caldav.url", "is required (or url_template)")
			}
			if dav.URL != "" {
				if err := checkHTTPURL(dav.URL); err != nil {
					bad(key+".caldav.url", "%s %v", quoteURL(dav.URL), err)
				}
			}
			if t := dav.URLTemplate; t != "" && !strings.HasPrefix(t, "http://") && !strings.HasPrefix(t, "https://") {
				bad(key+".caldav.url_template", "%s must start with http:// or https://", quoteURL(t))
			}
		case cal.Google != nil:
			g := cal.Google
			switch {
			case g.OAuthClient.IsSet() && g.Credentials.IsSet():
				bad(key+".google.oauth_client_file", "give either credentials_file (a service account key) or oauth_client_file, not both")
			case g.CredentialsFile == "" && !g.Credentials.IsSet() && g.OAuthClientFile == "" && !g.OAuthClient.IsSet():
				bad(key+".google.credentials_file", "is required (or oauth_client_file for the consent flow)")
			}
			if (g.IsOAuthClient() || g.OAuthClientFile != "") && !g.TokenKey.IsSet() && g.TokenKeyFile == "" {
				bad(key+".google.token_key_file", "is required with an OAuth client: it encrypts the refresh token at rest")
			}
			if g.TokenKey.IsSet() {
				if _, err := g.TokenKeyBytes(); err != nil {
					bad(key+".google.token_key_file", "%v", err)
				}
			}
			if g.Endpoint != "" {
				if err := checkHTTPURL(g.Endpoint); err != nil {
					bad(key+".google.endpoint", "%s %v", quoteURL(g.Endpoint), err)
				}
			}
		default:
			bad(key, "needs a caldav or a google block")
		}
	}

	if c.Sync.Interval <= 0 {
		bad("sync.interval", "must be positive, got %s", FormatDuration(c.Sync.Interval))
	}

	checkPort := func(key string, p int) {
		if p < 1 || p > 65535 {
			bad(key, "%d is not a port (1..65535)", p)
		}
	}
	checkPort("media.udp_port", c.Media.UDPPort)
	checkPort("media.tcp_port", c.Media.TCPPort)
	if ip := c.Media.PublicIP; ip != "" && net.ParseIP(ip) == nil {
		bad("media.public_ip", "%q is not an IP address", ip)
	}
	for i, s := range c.Media.STUNServers {
		if !strings.HasPrefix(s, "stun:") && !strings.HasPrefix(s, "stuns:") {
			bad(fmt.Sprintf("media.stun_servers[%d]", i), "%q must start with stun: or stuns:", s)
		}
	}
	for i, t := range c.Media.TURN {
		key := fmt.Sprintf("media.turn[%d]", i)
		if len(t.URLs) == 0 {
			bad(key+".urls", "needs at least one turn: or turns: URL")
		}
		for j, u := range t.URLs {
			if !strings.HasPrefix(u, "turn:") && !strings.HasPrefix(u, "turns:") {
				bad(fmt.Sprintf("%s.urls[%d]", key, j), "%q must start with turn: or turns:", u)
			}
		}
	}

	if o := c.Auth.OIDC; o.Issuer != "" || o.ClientID != "" || o.ClientSecret.IsSet() {
		if o.Issuer == "" {
			bad("auth.oidc.issuer", "is required when auth.oidc is configured")
		} else if err := checkHTTPURL(o.Issuer); err != nil {
			bad("auth.oidc.issuer", "%s %v", quoteURL(o.Issuer), err)
		}
		if o.ClientID == "" {
			bad("auth.oidc.client_id", "is required when auth.oidc is configured")
		}
	}

	for _, d := range []struct {
		key      string
		v, least time.Duration
	}{
		{"auth.session_ttl", c.Auth.SessionTTL, time.Minute},
		{"auth.link_ttl", c.Auth.LinkTTL, time.Hour},
		{"auth.email_link_ttl", c.Auth.EmailLinkTTL, time.Minute},
	} {
		if d.v < d.least {
			bad(d.key, "must be at least %s, got %s", FormatDuration(d.least), FormatDuration(d.v))
		}
	}

	if c.Metrics.Window < time.Hour {
		bad("metrics.window", "must be at least 1h, got %s", FormatDuration(c.Metrics.Window))
	}
	if c.Metrics.MinSeriesPerUnit < 1 {
		bad("metrics.min_series_per_unit", "must be at least 1, got %d", c.Metrics.MinSeriesPerUnit)
	}

	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		bad("log.level", "%q is not one of debug, info, warn, error", c.Log.Level)
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		bad("log.format", "%q is not one of text, json", c.Log.Format)
	}

	if c.SMTP.Host != "" {
		checkPort("smtp.port", c.SMTP.Port)
		if c.SMTP.From == "" {
			bad("smtp.from", "is required when smtp.host is set")
		} else if _, err := mail.ParseAddress(c.SMTP.From); err != nil {
			bad("smtp.from", "%q is not an e-mail address", c.SMTP.From)
		}
	}

	if c.HTTP.MaxBodyBytes < 1 {
		bad("http.max_body_bytes", "must be positive, got %d", c.HTTP.MaxBodyBytes)
	}
	if c.Attendance.MinHeld < 0 {
		bad("attendance.min_held", "must not be negative, got %s", c.Attendance.MinHeld)
	}
	if c.Agenda.ReminderBefore < 0 {
		bad("agenda.reminder_before", "must not be negative (0 turns the reminder off), got %s", c.Agenda.ReminderBefore)
	}
	return ps
}

// checkHostPort accepts "host:port" and ":port" with a numeric port; 0
// means "pick a free port", which tests use.
func checkHostPort(s string) error {
	_, port, err := net.SplitHostPort(s)
	if err != nil {
		return fmt.Errorf("is not host:port")
	}
	p, err := strconv.Atoi(port)
	if err != nil || p < 0 || p > 65535 {
		return fmt.Errorf("has no valid port (0..65535)")
	}
	return nil
}

// checkHTTPURL accepts absolute http and https URLs with a host.
func checkHTTPURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("is not an absolute http(s) URL")
	}
	return nil
}

// quoteURL quotes a URL for a message with any password in it replaced by
// "xxxxx".
func quoteURL(s string) string {
	if u, err := url.Parse(s); err == nil {
		return strconv.Quote(u.Redacted())
	}
	return strconv.Quote(s)
}
