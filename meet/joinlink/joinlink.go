// Package joinlink signs and verifies personal room links: a compact,
// URL-safe token naming a series, a person, their role and an expiry,
// authenticated with HMAC-SHA256 under the daemon's secret. Revocation is a
// per-person generation number: the caller bumps it to invalidate every
// link issued before. The package does no I/O and knows nothing of HTTP,
// sessions or the store; it must never log tokens.
package joinlink

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"strings"
	"sync"
	"time"

	"github.com/oneonone/oneonone/internal/errs"
)

// Roles a link can carry.
const (
	RoleManager = "manager"
	RoleReport  = "report"
)

// prefix versions the token format so a future format can be told apart
// (and old links refused with a clear error) without guessing.
const prefix = "v1."

// MinKeySize is the shortest secret accepted: HMAC-SHA256 gets no stronger
// than its key, and a short key could be brute-forced offline from one link.
const MinKeySize = 32

// maxTokenSize bounds the work done on attacker-controlled input.
const maxTokenSize = 2048

// Claims is what a link says about its holder.
type Claims struct {
	Series     string
	Email      string
	Role       string // RoleManager or RoleReport
	Expires    time.Time
	Generation int
}

// wire is the signed payload; short keys keep links short.
type wire struct {
	S string `json:"s"`
	E string `json:"e"`
	R string `json:"r"`
	X int64  `json:"x"`
	G int    `json:"g"`
}

// Error is a reason a token was refused. All of them unwrap to
// errs.ErrUnauthorized, so the HTTP layer can answer 401 without knowing
// the reasons; callers that want to tell the user "your link expired"
// compare with errors.Is against the values below.
type Error struct{ reason string }

func (e *Error) Error() string { return "joinlink: " + e.reason }

// Unwrap makes every refusal an errs.ErrUnauthorized.
func (e *Error) Unwrap() error { return errs.ErrUnauthorized }

// The reasons a token is refused.
var (
	ErrMalformed    = &Error{"malformed token"}
	ErrBadSignature = &Error{"bad signature"}
	ErrExpired      = &Error{"expired"}
	ErrRevoked      = &Error{"revoked"}
)

// Generations tells the current link generation of a person in a series.
// The store implements it; bumping the number revokes older links.
type Generations interface {
	Generation(ctx context.Context, series, email string) (int, error)
}

// Signer signs and verifies links under one secret. It is safe for
// concurrent use.
type Signer struct {
	macs sync.Pool // of hash.Hash, keyed; HMAC setup costs two block hashes
}

// NewSigner returns a Signer for secret, which must be at least MinKeySize
// bytes of random data kept by the daemon.
func NewSigner(secret []byte) (*Signer, error) {
	if len(secret) < MinKeySize {
		return nil, errs.Invalidf("secret", "must be at least %d bytes, got %d", MinKeySize, len(secret))
	}
	// Derive a purpose-bound key so the same daemon secret can key other
	// MACs (sessions, CSRF) without a token of one kind verifying as another.
	d := hmac.New(sha256.New, secret)
	d.Write([]byte("oneonone joinlink v1"))
	key := d.Sum(nil)
	s := &Signer{}
	s.macs.New = func() any { return hmac.New(sha256.New, key) }
	return s, nil
}

func (s *Signer) mac(signed string) []byte {
	h := s.macs.Get().(hash.Hash)
	h.Reset()
	h.Write([]byte(signed))
	sum := h.Sum(nil)
	s.macs.Put(h)
	return sum
}

// Sign returns the token for c. It does not validate c beyond what the
// format needs; callers build claims from stored series.
func (s *Signer) Sign(c Claims) string {
	b, err := json.Marshal(wire{S: c.Series, E: c.Email, R: c.Role, X: c.Expires.Unix(), G: c.Generation})
	if err != nil {
		// Only strings and integers: cannot fail.
		panic(fmt.Sprintf("joinlink: marshal claims: %v", err))
	}
	signed := prefix + base64.RawURLEncoding.EncodeToString(b)
	return signed + "." + base64.RawURLEncoding.EncodeToString(s.mac(signed))
}

// Verify checks token's format, signature and expiry at now and returns
// its claims. It does not check revocation: see VerifyCurrent.
func (s *Signer) Verify(token string, now time.Time) (Claims, error) {
	if len(token) > maxTokenSize || !strings.HasPrefix(token, prefix) {
		return Claims{}, ErrMalformed
	}
	// The base64 decoder skips CR and LF; refuse them (and anything else
	// outside the alphabet) so one link has exactly one spelling.
	for i := 0; i < len(token); i++ {
		if !urlSafe(token[i]) {
			return Claims{}, ErrMalformed
		}
	}
	dot := strings.LastIndexByte(token, '.')
	if dot < len(prefix) {
		return Claims{}, ErrMalformed
	}
	signed, sig := token[:dot], token[dot+1:]
	got, err := base64.RawURLEncoding.Strict().DecodeString(sig)
	if err != nil || len(got) != sha256.Size {
		return Claims{}, ErrMalformed
	}
	// Authenticate before parsing: the JSON decoder never sees forged input.
	if !hmac.Equal(got, s.mac(signed)) {
		return Claims{}, ErrBadSignature
	}
	payload, err := base64.RawURLEncoding.Strict().DecodeString(signed[len(prefix):])
	if err != nil {
		return Claims{}, ErrMalformed
	}
	var w wire
	dec := json.NewDecoder(strings.NewReader(string(payload)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&w); err != nil || dec.More() {
		return Claims{}, ErrMalformed
	}
	if w.S == "" || w.E == "" || (w.R != RoleManager && w.R != RoleReport) {
		return Claims{}, ErrMalformed
	}
	c := Claims{Series: w.S, Email: w.E, Role: w.R, Expires: time.Unix(w.X, 0).UTC(), Generation: w.G}
	if !now.Before(c.Expires) {
		return c, ErrExpired
	}
	return c, nil
}

// VerifyCurrent is Verify plus revocation: the link's generation must be
// the person's current one.
func (s *Signer) VerifyCurrent(ctx context.Context, token string, now time.Time, gens Generations) (Claims, error) {
	c, err := s.Verify(token, now)
	if err != nil {
		return c, err
	}
	cur, err := gens.Generation(ctx, c.Series, c.Email)
	if err != nil {
		if errors.Is(err, errs.ErrNotFound) {
			// The person left the series: every link of theirs is dead.
			return c, ErrRevoked
		}
		return c, fmt.Errorf("joinlink: current generation: %w", err)
	}
	if cur != c.Generation {
		return c, ErrRevoked
	}
	return c, nil
}

func urlSafe(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.'
}
