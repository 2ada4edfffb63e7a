package identity

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

var fuzzKey = deriveKey([]byte("0123456789abcdef0123456789abcdef"), "fuzz")

// FuzzSessionCookie: any cookie value is accepted only if it is exactly what
// seal made for a session id, and parsing never panics.
func FuzzSessionCookie(f *testing.F) {
	good := seal(fuzzKey, make([]byte, sessionIDBytes))
	for _, s := range []string{"", "v1.", "v1..", good, good + "x", strings.ToUpper(good), "v1.AAAA.BBBB", good[:len(good)-1]} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		id, ok := parseSessionCookie(fuzzKey, v)
		if !ok {
			return
		}
		if len(id) != sessionIDBytes || seal(fuzzKey, id) != v {
			t.Fatalf("accepted %q, which seal would not produce", v)
		}
	})
}

// FuzzOIDCState: the state cookie decoder never panics, and what it accepts
// re-seals to the same value and is complete and unexpired.
func FuzzOIDCState(f *testing.F) {
	now := time.Unix(1_800_000_000, 0)
	st, _ := json.Marshal(oidcState{State: "s", Nonce: "n", Verifier: "v", Next: "/r/x", Expires: now.Unix() + 60})
	f.Add(seal(fuzzKey, st))
	f.Add(seal(fuzzKey, []byte(`{"s":"s","n":"n","v":"v","x":1,"extra":1}`)))
	f.Add(seal(fuzzKey, []byte(`{}`)))
	f.Add("v1.e30.AAAA")
	f.Fuzz(func(t *testing.T, v string) {
		got, ok := parseState(fuzzKey, v, now)
		if !ok {
			return
		}
		if got.State == "" || got.Nonce == "" || got.Verifier == "" || got.Expires <= now.Unix() {
			t.Fatalf("accepted incomplete or expired state %+v", got)
		}
	})
}

// FuzzSafeNext: whatever comes in, what goes out is a path on our origin.
func FuzzSafeNext(f *testing.F) {
	for _, s := range []string{"/r/x", "//evil", "/\\evil", "https://evil", "/\t/evil", "/%2F/evil", "/r/x?next=//evil", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, next string) {
		got := SafeNext(next)
		if got != "/" && got != next {
			t.Fatalf("SafeNext(%q) = %q: neither the input nor /", next, got)
		}
		if !strings.HasPrefix(got, "/") || strings.HasPrefix(got, "//") || strings.ContainsAny(got, "\\\t\r\n") {
			t.Fatalf("SafeNext(%q) = %q", next, got)
		}
		// Resolved against our origin, it stays on our origin.
		base, _ := url.Parse("https://1on1.example.com/r/abc")
		ref, err := url.Parse(got)
		if err != nil {
			t.Fatalf("SafeNext(%q) = %q does not parse: %v", next, got, err)
		}
		if u := base.ResolveReference(ref); u.Host != base.Host || u.Scheme != base.Scheme {
			t.Fatalf("SafeNext(%q) = %q leaves the origin: %s", next, got, u)
		}
	})
}

// FuzzParseSecret never panics and never accepts a short key.
func FuzzParseSecret(f *testing.F) {
	for _, s := range []string{"", "00", strings.Repeat("ab", 32), "c2VjcmV0", strings.Repeat("A", 43), strings.Repeat("A", 44) + "=="} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if k, err := ParseSecret(s); err == nil && len(k) < 32 {
			t.Fatalf("ParseSecret(%q) accepted %d bytes", s, len(k))
		}
	})
}

func TestLanguage(t *testing.T) {
	for header, want := range map[string]string{
		"":                        "en",
		"ja":                      "ja",
		"ja-JP,ja;q=0.9,en;q=0.8": "ja",
		"en-US,en;q=0.9,ja;q=0.8": "en",
		"fr,ja;q=0.5,en;q=0.4":    "ja",
		"de":                      "en",
		"en;q=0.1,ja;q=0.2":       "ja",
	} {
		r, _ := http.NewRequest("GET", "/", nil)
		r.Header.Set("Accept-Language", header)
		if got := language(r); got != want {
			t.Errorf("language(%q) = %s, want %s", header, got, want)
		}
	}
}
