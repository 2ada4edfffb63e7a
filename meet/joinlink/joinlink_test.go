package joinlink

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/oneonone/oneonone/internal/errs"
)

var testKey = []byte("0123456789abcdef0123456789abcdef")

func newSigner(t testing.TB) *Signer {
	t.Helper()
	s, err := NewSigner(testKey)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestNewSignerShortKey(t *testing.T) {
	_, err := NewSigner(make([]byte, 31))
	if _, ok := errs.AsInvalid(err); !ok {
		t.Fatalf("short key: got %v, want *errs.Invalid", err)
	}
}

func TestRoundTrip(t *testing.T) {
	s := newSigner(t)
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	c := Claims{Series: "s_abc", Email: "ren@example.com", Role: RoleReport, Expires: now.Add(time.Hour), Generation: 3}
	tok := s.Sign(c)
	if !strings.HasPrefix(tok, "v1.") || strings.ContainsAny(tok, "+/=?&# ") {
		t.Fatalf("token %q is not URL-safe with a version prefix", tok)
	}
	got, err := s.Verify(tok, now)
	if err != nil {
		t.Fatal(err)
	}
	if got != c {
		t.Fatalf("got %+v, want %+v", got, c)
	}
}

func TestVerifyErrors(t *testing.T) {
	s := newSigner(t)
	other, _ := NewSigner([]byte("another key that is long enough!!"))
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	good := Claims{Series: "s_abc", Email: "ren@example.com", Role: RoleReport, Expires: now.Add(time.Hour)}
	tok := s.Sign(good)
	flip := []byte(tok)
	flip[5] ^= 1 // inside the payload
	badRole := good
	badRole.Role = "admin"
	tests := []struct {
		name  string
		token string
		now   time.Time
		want  error
	}{
		{"empty", "", now, ErrMalformed},
		{"no prefix", tok[3:], now, ErrMalformed},
		{"future version", "v2." + tok[3:], now, ErrMalformed},
		{"no signature", tok[:strings.LastIndexByte(tok, '.')], now, ErrMalformed},
		{"short signature", tok[:len(tok)-2], now, ErrMalformed},
		{"tampered payload", string(flip), now, ErrBadSignature},
		{"other key", other.Sign(good), now, ErrBadSignature},
		{"expired", tok, now.Add(time.Hour), ErrExpired},
		{"role not allowed", s.Sign(badRole), now, ErrMalformed},
		{"huge", "v1." + strings.Repeat("A", 5000), now, ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.Verify(tt.token, tt.now)
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
			if !errors.Is(err, errs.ErrUnauthorized) {
				t.Fatalf("%v does not unwrap to ErrUnauthorized", err)
			}
		})
	}
}

type generations map[string]int

func (g generations) Generation(_ context.Context, series, email string) (int, error) {
	n, ok := g[series+"/"+email]
	if !ok {
		return 0, fmt.Errorf("person %s: %w", email, errs.ErrNotFound)
	}
	return n, nil
}

type failing struct{}

func (failing) Generation(context.Context, string, string) (int, error) {
	return 0, errors.New("database is down")
}

func TestVerifyCurrent(t *testing.T) {
	s := newSigner(t)
	ctx := context.Background()
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	tok := s.Sign(Claims{Series: "s1", Email: "a@example.com", Role: RoleManager, Expires: now.Add(time.Hour), Generation: 2})
	tests := []struct {
		name string
		gens Generations
		want error
	}{
		{"current", generations{"s1/a@example.com": 2}, nil},
		{"bumped", generations{"s1/a@example.com": 3}, ErrRevoked},
		{"person gone", generations{}, ErrRevoked},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.VerifyCurrent(ctx, tok, now, tt.gens)
			if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}
	_, err := s.VerifyCurrent(ctx, tok, now, failing{})
	if err == nil || errors.Is(err, errs.ErrUnauthorized) {
		t.Fatalf("store failure must not look like a refusal: %v", err)
	}
}

func FuzzVerify(f *testing.F) {
	s := newSigner(f)
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	f.Add(s.Sign(Claims{Series: "s", Email: "e@x", Role: RoleManager, Expires: now.Add(time.Hour)}))
	f.Add("v1..")
	f.Add("v1.e30.AAAA")
	f.Add("")
	// The base64 decoder skips CR/LF; a token with one inside must not verify.
	f.Add(s.Sign(Claims{Series: "s", Email: "e@x", Role: RoleManager, Expires: now.Add(time.Hour)})[:20] + "\r" + s.Sign(Claims{Series: "s", Email: "e@x", Role: RoleManager, Expires: now.Add(time.Hour)})[20:])
	f.Fuzz(func(t *testing.T, tok string) {
		c, err := s.Verify(tok, now)
		if err == nil {
			// Anything accepted must be exactly what we would have signed.
			if s.Sign(c) != tok {
				t.Fatalf("accepted %q that re-signs differently", tok)
			}
			return
		}
		var e *Error
		if !errors.As(err, &e) {
			t.Fatalf("untyped error %v", err)
		}
	})
}

func BenchmarkVerify(b *testing.B) {
	s := newSigner(b)
	now := time.Now()
	tok := s.Sign(Claims{Series: "s_abc", Email: "ren@example.com", Role: RoleReport, Expires: now.Add(time.Hour)})
	for b.Loop() {
		if _, err := s.Verify(tok, now); err != nil {
			b.Fatal(err)
		}
	}
}
