package calendar

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/oneonone/oneonone/internal/errs"
)

func TestOrganizerHrefRoundTrip(t *testing.T) {
	tests := []struct{ organizer, href string }{
		{"aiko@example.com", "/aiko/1on1/s_1.ics"},
		{"a|b@example.com", "/x|y/z.ics"},
		{"ren+1on1@example.com", "s1abcdef"},
		{"mei@example.com", "/cal/%E3%81%82 b.ics"},
	}
	for _, tt := range tests {
		h := organizerHref(tt.organizer, tt.href)
		org, sub, ok := splitHref(h)
		if !ok || org != tt.organizer || sub != tt.href {
			t.Errorf("splitHref(organizerHref(%q, %q) = %q) = %q, %q, %v", tt.organizer, tt.href, h, org, sub, ok)
		}
	}
	for _, h := range []string{"", "/aiko/1on1/s_1.ics", "|/x.ics", "nobody|/x.ics", "%zz@x|/y"} {
		if _, _, ok := splitHref(h); ok {
			t.Errorf("splitHref(%q) accepted an href it never handed out", h)
		}
	}
}

func FuzzSplitHref(f *testing.F) {
	for _, s := range []string{"aiko%40example.com|/a/b.ics", "|", "a@b|", "%|x", "x@y|z|w"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, href string) {
		org, sub, ok := splitHref(href)
		if !ok {
			return
		}
		if !strings.Contains(org, "@") {
			t.Fatalf("organizer %q without @", org)
		}
		if sub != "" {
			if o2, s2, ok2 := splitHref(organizerHref(org, sub)); !ok2 || o2 != org || s2 != sub {
				t.Fatalf("round trip of %q: %q %q %v", href, o2, s2, ok2)
			}
		}
	})
}

// stubProvider is a calendar that holds nothing and answers Changes
// with a fixed result or error; enough to test routing and merging.
type stubProvider struct {
	ch  Changes
	err error
}

func (s stubProvider) PutEvent(_ context.Context, e Event, _ string) (EventRef, error) {
	return EventRef{UID: e.UID, Href: "/" + e.UID + ".ics", ETag: "1"}, s.err
}
func (s stubProvider) DeleteEvent(context.Context, EventRef, string) error { return s.err }
func (s stubProvider) GetEvent(context.Context, EventRef) (Event, error) {
	return Event{}, errs.ErrNotFound
}
func (s stubProvider) Changes(_ context.Context, cursor string) (Changes, error) {
	return s.ch, s.err
}

func TestPerOrganizerChangesMerge(t *testing.T) {
	subs := map[string]Provider{
		"aiko@example.com": stubProvider{ch: Changes{Full: true, Cursor: "a2", Updated: []Event{{UID: "u1", Href: "/a/u1.ics"}}}},
		"mei@example.com":  stubProvider{ch: Changes{Cursor: "m2", Deleted: []EventRef{{Href: "/m/u2.ics"}}}},
		"sora@example.com": stubProvider{err: &ProviderError{Provider: "caldav", Reason: ReasonUnavailable, Status: 503}},
	}
	opened := map[string]int{}
	p, err := NewPerOrganizer(PerOrganizerConfig{
		Open: func(_ context.Context, org string) (Provider, error) {
			opened[org]++
			if sub, ok := subs[org]; ok {
				return sub, nil
			}
			return nil, fmt.Errorf("no calendar of %s: %w", org, errs.ErrNotFound)
		},
		Organizers: func(context.Context) ([]string, error) {
			return []string{"Mei@Example.com", "aiko@example.com", "sora@example.com", "aiko@example.com"}, nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	ch, err := p.Changes(context.Background(), `{"mei@example.com":"m1","sora@example.com":"s1"}`)
	if err != nil {
		t.Fatal(err)
	}
	if ch.Full || len(ch.FullFor) != 1 || ch.FullFor[0] != "aiko%40example.com|" {
		t.Errorf("Full %v FullFor %q, want only aiko's prefix", ch.Full, ch.FullFor)
	}
	if len(ch.Updated) != 1 || ch.Updated[0].Href != "aiko%40example.com|/a/u1.ics" {
		t.Errorf("Updated = %+v", ch.Updated)
	}
	if len(ch.Deleted) != 1 || ch.Deleted[0].Href != "mei%40example.com|/m/u2.ics" {
		t.Errorf("Deleted = %+v", ch.Deleted)
	}
	if len(ch.Bad) != 1 || !strings.HasPrefix(ch.Bad[0].Href, "sora%40example.com|") {
		t.Errorf("Bad = %+v, want sora's failing calendar", ch.Bad)
	}
	var cur map[string]string
	if err := json.Unmarshal([]byte(ch.Cursor), &cur); err != nil || cur["aiko@example.com"] != "a2" || cur["mei@example.com"] != "m2" || cur["sora@example.com"] != "s1" {
		t.Errorf("cursor %q: want new cursors, and sora's old one kept", ch.Cursor)
	}
	if opened["aiko@example.com"] != 1 {
		t.Errorf("aiko's calendar opened %d times", opened["aiko@example.com"])
	}
	if _, err := p.Changes(context.Background(), ch.Cursor); err != nil {
		t.Fatal(err)
	}
	if opened["aiko@example.com"] != 1 || opened["mei@example.com"] != 1 {
		t.Errorf("calendars reopened: %v", opened)
	}

	// Every organizer failing is the round's error, with its reason.
	all, _ := NewPerOrganizer(PerOrganizerConfig{
		Open:       func(context.Context, string) (Provider, error) { return subs["sora@example.com"], nil },
		Organizers: func(context.Context) ([]string, error) { return []string{"sora@example.com"}, nil },
	})
	_, err = all.Changes(context.Background(), "")
	if pe, ok := AsProviderError(err); !ok || !pe.Retryable() {
		t.Errorf("all organizers failing: err = %v, want a retryable ProviderError", err)
	}

	// Writing for an organizer without a calendar is that series' fault.
	_, err = p.PutEvent(context.Background(), Event{UID: "u9", Organizer: Attendee{Email: "nobody@example.com"}}, "")
	if pe, ok := AsProviderError(err); !ok || pe.Reason != ReasonRejected {
		t.Errorf("PutEvent without a calendar: err = %v, want ReasonRejected", err)
	}
	ref, err := p.PutEvent(context.Background(), Event{UID: "u3", Organizer: Attendee{Email: "Aiko@example.com"}}, "")
	if err != nil || ref.Href != "aiko%40example.com|/u3.ics" {
		t.Errorf("PutEvent = %+v, %v", ref, err)
	}
	if _, err := p.PutEvent(context.Background(), Event{UID: "u4"}, ""); err == nil {
		t.Error("PutEvent without an organizer succeeded")
	}
}
