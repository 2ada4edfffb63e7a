package calendar_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/oneonone/oneonone/calendar"
	"github.com/oneonone/oneonone/calendar/caldav"
	"github.com/oneonone/oneonone/calendar/google"
	"github.com/oneonone/oneonone/calendar/google/googlefake"
	"github.com/oneonone/oneonone/calendar/synctest"
	"github.com/oneonone/oneonone/internal/davtest"
	"github.com/oneonone/oneonone/internal/errs"
	"github.com/oneonone/oneonone/store"
)

// perOrganizerBackend is one server holding a calendar per organizer
// (aiko's and mei's; nobody has none), seen raw.
type perOrganizerBackend struct {
	name string
	open func(ctx context.Context, organizer string) (calendar.Provider, error)
	// count is how many live events with uid the organizer's calendar
	// holds, read raw.
	count func(t testing.TB, organizer, uid string) int
	// deleteSeries deletes the event of uid in aiko's calendar, as
	// another calendar client would.
	deleteSeries func(t testing.TB, uid string)
}

func TestPerOrganizerRadicale(t *testing.T) {
	servers := davtest.RadicaleUsers(t, "aiko", "mei")
	template := servers["aiko"].TemplateURL()
	runPerOrganizer(t, perOrganizerBackend{
		name: "caldav",
		open: func(ctx context.Context, organizer string) (calendar.Provider, error) {
			return caldav.Open(ctx, caldav.Config{URL: template, Username: davtest.Delegate, Password: servers["aiko"].Password,
				HTTPClient: &http.Client{Timeout: 10 * time.Second}}, organizer)
		},
		count: func(t testing.TB, organizer, uid string) int {
			user, _, _ := strings.Cut(organizer, "@")
			n, err := synctest.CalDAVRemote{Server: servers[user]}.Count(context.Background(), uid)
			if err != nil {
				t.Fatal(err)
			}
			return n
		},
		deleteSeries: func(t testing.TB, uid string) {
			if err := (synctest.CalDAVRemote{Server: servers["aiko"]}).DeleteSeries(context.Background(), uid); err != nil {
				t.Fatal(err)
			}
		},
	})
}

func TestPerOrganizerGoogleFake(t *testing.T) {
	fake := googlefake.New(googlefake.Options{Calendars: []string{"aiko@example.com", "mei@example.com"}})
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	runPerOrganizer(t, perOrganizerBackend{
		name: "google",
		open: func(ctx context.Context, organizer string) (calendar.Provider, error) {
			// Domain-wide delegation would set Subject = organizer and
			// CalendarID "primary"; the fake names calendars by owner.
			return google.New(ctx, google.Config{CalendarID: organizer, Subject: organizer, Endpoint: srv.URL,
				TokenSource: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "test-token"}),
				HTTPClient:  &http.Client{Timeout: 10 * time.Second}})
		},
		count: func(t testing.TB, organizer, uid string) int {
			n := 0
			for _, ev := range fake.Events(organizer) {
				if ev.ICalUID == uid && ev.RecurringEventID == "" && ev.Status != "cancelled" {
					n++
				}
			}
			return n
		},
		deleteSeries: func(t testing.TB, uid string) {
			remote := synctest.GoogleRemote{Fake: fake, URL: srv.URL} // aiko's calendar
			if err := remote.DeleteSeries(context.Background(), uid); err != nil {
				t.Fatal(err)
			}
		},
	})
}

