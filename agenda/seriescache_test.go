package agenda_test

import (
	"testing"
	"time"

	"github.com/oneonone/oneonone/agenda"
	"github.com/oneonone/oneonone/calendar"
	"github.com/oneonone/oneonone/internal/errs"
)

// TestSeriesCacheBound: the access check may trust a series it read for
// SeriesCacheTTL, no longer: a person taken off the series, and a deleted
// series, are refused once it has passed.
func TestSeriesCacheBound(t *testing.T) {
	const ttl = 200 * time.Millisecond
	tests := []struct {
		name   string
		change func(t *testing.T, f *fixture)
		actor  agenda.Actor
		want   error
	}{
		{"report replaced", func(t *testing.T, f *fixture) {
			ser, err := f.store.GetSeries(ctx, "s_1")
			if err != nil {
				t.Fatal(err)
			}
			ser.Report = calendar.Person{Email: "kenji@example.com"}
			if _, err := f.store.UpdateSeries(ctx, ser); err != nil {
				t.Fatal(err)
			}
		}, ren, errs.ErrForbidden},
		{"series deleted", func(t *testing.T, f *fixture) {
			if err := f.store.DeleteSeries(ctx, "s_1"); err != nil {
				t.Fatal(err)
			}
		}, aiko, errs.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			svc, err := agenda.New(agenda.Options{Store: f.store, Series: f.store, SeriesCacheTTL: ttl,
				Now: func() time.Time { return time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC) }})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := svc.List(ctx, tt.actor, "s_1", occ0); err != nil {
				t.Fatalf("before the change: %v", err)
			}
			changed := time.Now()
			tt.change(t, f)
			for {
				_, err := svc.List(ctx, tt.actor, "s_1", occ0)
				if err != nil {
					wantErr(t, err, tt.want, "after the change")
					break
				}
				if time.Since(changed) > ttl+100*time.Millisecond {
					t.Fatalf("still let in %v after the change; the bound is %v", time.Since(changed), ttl)
				}
				time.Sleep(10 * time.Millisecond)
			}
		})
	}
}

// TestSeriesCacheOff: a negative TTL reads the series every time.
func TestSeriesCacheOff(t *testing.T) {
	f := newFixture(t)
	svc, err := agenda.New(agenda.Options{Store: f.store, Series: f.store, SeriesCacheTTL: -1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.List(ctx, aiko, "s_1", occ0); err != nil {
		t.Fatal(err)
	}
	if err := f.store.DeleteSeries(ctx, "s_1"); err != nil {
		t.Fatal(err)
	}
	_, err = svc.List(ctx, aiko, "s_1", occ0)
	wantErr(t, err, errs.ErrNotFound, "List of a deleted series")
}
