package imip_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/oneonone/oneonone/calendar"
	"github.com/oneonone/oneonone/calendar/imip"
	"github.com/oneonone/oneonone/calendar/imip/smtptest"
)

const (
	relayUser     = "bot@example.com"
	relayPassword = "s3cret-relay-password"
)

func requestMessage(t testing.TB) imip.Message {
	t.Helper()
	msgs, err := imip.Messages(imip.MethodRequest, testEvent(t), imip.Options{From: "bot@example.com", Now: now})
	if err != nil || len(msgs) != 1 {
		t.Fatalf("Messages: %v, %d", err, len(msgs))
	}
	return msgs[0]
}

func newSender(t testing.TB, cfg imip.SenderConfig) *imip.Sender {
	t.Helper()
	if cfg.From == "" {
		cfg.From = "1on1 <bot@example.com>"
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 5 * time.Second
	}
	s, err := imip.NewSender(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// redirect dials addr whatever host the sender was configured with, so a
// test can name the relay "mail.example.com".
func redirect(addr string) func(ctx context.Context, network, _ string) (net.Conn, error) {
	return func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}
}

func TestSendSTARTTLSAndAuth(t *testing.T) {
	relay := smtptest.Start(t, smtptest.Config{StartTLS: true, Username: relayUser, Password: relayPassword})
	// Named as in a real setup; the certificate is for mail.example.com.
	s := newSender(t, imip.SenderConfig{Host: "mail.example.com", Port: relay.Port, Username: relayUser,
		Password: relayPassword, StartTLS: true, TLSConfig: &tls.Config{RootCAs: relay.RootCAs},
		DialContext: redirect(relay.Addr)})
	msg := requestMessage(t)
	if err := s.Send(context.Background(), msg); err != nil {
		t.Fatal(err)
	}
	got, err := relay.Last()
	if err != nil {
		t.Fatal(err)
	}
	if !got.TLS || got.AuthUser != relayUser || got.From != "bot@example.com" || len(got.To) != 1 || got.To[0] != "ren@example.com" {
		t.Errorf("received %+v", got)
	}
	// The relay turns CRLF.CRLF-stuffing back; what arrives is what we built.
	if !bytes.Equal(bytes.TrimRight(got.Data, "\r\n"), bytes.TrimRight(msg.Data, "\r\n")) {
		t.Error("message changed on the way")
	}
	if p := parseMail(t, got.Data); p.method() != "REQUEST" {
		t.Errorf("METHOD = %q", p.method())
	}
}

func TestSendFailures(t *testing.T) {
	tests := []struct {
		name   string
		relay  smtptest.Config
		sender func(r *smtptest.Server) imip.SenderConfig
		check  func(t *testing.T, err error)
	}{
		{
			name:  "certificate not trusted",
			relay: smtptest.Config{StartTLS: true},
			sender: func(r *smtptest.Server) imip.SenderConfig {
				return imip.SenderConfig{Host: r.Host, Port: r.Port, StartTLS: true}
			},
			check: func(t *testing.T, err error) {
				if err == nil || !strings.Contains(err.Error(), "STARTTLS") {
					t.Errorf("err = %v, want a STARTTLS failure", err)
				}
			},
		},
		{
			name:  "STARTTLS not offered",
			relay: smtptest.Config{},
			sender: func(r *smtptest.Server) imip.SenderConfig {
				return imip.SenderConfig{Host: r.Host, Port: r.Port, StartTLS: true}
			},
			check: func(t *testing.T, err error) {
				if err == nil || !strings.Contains(err.Error(), "does not offer") {
					t.Errorf("err = %v", err)
				}
			},
		},
		{
			name:  "wrong password",
			relay: smtptest.Config{StartTLS: true, Username: relayUser, Password: relayPassword},
			sender: func(r *smtptest.Server) imip.SenderConfig {
				return imip.SenderConfig{Host: r.Host, Port: r.Port, StartTLS: true, Username: relayUser,
					Password: "wrong-password-xyz", TLSConfig: &tls.Config{RootCAs: r.RootCAs}}
			},
			check: func(t *testing.T, err error) {
				if err == nil || !strings.Contains(err.Error(), "AUTH") || strings.Contains(err.Error(), "wrong-password-xyz") {
					t.Errorf("err = %v, want an AUTH failure without the password", err)
				}
			},
		},
		{
			name:  "recipient refused for good",
			relay: smtptest.Config{RefuseRecipient: "ren@example.com"},
			sender: func(r *smtptest.Server) imip.SenderConfig {
				return imip.SenderConfig{Host: r.Host, Port: r.Port}
			},
			check: func(t *testing.T, err error) {
				var rej *imip.RejectedError
				if !errors.As(err, &rej) || rej.Code != 550 {
					t.Errorf("err = %v, want a RejectedError 550", err)
				}
			},
		},
		{
			name:  "relay in trouble",
			relay: smtptest.Config{},
			sender: func(r *smtptest.Server) imip.SenderConfig {
				r.FailNext(1)
				return imip.SenderConfig{Host: r.Host, Port: r.Port}
			},
			check: func(t *testing.T, err error) {
				var rej *imip.RejectedError
				if err == nil || errors.As(err, &rej) || !strings.Contains(err.Error(), "451") {
					t.Errorf("err = %v, want a temporary 451", err)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			relay := smtptest.Start(t, tt.relay)
			err := newSender(t, tt.sender(relay)).Send(context.Background(), requestMessage(t))
			tt.check(t, err)
			if len(relay.Messages()) != 0 {
				t.Error("a message was accepted")
			}
			if err != nil && strings.Contains(err.Error(), "BEGIN:VCALENDAR") {
				t.Error("error holds the message")
			}
		})
	}
}

// Credentials never cross a plaintext connection, unless the relay is on
// this machine; the host is judged by its configured name.
func TestSendRefusesPlaintextAuth(t *testing.T) {
	tests := []struct {
		host    string
		allowed bool
	}{
		{"mail.example.com", false},
		{"192.0.2.10", false},
		{"127.0.0.1", true},
		{"127.0.0.2", true},
		{"localhost", true},
		{"::1", true},
	}
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			relay := smtptest.Start(t, smtptest.Config{Username: relayUser, Password: relayPassword, AllowInsecureAuth: true})
			s := newSender(t, imip.SenderConfig{Host: tt.host, Port: relay.Port, Username: relayUser, Password: relayPassword,
				DialContext: redirect(relay.Addr)})
			err := s.Send(context.Background(), requestMessage(t))
			if tt.allowed {
				if err != nil || len(relay.Messages()) != 1 {
					t.Fatalf("err = %v, %d messages", err, len(relay.Messages()))
				}
				return
			}
			if !errors.Is(err, imip.ErrPlaintextAuth) {
				t.Fatalf("err = %v, want ErrPlaintextAuth", err)
			}
			if relay.AuthAttempts() != 0 || len(relay.Messages()) != 0 {
				t.Errorf("relay saw %d AUTH, %d messages", relay.AuthAttempts(), len(relay.Messages()))
			}
		})
	}
}

