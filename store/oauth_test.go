package store

import (
	"bytes"
	"errors"
	"testing"

	"github.com/oneonone/oneonone/calendar/google"
	"github.com/oneonone/oneonone/internal/errs"
)

var _ google.TokenStore = OAuthTokens{}

func testOAuthTokens(t *testing.T, dsn string) {
	s := openStore(t, dsn)
	tokens := s.OAuthTokens()
	if _, err := tokens.Load(ctx, "workspace"); !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("Load before Save: err = %v, want not found", err)
	}
	first := []byte{1, 0, 0xff, 'x', 0}
	if err := tokens.Save(ctx, "workspace", first); err != nil {
		t.Fatal(err)
	}
	second := bytes.Repeat([]byte{0xab}, 300)
	if err := tokens.Save(ctx, "other", second); err != nil {
		t.Fatal(err)
	}
	if got, err := tokens.Load(ctx, "workspace"); err != nil || !bytes.Equal(got, first) {
		t.Fatalf("Load = %x, %v; want %x", got, err, first)
	}
	// A new consent (or a rotated token) replaces the old one.
	if err := tokens.Save(ctx, "workspace", second); err != nil {
		t.Fatal(err)
	}
	if got, err := tokens.Load(ctx, "workspace"); err != nil || !bytes.Equal(got, second) {
		t.Fatalf("Load after replace = %x, %v", got, err)
	}
	for _, bad := range []struct {
		calendar string
		sealed   []byte
	}{{"", first}, {"workspace", nil}} {
		if err := tokens.Save(ctx, bad.calendar, bad.sealed); err == nil {
			t.Errorf("Save(%q, %x) succeeded", bad.calendar, bad.sealed)
		}
	}
}
