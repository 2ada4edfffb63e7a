package google

import (
	"context"
	"errors"
	"slices"

	gcal "google.golang.org/api/calendar/v3"

	"github.com/oneonone/oneonone/calendar"
	"github.com/oneonone/oneonone/internal/errs"
)

// Changes lists what changed since cursor, a Google sync token ("" =
// everything). It lists with singleEvents=false and showDeleted=true, so
// masters and their exceptions (moved, answered or cancelled instances)
// come as they are stored; a poll with nothing changed is one request.
// An expired token (410 fullSyncRequired) falls back to a full listing
// with Full set.
//
// A delta names only what changed, but an Event carries all its
// exceptions: for each recurring series touched by the delta, one more
// listing by iCalUID reads the series whole (an exception-only change
// adds an events.get of the master before it).
func (p *Provider) Changes(ctx context.Context, cursor string) (calendar.Changes, error) {
	if cursor != "" {
		items, next, err := p.listAll(ctx, func(c *gcal.EventsListCall) *gcal.EventsListCall {
			return c.SyncToken(cursor).ShowDeleted(true)
		})
		switch {
		case err == nil:
			return p.delta(ctx, items, next)
		case !errors.Is(err, errFullSync):
			return calendar.Changes{}, err
		}
		p.log.InfoContext(ctx, "google: sync token expired, listing everything")
	}
	items, next, err := p.listAll(ctx, func(c *gcal.EventsListCall) *gcal.EventsListCall {
		return c.ShowDeleted(true)
	})
	if err != nil {
		return calendar.Changes{}, err
	}
	if next == "" {
		return calendar.Changes{}, errNoSyncToken
	}
	ch := calendar.Changes{Full: true, Cursor: next}
	masters, byMaster := group(items)
	for _, g := range masters {
		delete(byMaster, g.Id)
		if g.Status == "cancelled" {
			continue // deleted: absent from a full listing, as the diff expects
		}
		ev, err := fromGoogle(g)
		if err != nil {
			ch.Bad = append(ch.Bad, calendar.BadObject{Href: g.Id, Err: err})
			continue
		}
		attach(&ev, items, &ch.Bad)
		ch.Updated = append(ch.Updated, ev)
	}
	for id, xs := range byMaster {
		ch.Bad = append(ch.Bad, calendar.BadObject{Href: xs[0].Id, Err: errors.New("instance of " + id + ", which the listing does not hold")})
	}
	return ch, nil
}

var errNoSyncToken = &calendar.ProviderError{Provider: provider, Reason: calendar.ReasonProtocol,
	Err: errors.New("list events: last page without nextSyncToken")}

// group splits a listing into masters (and single events), in listing
// order, and exceptions by the id of their master.
func group(items []*gcal.Event) (masters []*gcal.Event, byMaster map[string][]*gcal.Event) {
	byMaster = map[string][]*gcal.Event{}
	for _, it := range items {
		if it == nil || it.Id == "" {
			continue
		}
		if it.RecurringEventId != "" {
			byMaster[it.RecurringEventId] = append(byMaster[it.RecurringEventId], it)
			continue
		}
		masters = append(masters, it)
	}
	return masters, byMaster
}

// delta turns an incremental listing into Changes, reading each touched
// recurring series whole.
func (p *Provider) delta(ctx context.Context, items []*gcal.Event, next string) (calendar.Changes, error) {
	if next == "" {
		return calendar.Changes{}, errNoSyncToken
	}
	ch := calendar.Changes{Cursor: next}
	masters, byMaster := group(items)
	for _, g := range masters {
		_, touched := byMaster[g.Id]
		delete(byMaster, g.Id)
		if g.Status == "cancelled" {
			ch.Deleted = append(ch.Deleted, calendar.EventRef{UID: g.ICalUID, Href: g.Id, ETag: g.Etag})
			continue
		}
		ev, err := fromGoogle(g)
		if err != nil {
			ch.Bad = append(ch.Bad, calendar.BadObject{Href: g.Id, Err: err})
			continue
		}
		if (len(g.Recurrence) > 0 || touched) && g.ICalUID != "" {
			if err := p.withExceptions(ctx, &ev, &ch.Bad); err != nil {
				return calendar.Changes{}, err
			}
		}
		ch.Updated = append(ch.Updated, ev)
	}
	// Series of which only exceptions changed: read the master and all
	// its exceptions.
	ids := make([]string, 0, len(byMaster))
	for id := range byMaster {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		ev, err := p.GetEvent(ctx, calendar.EventRef{Href: id})
		switch {
		case errors.Is(err, errs.ErrNotFound):
			ch.Bad = append(ch.Bad, calendar.BadObject{Href: byMaster[id][0].Id, Err: err})
			continue
		case err != nil:
			if _, ok := calendar.AsProviderError(err); ok {
				return calendar.Changes{}, err
			}
			ch.Bad = append(ch.Bad, calendar.BadObject{Href: id, Err: err})
			continue
		}
		if ev.Status == calendar.EventCancelled {
			ch.Deleted = append(ch.Deleted, ev.Ref())
			continue
		}
		ch.Updated = append(ch.Updated, ev)
	}
	return ch, nil
}

func sortExceptions(xs []calendar.Exception) {
	slices.SortFunc(xs, func(a, b calendar.Exception) int { return a.RecurrenceID.Compare(b.RecurrenceID) })
}
