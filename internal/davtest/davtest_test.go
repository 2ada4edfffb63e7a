package davtest

import (
	"context"
	"net/http"
	"strings"
	"testing"
)

const event = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//davtest//EN\r\nBEGIN:VEVENT\r\nUID:raw-1@davtest\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20261201T010000Z\r\nDURATION:PT30M\r\nRRULE:FREQ=WEEKLY\r\nSUMMARY:raw\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"

func TestServers(t *testing.T) {
	Each(t, func(t *testing.T, s Server) {
		ctx := context.Background()
		href := s.URL + "raw-1.ics"
		etag, err := s.Put(ctx, href, event, "")
		if err != nil {
			t.Fatal(err)
		}
		objs, err := s.Query(ctx, s.URL)
		if err != nil {
			t.Fatal(err)
		}
		if len(objs) != 1 || !strings.Contains(objs[0].Data, "UID:raw-1@davtest") || objs[0].ETag != etag {
			t.Fatalf("query = %+v, want the one event with etag %q", objs, etag)
		}
		if _, err := s.Put(ctx, href, event, "stale"); err == nil {
			t.Fatal("PUT with a stale If-Match succeeded")
		}
		if err := s.Delete(ctx, href); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.Get(ctx, href); err == nil {
			t.Fatal("GET after DELETE succeeded")
		}
		if s.Auth {
			bad := s
			bad.Password = "wrong"
			r, err := bad.Do(ctx, "PROPFIND", s.URL, http.Header{"Depth": {"0"}}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if r.Status != http.StatusUnauthorized {
				t.Fatalf("wrong password: HTTP %d, want 401", r.Status)
			}
		}
	})
}
