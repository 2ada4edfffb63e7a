package api

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/oneonone/oneonone/identity"
	"github.com/oneonone/oneonone/meet/joinlink"
	"github.com/oneonone/oneonone/store"
)

var identitySecret = []byte("api-test-secret-of-at-least-32-bytes")

// withIdentity wires a real identity service on the fixture's store.
func withIdentity(t *testing.T) fixtureOption {
	return func(o *Options) {
		svc, err := identity.New(context.Background(), identity.Options{
			Store: o.Store.(*store.Store), Secret: identitySecret, PublicURL: o.PublicURL, Now: o.Now,
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(svc.Close)
		o.PersonalLink = svc.PersonalLink
		o.RevokeLinks = svc.RevokeLinks
	}
}

var linkToken = regexp.MustCompile(`/r/([A-Za-z0-9_-]+)\?t=([A-Za-z0-9_.-]+)`)

// feedTokens returns series id → token of every personal link in the
// person's feed.
func feedTokens(t *testing.T, f *fixture, email string) map[string]string {
	t.Helper()
	var people peopleList
	f.do("GET", "/api/v1/people?email="+email, nil).json(t, &people)
	feed := f.do("GET", strings.TrimPrefix(people.People[0].FeedURL, testPublicURL), nil, "Authorization", "")
	if feed.Code != http.StatusOK {
		t.Fatalf("feed: %d", feed.Code)
	}
	out := map[string]string{}
	for _, m := range linkToken.FindAllStringSubmatch(unfold(string(feed.Body)), -1) {
		if prev, ok := out[m[1]]; ok && prev != m[2] {
			t.Errorf("two different links for %s in one feed", m[1])
		}
		out[m[1]] = m[2]
	}
	return out
}

func TestFeedCarriesEachPersonsOwnLink(t *testing.T) {
	f := newFixture(t, withIdentity(t))
	s1 := f.create(seriesBody("aiko@example.com", "ren@example.com"))
	s2 := f.create(seriesBody("ren@example.com", "kai@example.com"))
	signer, err := joinlink.NewSigner(identitySecret)
	if err != nil {
		t.Fatal(err)
	}
	check := func(email string, want map[string]string) {
		t.Helper()
		got := feedTokens(t, f, email)
		if len(got) != len(want) {
			t.Fatalf("%s's feed has links for %v, want %v", email, got, want)
		}
		for series, role := range want {
			c, err := signer.VerifyCurrent(context.Background(), got[series], testNow, f.store)
			if err != nil {
				t.Errorf("%s's link to %s: %v", email, series, err)
				continue
			}
			if c.Email != email || c.Role != role || c.Series != series || c.Expires.Before(testNow.Add(89*24*time.Hour)) {
				t.Errorf("%s's link to %s says %+v, want role %s", email, series, c, role)
			}
		}
	}
	check("ren@example.com", map[string]string{s1.ID: joinlink.RoleReport, s2.ID: joinlink.RoleManager})
	check("aiko@example.com", map[string]string{s1.ID: joinlink.RoleManager})

	// Revocation: Ren's old links die, the feed hands out new ones, Aiko's
	// are untouched.
	old := feedTokens(t, f, "ren@example.com")[s1.ID]
	if res := f.do("POST", "/api/v1/people/Ren@Example.com/links/revoke", nil); res.Code != http.StatusNoContent {
		t.Fatalf("revoke: %d %s", res.Code, res.Body)
	}
	if _, err := signer.VerifyCurrent(context.Background(), old, testNow, f.store); err == nil {
		t.Error("a revoked link still verifies")
	}
	check("ren@example.com", map[string]string{s1.ID: joinlink.RoleReport, s2.ID: joinlink.RoleManager})
	check("aiko@example.com", map[string]string{s1.ID: joinlink.RoleManager})

	if res := f.do("POST", "/api/v1/people/nobody@example.com/links/revoke", nil); res.Code != http.StatusNotFound {
		t.Errorf("revoke unknown: %d", res.Code)
	}
	if res := f.do("POST", "/api/v1/people/ren@example.com/links/revoke", nil, "Authorization", ""); res.Code != http.StatusUnauthorized {
		t.Errorf("revoke without the admin token: %d", res.Code)
	}
}

func TestRevokeLinksWithoutIdentity(t *testing.T) {
	f := newFixture(t)
	f.create(seriesBody("aiko@example.com", "ren@example.com"))
	if res := f.do("POST", "/api/v1/people/ren@example.com/links/revoke", nil); res.Code != http.StatusServiceUnavailable {
		t.Errorf("revoke without identity: %d", res.Code)
	}
	// Without identity the feed carries the room URL, no token.
	if got := feedTokens(t, f, "ren@example.com"); len(got) != 0 {
		t.Errorf("feed has personal links without identity: %v", got)
	}
}
