package api

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"

	"github.com/oneonone/oneonone/calendar"
	"github.com/oneonone/oneonone/internal/errs"
)

// detach marks a series the way the reconciler does when its event is
// deleted in the calendar.
func (f *fixture) detach(id string) {
	f.t.Helper()
	se, err := f.store.GetSeries(context.Background(), id)
	if err != nil {
		f.t.Fatal(err)
	}
	se.State = calendar.StateDetached
	if _, err := f.store.UpdateSeries(context.Background(), se); err != nil {
		f.t.Fatal(err)
	}
}

func TestDetachedSeries(t *testing.T) {
	f := newFixture(t)
	s := f.create(seriesBody("aiko@example.com", "ren@example.com"))
	f.detach(s.ID)

	var got seriesJSON
	f.do("GET", "/api/v1/series/"+s.ID, nil).json(t, &got)
	if got.State != "detached" {
		t.Fatalf("GET state = %q, want detached", got.State)
	}

	// A change that leaves the state alone keeps it detached.
	res := f.do("PATCH", "/api/v1/series/"+s.ID, map[string]any{"team": "infra", "report": map[string]any{"name": "Ren K."}})
	if res.Code != 200 {
		t.Fatalf("PATCH team of a detached series = %d %s, want 200", res.Code, res.Body)
	}
	res.json(t, &got)
	if got.State != "detached" || got.Team != "infra" || got.Report.Name != "Ren K." {
		t.Fatalf("after PATCH: state %q team %q report name %q", got.State, got.Team, got.Report.Name)
	}

	// Detached is output only.
	for _, tc := range []struct {
		name, method, path string
		body               map[string]any
	}{
		{"PATCH", "PATCH", "/api/v1/series/" + s.ID, map[string]any{"state": "detached"}},
		{"POST", "POST", "/api/v1/series", func() map[string]any {
			b := seriesBody("mei@example.com", "ren@example.com")
			b["state"] = "detached"
			return b
		}()},
	} {
		res := f.do(tc.method, tc.path, tc.body)
		if res.Code != 400 {
			t.Fatalf("%s state detached = %d %s, want 400", tc.name, res.Code, res.Body)
		}
		if e := res.apiError(t); e.Error.Field != "state" {
			t.Errorf("%s state detached: field = %q, want state", tc.name, e.Error.Field)
		}
	}
	if n := f.count(); n != 1 {
		t.Errorf("%d series stored, want 1", n)
	}

	// Active again: the reconciler recreates the event on its next round.
	res = f.do("PATCH", "/api/v1/series/"+s.ID, map[string]any{"state": "active"})
	if res.Code != 200 {
		t.Fatalf("PATCH state active = %d %s", res.Code, res.Body)
	}
	res.json(t, &got)
	if got.State != "active" || got.Version <= s.Version {
		t.Fatalf("after PATCH active: state %q version %d (was %d)", got.State, got.Version, s.Version)
	}
}

// Every write through the API nudges the sync of the calendars it
// touched; reads and refused writes do not.
func TestSeriesChangesNudgeTheirCalendar(t *testing.T) {
	var mu sync.Mutex
	var nudged []string
	f := newFixture(t, func(o *Options) {
		o.OnSeriesChanged = func(id string) {
			mu.Lock()
			defer mu.Unlock()
			nudged = append(nudged, id)
		}
	})
	take := func() []string {
		mu.Lock()
		defer mu.Unlock()
		out := nudged
		nudged = nil
		return out
	}
	body := seriesBody("aiko@example.com", "ren@example.com")
	body["calendar"] = "team"
	s := f.create(body)
	if got := take(); !slices.Equal(got, []string{"team"}) {
		t.Errorf("create nudged %q, want [team]", got)
	}
	f.do("GET", "/api/v1/series/"+s.ID, nil)
	f.do("GET", "/api/v1/series", nil)
	if res := f.do("PATCH", "/api/v1/series/"+s.ID, map[string]any{"timezone": "Asia/Tokio"}); res.Code != 400 {
		t.Fatalf("bad PATCH = %d", res.Code)
	}
	if got := take(); len(got) != 0 {
		t.Errorf("reads and a refused write nudged %q", got)
	}
	if res := f.do("PATCH", "/api/v1/series/"+s.ID, map[string]any{"start": "2026-12-01T11:00"}); res.Code != 200 {
		t.Fatalf("PATCH = %d %s", res.Code, res.Body)
	}
	if got := take(); !slices.Equal(got, []string{"team"}) {
		t.Errorf("PATCH nudged %q, want [team]", got)
	}
	if res := f.do("PATCH", "/api/v1/series/"+s.ID, map[string]any{"calendar": "workspace"}); res.Code != 200 {
		t.Fatalf("PATCH calendar = %d %s", res.Code, res.Body)
	}
	if got := take(); !slices.Equal(got, []string{"team", "workspace"}) {
		t.Errorf("moving calendars nudged %q, want [team workspace] (the old one deletes, the new one creates)", got)
	}
	if res := f.do("DELETE", "/api/v1/series/"+s.ID, nil); res.Code != 204 {
		t.Fatalf("DELETE = %d %s", res.Code, res.Body)
	}
	if got := take(); !slices.Equal(got, []string{"workspace"}) {
		t.Errorf("DELETE nudged %q, want [workspace]", got)
	}
	if res := f.do("DELETE", "/api/v1/series/"+s.ID, nil); res.Code != 404 {
		t.Fatalf("second DELETE = %d", res.Code)
	}
	if got := take(); len(got) != 0 {
		t.Errorf("a DELETE of nothing nudged %q", got)
	}
	csv := "manager_email,report_email,manager_name,report_name,team,start,timezone,cadence,duration,calendar\n" +
		"mei@example.com,kai@example.com,Mei,Kai,,2026-12-02T10:00,Asia/Tokyo,weekly,30m,team\n"
	res := f.do("POST", "/api/v1/series/import", csv, "Content-Type", "text/csv")
	if res.Code != 200 {
		t.Fatalf("import = %d %s", res.Code, res.Body)
	}
	if got := take(); !slices.Equal(got, []string{"team"}) {
		t.Errorf("import nudged %q, want [team]", got)
	}
}

func TestAuthorizeGoogle(t *testing.T) {
	none := newFixture(t)
	if res := none.do("GET", "/api/v1/calendars/workspace/google/authorize", nil); res.Code != 404 {
		t.Fatalf("without a consent flow = %d %s, want 404", res.Code, res.Body)
	}
	f := newFixture(t, func(o *Options) {
		o.GoogleAuthorize = func(w http.ResponseWriter, r *http.Request, id string) error {
			if id != "workspace" {
				return fmt.Errorf("calendar %s: %w", id, errs.ErrNotFound)
			}
			http.Redirect(w, r, "https://accounts.example/consent", http.StatusFound)
			return nil
		}
	})
	if res := f.do("GET", "/api/v1/calendars/workspace/google/authorize", nil, "Authorization", ""); res.Code != 401 {
		t.Fatalf("without the admin token = %d, want 401", res.Code)
	}
	if res := f.do("GET", "/api/v1/calendars/workspace/google/authorize", nil); res.Code != 302 || res.Header.Get("Location") != "https://accounts.example/consent" {
		t.Fatalf("authorize = %d %q", res.Code, res.Header.Get("Location"))
	}
	res := f.do("GET", "/api/v1/calendars/team/google/authorize", nil)
	if res.Code != 404 || res.apiError(t).Error.Code != "not_found" {
		t.Fatalf("authorize of a calendar without a flow = %d %s", res.Code, res.Body)
	}
}
