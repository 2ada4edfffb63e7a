// Package smtptest runs an in-process SMTP relay for tests, built on
// github.com/emersion/go-smtp's server: STARTTLS with a certificate made
// for the test, AUTH PLAIN, a record of every accepted message, and
// faults on demand (the next messages refused with 451, a recipient
// refused with 550). It is for tests only and owns no production code.
package smtptest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Config says what the relay offers.
type Config struct {
	// StartTLS offers STARTTLS with a self-signed certificate for
	// 127.0.0.1, localhost and mail.example.com.
	StartTLS bool
	// Username and Password, when set, make AUTH PLAIN required.
	Username, Password string
	// AllowInsecureAuth offers AUTH before TLS too.
	AllowInsecureAuth bool
	// RefuseRecipient is answered 550 at RCPT TO.
	RefuseRecipient string
}

// Received is one accepted message.
type Received struct {
	From string
	To   []string
	Data []byte
	// TLS and AuthUser say how the client was connected when it sent.
	TLS      bool
	AuthUser string
}

// Server is a running relay.
type Server struct {
	// Addr is "127.0.0.1:PORT"; Host and Port are its parts.
	Addr string
	Host string
	Port int
	// RootCAs trusts the relay's certificate.
	RootCAs *x509.CertPool

	cfg      Config
	mu       sync.Mutex
	received []Received
	auths    int
	failNext int
}

// Start starts a relay on a free loopback port; it stops when the test
// ends.
func Start(t testing.TB, cfg Config) *Server {
	t.Helper()
	s := &Server{cfg: cfg}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &session{srv: s, conn: c}, nil
	}))
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = cfg.AllowInsecureAuth
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	srv.MaxMessageBytes = 1 << 20
	if cfg.StartTLS {
		cert, pool := selfSigned(t)
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		s.RootCAs = pool
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.Addr = l.Addr().String()
	s.Host = "127.0.0.1"
	s.Port = l.Addr().(*net.TCPAddr).Port
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(l)
	}()
	t.Cleanup(func() {
		srv.Close()
		<-done
	})
	return s
}

// Messages returns the accepted messages so far.
func (s *Server) Messages() []Received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Received(nil), s.received...)
}

// AuthAttempts is how many AUTH commands the relay has seen.
func (s *Server) AuthAttempts() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.auths
}

// FailNext makes the next n messages fail at DATA with 451 (a relay in
// trouble: try again later).
func (s *Server) FailNext(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failNext = n
}

type session struct {
	srv  *Server
	conn *smtp.Conn
	user string
	from string
	to   []string
}

var _ smtp.AuthSession = (*session)(nil)

func (s *session) AuthMechanisms() []string {
	if s.srv.cfg.Username == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (s *session) Auth(mech string) (sasl.Server, error) {
	s.srv.mu.Lock()
	s.srv.auths++
	s.srv.mu.Unlock()
	return sasl.NewPlainServer(func(identity, username, password string) error {
		if username != s.srv.cfg.Username || password != s.srv.cfg.Password {
			return smtp.ErrAuthFailed
		}
		s.user = username
		return nil
	}), nil
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	if s.srv.cfg.Username != "" && s.user == "" {
		return smtp.ErrAuthRequired
	}
	s.from = from
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if s.srv.cfg.RefuseRecipient != "" && strings.EqualFold(to, s.srv.cfg.RefuseRecipient) {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
	}
	s.to = append(s.to, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	var buf bytes.Buffer
	if _, err := io.Copy(&buf, r); err != nil {
		return err
	}
	_, secure := s.conn.TLSConnectionState()
	s.srv.mu.Lock()
	defer s.srv.mu.Unlock()
	if s.srv.failNext > 0 {
		s.srv.failNext--
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try again later"}
	}
	s.srv.received = append(s.srv.received, Received{From: s.from, To: append([]string(nil), s.to...),
		Data: buf.Bytes(), TLS: secure, AuthUser: s.user})
	return nil
}

func (s *session) Reset() { s.from, s.to = "", nil }

func (s *session) Logout() error { return nil }

// selfSigned makes a certificate for the relay and a pool trusting it.
func selfSigned(t testing.TB) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "smtptest"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		DNSNames:              []string{"localhost", "mail.example.com"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

// ErrNoMessage is returned by Last when nothing arrived.
var ErrNoMessage = errors.New("smtptest: no message received")

// Last returns the last accepted message.
func (s *Server) Last() (Received, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.received) == 0 {
		return Received{}, ErrNoMessage
	}
	return s.received[len(s.received)-1], nil
}