// runPerOrganizer: each series lands in its manager's calendar, a full
// listing of one organizer's calendar never detaches another's series,
// an organizer without a calendar stalls only their own series, and a
// deletion in one calendar detaches only that series.
func runPerOrganizer(t *testing.T, b perOrganizerBackend) {
	ctx := context.Background()
	var st *store.Store
	organizers := func(ctx context.Context) ([]string, error) {
		all, err := st.ListSeries(ctx, calendar.ListOptions{})
		if err != nil {
			return nil, err
		}
		var out []string
		for _, s := range all {
			if s.Calendar == synctest.CalendarID {
				out = append(out, s.Manager.Email)
			}
		}
		return out, nil
	}
	newProvider := func() *calendar.PerOrganizer {
		p, err := calendar.NewPerOrganizer(calendar.PerOrganizerConfig{Open: b.open, Organizers: organizers})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	e := synctest.NewEnv(t, synctest.Backend{Name: b.name, ProviderName: b.name, Provider: newProvider()})
	st = e.Store
	aiko := e.AddSeries("s_aiko", "aiko@example.com", "ren@example.com")
	mei := e.AddSeries("s_mei", "mei@example.com", "kai@example.com")
	e.AddSeries("s_nobody", "nobody@example.com", "sora@example.com")
	uidA, uidM := calendar.EventUID(aiko.ID), calendar.EventUID(mei.ID)

	where := func(when string) {
		t.Helper()
		for _, c := range []struct {
			org, uid string
			want     int
		}{
			{"aiko@example.com", uidA, 1}, {"mei@example.com", uidA, 0},
			{"mei@example.com", uidM, 1}, {"aiko@example.com", uidM, 0},
		} {
			if n := b.count(t, c.org, c.uid); n != c.want {
				t.Fatalf("%s: %s's calendar holds %d events %s, want %d", when, c.org, n, c.uid, c.want)
			}
		}
	}
	wantState := func(when, id string, want calendar.State) {
		t.Helper()
		if got := e.Series(id).State; got != want {
			t.Fatalf("%s: series %s is %s, want %s", when, id, got, want)
		}
	}

	// An organizer without a calendar does not fail the round.
	e.Sync()
	e.Sync()
	where("after the first rounds")
	if st := e.State("s_nobody"); st.LastError == "" || st.Href != "" {
		t.Errorf("series of an organizer without a calendar: state %+v, want its error recorded", st)
	}
	if h := e.State("s_aiko").Href; !strings.HasPrefix(h, "aiko%40example.com|") {
		t.Errorf("href %q does not carry the organizer", h)
	}

	// aiko's calendar is listed in full (her cursor is lost), mei's as a
	// delta with nothing in it: mei's series must stay as it is.
	cs, err := e.Store.CalendarSync(ctx, synctest.CalendarID)
	if err != nil {
		t.Fatal(err)
	}
	var cur map[string]string
	if err := json.Unmarshal([]byte(cs.Cursor), &cur); err != nil || cur["mei@example.com"] == "" || cur["aiko@example.com"] == "" {
		t.Fatalf("composite cursor %q (%v): want one cursor per organizer with a calendar", cs.Cursor, err)
	}
	cur["aiko@example.com"] = "not-a-cursor"
	raw, _ := json.Marshal(cur)
	cs.Cursor = string(raw)
	if err := e.Store.PutCalendarSync(ctx, cs); err != nil {
		t.Fatal(err)
	}
	e.Sync()
	wantState("aiko's calendar listed in full", "s_mei", calendar.StateActive)
	wantState("aiko's calendar listed in full", "s_aiko", calendar.StateActive)

	// A composite cursor that cannot be read lists every calendar.
	cs, _ = e.Store.CalendarSync(ctx, synctest.CalendarID)
	cs.Cursor = "{broken"
	if err := e.Store.PutCalendarSync(ctx, cs); err != nil {
		t.Fatal(err)
	}
	e.Sync()
	wantState("malformed cursor", "s_mei", calendar.StateActive)
	wantState("malformed cursor", "s_aiko", calendar.StateActive)
	where("after full listings")

	// Deleted in aiko's calendar: only her series is detached.
	b.deleteSeries(t, uidA)
	e.Sync()
	wantState("aiko's event deleted", "s_aiko", calendar.StateDetached)
	wantState("aiko's event deleted", "s_mei", calendar.StateActive)

	// Set active again: recreated in her calendar, nowhere else.
	e.Update("s_aiko", func(s *calendar.Series) { s.State = calendar.StateActive })
	e.Sync()
	e.Sync()
	where("after recreating aiko's event")
	wantState("recreated", "s_aiko", calendar.StateActive)

	// After a restart (empty caches) an event known only by its UID is
	// found in its organizer's calendar.
	fresh := newProvider()
	ev, err := fresh.GetEvent(ctx, calendar.EventRef{UID: uidM})
	if err != nil || ev.UID != uidM || !strings.HasPrefix(ev.Href, "mei%40example.com|") {
		t.Fatalf("GetEvent by UID after a restart = %+v, %v", ev.Ref(), err)
	}
	if _, err := fresh.GetEvent(ctx, calendar.EventRef{UID: "s_none@oneonone"}); !errorsIsNotFound(err) {
		t.Errorf("GetEvent of an unknown UID = %v, want not found", err)
	}

	// Removing mei's series deletes the event from her calendar.
	if err := e.Store.DeleteSeries(ctx, "s_mei"); err != nil {
		t.Fatal(err)
	}
	e.Sync()
	if n := b.count(t, "mei@example.com", uidM); n != 0 {
		t.Fatalf("mei's calendar still holds %d events of a removed series", n)
	}
	if n := b.count(t, "aiko@example.com", uidA); n != 1 {
		t.Fatalf("aiko's calendar holds %d events, want 1", n)
	}
}

func errorsIsNotFound(err error) bool { return errors.Is(err, errs.ErrNotFound) }
