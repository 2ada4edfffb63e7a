package identity_test

import (
	"context"
	"io"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/oneonone/oneonone/identity"
)

// smtpSink is an in-process SMTP server that keeps what it receives.
type smtpSink struct {
	mu   sync.Mutex
	from string
	to   []string
	data []byte
}

func (b *smtpSink) NewSession(*smtp.Conn) (smtp.Session, error) { return b, nil }
func (b *smtpSink) Reset()                                      {}
func (b *smtpSink) Logout() error                               { return nil }
func (b *smtpSink) Mail(from string, _ *smtp.MailOptions) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.from = from
	return nil
}
func (b *smtpSink) Rcpt(to string, _ *smtp.RcptOptions) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.to = append(b.to, to)
	return nil
}
func (b *smtpSink) Data(r io.Reader) error {
	d, err := io.ReadAll(r)
	b.mu.Lock()
	defer b.mu.Unlock()
	b.data = d
	return err
}

func TestSMTPMailer(t *testing.T) {
	sink := &smtpSink{}
	srv := smtp.NewServer(sink)
	srv.Domain = "localhost"
	srv.ReadTimeout, srv.WriteTimeout = 5*time.Second, 5*time.Second
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })

	host, port, _ := net.SplitHostPort(ln.Addr().String())
	p, _ := strconv.Atoi(port)
	m := &identity.SMTPMailer{Host: host, Port: p, From: "1on1 <oneonone@example.com>"}
	body := "次のリンクを開いてサインインしてください:\n\nhttp://x/auth/email/verify?token=" + strings.Repeat("a", 80) + "\n"
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := m.Send(ctx, "ren@example.com", "1on1へのサインインリンク", body); err != nil {
		t.Fatal(err)
	}
	sink.mu.Lock()
	defer sink.mu.Unlock()
	if sink.from != "oneonone@example.com" || len(sink.to) != 1 || sink.to[0] != "ren@example.com" {
		t.Errorf("envelope from %q to %v", sink.from, sink.to)
	}
	msg, err := mail.ReadMessage(strings.NewReader(string(sink.data)))
	if err != nil {
		t.Fatal(err)
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if err != nil || subject != "1on1へのサインインリンク" {
		t.Errorf("subject %q, %v", subject, err)
	}
	if ct := msg.Header.Get("Content-Type"); ct != "text/plain; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	got, err := io.ReadAll(quotedprintable.NewReader(msg.Body))
	if err != nil || strings.ReplaceAll(string(got), "\r\n", "\n") != body {
		t.Errorf("body %q, %v", got, err)
	}

	for _, bad := range []string{"ren@example.com\r\nBcc: x@example.com", "not an address"} {
		if err := m.Send(ctx, bad, "s", "b"); err == nil {
			t.Errorf("Send to %q accepted", bad)
		}
	}
}
