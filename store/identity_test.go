package store

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/oneonone/oneonone/identity"
	"github.com/oneonone/oneonone/internal/errs"
)

func TestIdentitySQLite(t *testing.T)   { runIdentitySuite(t, sqliteDSN) }
func TestIdentityPostgres(t *testing.T) { runIdentitySuite(t, postgresDSN) }

func runIdentitySuite(t *testing.T, newDSN func(testing.TB) string) {
	tests := []struct {
		name string
		run  func(t *testing.T, s *Store)
	}{
		{"Generations", testIdentityGenerations},
		{"Sessions", testIdentitySessions},
		{"SignInTokensSingleUse", testIdentitySignInTokens},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := openStore(t, newDSN(t))
			mustCreate(t, s, newSeries("s_1", "aiko@example.com", "ren@example.com"))
			tt.run(t, s)
		})
	}
}

var idTime = time.Date(2026, 12, 1, 9, 0, 0, 123456789, time.UTC)

func testIdentityGenerations(t *testing.T, s *Store) {
	for _, email := range []string{"aiko@example.com", "REN@example.com"} {
		if g, err := s.Generation(ctx, "s_1", email); err != nil || g != 0 {
			t.Errorf("Generation(s_1, %s) = %d, %v; want 0", email, g, err)
		}
	}
	if _, err := s.Generation(ctx, "s_1", "mallory@example.com"); !errors.Is(err, errs.ErrNotFound) {
		t.Errorf("Generation of a stranger: %v, want ErrNotFound", err)
	}
	if _, err := s.Generation(ctx, "s_nope", "ren@example.com"); !errors.Is(err, errs.ErrNotFound) {
		t.Errorf("Generation in a missing series: %v, want ErrNotFound", err)
	}
	if err := s.CreatePersonSession(ctx, identity.Session{IDHash: "h1", Email: "ren@example.com", Via: identity.ViaLink,
		Created: idTime, Expires: idTime.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	for want := 1; want <= 2; want++ {
		g, err := s.RevokeLinks(ctx, "Ren@Example.com")
		if err != nil || g != want {
			t.Fatalf("RevokeLinks = %d, %v; want %d", g, err, want)
		}
	}
	if g, _ := s.Generation(ctx, "s_1", "ren@example.com"); g != 2 {
		t.Errorf("Generation after two revocations = %d", g)
	}
	if g, _ := s.LinkGeneration(ctx, "ren@example.com"); g != 2 {
		t.Errorf("LinkGeneration = %d", g)
	}
	if g, _ := s.LinkGeneration(ctx, "aiko@example.com"); g != 0 {
		t.Errorf("the manager's generation moved: %d", g)
	}
	if _, err := s.PersonSession(ctx, "h1"); !errors.Is(err, errs.ErrNotFound) {
		t.Errorf("revocation left the session: %v", err)
	}
	if _, err := s.RevokeLinks(ctx, "nobody@example.com"); !errors.Is(err, errs.ErrNotFound) {
		t.Errorf("RevokeLinks(unknown) = %v", err)
	}
}

func testIdentitySessions(t *testing.T, s *Store) {
	in := identity.Session{IDHash: "abc", Email: "Ren@Example.com", Via: identity.ViaOIDC, Created: idTime, Expires: idTime.Add(time.Hour)}
	if err := s.CreatePersonSession(ctx, in); err != nil {
		t.Fatal(err)
	}
	if err := s.CreatePersonSession(ctx, in); !errors.Is(err, errs.ErrConflict) {
		t.Errorf("duplicate session id: %v", err)
	}
	got, err := s.PersonSession(ctx, "abc")
	if err != nil {
		t.Fatal(err)
	}
	want := in
	want.Email = "ren@example.com"
	if got != want {
		t.Errorf("PersonSession = %+v, want %+v", got, want)
	}
	// A later create sweeps what has expired by then.
	later := identity.Session{IDHash: "def", Email: "aiko@example.com", Via: identity.ViaEmail, Created: idTime.Add(2 * time.Hour), Expires: idTime.Add(3 * time.Hour)}
	if err := s.CreatePersonSession(ctx, later); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PersonSession(ctx, "abc"); !errors.Is(err, errs.ErrNotFound) {
		t.Errorf("expired session not swept: %v", err)
	}
	if err := s.DeletePersonSession(ctx, "def"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeletePersonSession(ctx, "def"); err != nil {
		t.Errorf("deleting twice: %v", err)
	}
	if _, err := s.PersonSession(ctx, "def"); !errors.Is(err, errs.ErrNotFound) {
		t.Errorf("deleted session still there: %v", err)
	}
}

func testIdentitySignInTokens(t *testing.T, s *Store) {
	tok := identity.SignInToken{Hash: "t1", Email: "ren@example.com", Next: "/r/s_1", Created: idTime, Expires: idTime.Add(15 * time.Minute)}
	if err := s.CreateSignInToken(ctx, tok); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateSignInToken(ctx, identity.SignInToken{Hash: "t2", Email: "nobody@example.com", Created: idTime, Expires: idTime.Add(time.Minute)}); !errors.Is(err, errs.ErrNotFound) {
		t.Errorf("token for an unknown person: %v", err)
	}
	// Many concurrent consumers: exactly one wins.
	var wg sync.WaitGroup
	wins := make(chan identity.SignInToken, 8)
	for range 8 {
		wg.Go(func() {
			if got, err := s.ConsumeSignInToken(ctx, "t1", idTime.Add(time.Minute)); err == nil {
				wins <- got
			} else if !errors.Is(err, errs.ErrNotFound) {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	close(wins)
	var n int
	for got := range wins {
		n++
		if got != tok {
			t.Errorf("consumed %+v, want %+v", got, tok)
		}
	}
	if n != 1 {
		t.Errorf("%d consumers won, want 1", n)
	}
	// Expired: refused, and gone.
	exp := identity.SignInToken{Hash: "t3", Email: "aiko@example.com", Created: idTime, Expires: idTime.Add(time.Minute)}
	if err := s.CreateSignInToken(ctx, exp); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ConsumeSignInToken(ctx, "t3", idTime.Add(time.Minute)); !errors.Is(err, errs.ErrNotFound) {
		t.Errorf("expired token: %v", err)
	}
}
