package imip

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"strconv"
	"strings"
	"time"
)

// SenderConfig is the SMTP relay (config smtp.*).
type SenderConfig struct {
	Host string
	// Port defaults to 587 (submission).
	Port     int
	Username string
	Password string
	// From is the From header and, as a bare address, the envelope
	// sender: "Name <addr@example.com>" or "addr@example.com".
	From string
	// StartTLS upgrades the connection before anything else is said; a
	// relay that does not offer it is an error.
	StartTLS bool
	// TLSConfig verifies the relay (nil: system roots, ServerName = Host);
	// tests give their own roots.
	TLSConfig *tls.Config
	// Timeout bounds one submission; default 30 s.
	Timeout time.Duration
	// LocalName is the name given in EHLO; default "localhost".
	LocalName string
	// DialContext connects to the relay; nil uses a net.Dialer. Tests and
	// proxies set it.
	DialContext func(ctx context.Context, network, addr string) (net.Conn, error)
}

// Sender submits messages to one SMTP relay, one connection per message
// (invitations are rare; a pooled connection would only go stale).
type Sender struct {
	cfg  SenderConfig
	from string // header form
}

// ErrPlaintextAuth is returned instead of sending credentials over a
// connection that is neither TLS nor to a loopback host.
var ErrPlaintextAuth = errors.New("imip: refusing to send SMTP credentials over a plaintext connection to a non-loopback host (set smtp.starttls)")

// RejectedError means the relay refused a recipient for good (a 5xx
// answer to RCPT TO): sending again will not help.
type RejectedError struct {
	Code int
	Err  error
}

func (e *RejectedError) Error() string {
	return "imip: relay refused the recipient (" + strconv.Itoa(e.Code) + "): " + e.Err.Error()
}

func (e *RejectedError) Unwrap() error { return e.Err }

// NewSender checks cfg and returns a sender; it does not connect.
func NewSender(cfg SenderConfig) (*Sender, error) {
	if cfg.Host == "" {
		return nil, errors.New("imip: smtp host is required")
	}
	from, err := mail.ParseAddress(cfg.From)
	if err != nil {
		return nil, fmt.Errorf("imip: smtp from %q: %w", cfg.From, err)
	}
	if cfg.Port == 0 {
		cfg.Port = 587
	}
	if cfg.Port < 0 || cfg.Port > 65535 {
		return nil, fmt.Errorf("imip: smtp port %d out of range", cfg.Port)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.LocalName == "" {
		cfg.LocalName = "localhost"
	}
	if cfg.DialContext == nil {
		cfg.DialContext = (&net.Dialer{}).DialContext
	}
	return &Sender{cfg: cfg, from: from.String()}, nil
}

// From is the From header messages should carry.
func (s *Sender) From() string { return s.from }

// Send submits msg. Errors say which step failed and never hold the
// password or the message.
func (s *Sender) Send(ctx context.Context, msg Message) error {
	addr := net.JoinHostPort(s.cfg.Host, strconv.Itoa(s.cfg.Port))
	if err := s.send(ctx, addr, msg); err != nil {
		return fmt.Errorf("imip: send %s of %s (sequence %d) via %s: %w", msg.Method, msg.UID, msg.Sequence, addr, err)
	}
	return nil
}

func (s *Sender) send(ctx context.Context, addr string, msg Message) error {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	conn, err := s.cfg.DialContext(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer conn.Close()
	if d, ok := ctx.Deadline(); ok {
		if err := conn.SetDeadline(d); err != nil {
			return err
		}
	}
	// net/smtp takes no context: a cancelled one ends the I/O instead.
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	wrap := func(step string, err error) error {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			// The connection's deadline is the context's: say which.
			<-ctx.Done()
		}
		if ctx.Err() != nil {
			return fmt.Errorf("%s: %w (%w)", step, ctx.Err(), err)
		}
		return fmt.Errorf("%s: %w", step, err)
	}

	c, err := smtp.NewClient(conn, s.cfg.Host)
	if err != nil {
		return wrap("greeting", err)
	}
	defer c.Close()
	if err := c.Hello(s.cfg.LocalName); err != nil {
		return wrap("EHLO", err)
	}
	secure := false
	if s.cfg.StartTLS {
		if ok, _ := c.Extension("STARTTLS"); !ok {
			return errors.New("STARTTLS: the relay does not offer it")
		}
		tc := &tls.Config{}
		if s.cfg.TLSConfig != nil {
			tc = s.cfg.TLSConfig.Clone()
		}
		if tc.ServerName == "" {
			tc.ServerName = s.cfg.Host
		}
		if err := c.StartTLS(tc); err != nil {
			return wrap("STARTTLS", err)
		}
		secure = true
	}
	if s.cfg.Username != "" {
		if err := authAllowed(s.cfg.Host, secure); err != nil {
			return err
		}
		if ok, _ := c.Extension("AUTH"); !ok {
			return errors.New("AUTH: the relay does not offer it")
		}
		if err := c.Auth(plainAuth{user: s.cfg.Username, password: s.cfg.Password, host: s.cfg.Host}); err != nil {
			return wrap("AUTH", err)
		}
	}
	if err := c.Mail(msg.From); err != nil {
		return wrap("MAIL FROM", err)
	}
	if err := c.Rcpt(msg.To); err != nil {
		var te *textproto.Error
		if errors.As(err, &te) && te.Code >= 500 {
			return &RejectedError{Code: te.Code, Err: err}
		}
		return wrap("RCPT TO", err)
	}
	w, err := c.Data()
	if err != nil {
		return wrap("DATA", err)
	}
	if _, err := w.Write(msg.Data); err != nil {
		return wrap("DATA", err)
	}
	if err := w.Close(); err != nil {
		return wrap("DATA", err)
	}
	// The message is accepted once DATA is; a failed QUIT loses nothing.
	_ = c.Quit()
	return nil
}

// authAllowed refuses credentials in clear text, except to a loopback
// relay (a local MTA), where nobody can listen in. The host is judged by
// its configured name, never by what it resolves to.
func authAllowed(host string, secure bool) error {
	if secure || isLoopback(host) {
		return nil
	}
	return ErrPlaintextAuth
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

// plainAuth is SASL PLAIN (RFC 4616). net/smtp's PlainAuth has its own
// idea of "local" (the literal names only); this one defers to
// authAllowed and checks again at the moment of sending.
type plainAuth struct{ user, password, host string }

func (a plainAuth) Start(server *smtp.ServerInfo) (string, []byte, error) {
	if err := authAllowed(a.host, server.TLS); err != nil {
		return "", nil, err
	}
	return "PLAIN", []byte("\x00" + a.user + "\x00" + a.password), nil
}

func (a plainAuth) Next(_ []byte, more bool) ([]byte, error) {
	if more {
		return nil, errors.New("unexpected server challenge")
	}
	return nil, nil
}