// A relay that accepts the connection and says nothing does not hold the
// reconciler: the context ends the attempt.
func TestSendHonoursContext(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	s := newSender(t, imip.SenderConfig{Host: "127.0.0.1", Port: l.Addr().(*net.TCPAddr).Port, Timeout: time.Minute})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	began := time.Now()
	err = s.Send(ctx, requestMessage(t))
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(began) > 5*time.Second {
		t.Fatalf("err = %v after %v", err, time.Since(began))
	}
}

func TestNewSenderChecks(t *testing.T) {
	for _, cfg := range []imip.SenderConfig{
		{From: "bot@example.com"},
		{Host: "mail.example.com", From: "nobody"},
		{Host: "mail.example.com", From: "bot@example.com", Port: 70000},
	} {
		if _, err := imip.NewSender(cfg); err == nil {
			t.Errorf("NewSender(%+v) accepted", cfg)
		}
	}
}

func TestNotifier(t *testing.T) {
	relay := smtptest.Start(t, smtptest.Config{})
	n := imip.NewNotifier(newSender(t, imip.SenderConfig{Host: relay.Host, Port: relay.Port}), slog.New(slog.DiscardHandler),
		func() time.Time { return now })
	ev := testEvent(t)
	relay.FailNext(1)
	if err := n.Notify(context.Background(), calendar.NotifyRequest, ev); err == nil {
		t.Fatal("a failed send reported as sent")
	}
	if err := n.Notify(context.Background(), calendar.NotifyRequest, ev); err != nil {
		t.Fatal(err)
	}
	ev.Sequence++
	if err := n.Notify(context.Background(), calendar.NotifyCancel, ev); err != nil {
		t.Fatal(err)
	}
	msgs := relay.Messages()
	if len(msgs) != 2 {
		t.Fatalf("%d messages, want 2", len(msgs))
	}
	if a, b := parseMail(t, msgs[0].Data), parseMail(t, msgs[1].Data); a.method() != "REQUEST" || b.method() != "CANCEL" {
		t.Errorf("methods %q, %q", a.method(), b.method())
	}

	// An address the relay refuses for good does not hold the event back.
	refusing := smtptest.Start(t, smtptest.Config{RefuseRecipient: "ren@example.com"})
	n = imip.NewNotifier(newSender(t, imip.SenderConfig{Host: refusing.Host, Port: refusing.Port}), nil, nil)
	if err := n.Notify(context.Background(), calendar.NotifyRequest, ev); err != nil {
		t.Errorf("refused recipient: %v, want nil (logged, not retried)", err)
	}
}
