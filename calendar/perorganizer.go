package calendar

// A Provider that keeps each series in its organizer's own calendar: a
// CalDAV URL template ({user}, {email}) written with one delegated
// account, or Google with domain-wide delegation impersonating each
// manager. The reconciler sees one calendar; this wrapper routes every
// call to the organizer's calendar and merges their change feeds.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"sync"

	"github.com/oneonone/oneonone/internal/errs"
)

// PerOrganizerConfig configures NewPerOrganizer.
type PerOrganizerConfig struct {
	// Open returns the calendar of one organizer (a lower-case e-mail).
	// It is called once per organizer and again after a failure.
	Open func(ctx context.Context, organizerEmail string) (Provider, error)
	// Organizers lists the organizers whose calendars Changes polls: the
	// managers of the series kept in this calendar.
	Organizers func(ctx context.Context) ([]string, error)
	Logger     *slog.Logger
}

// PerOrganizer is a Provider over one calendar per organizer. Hrefs it
// hands out carry the organizer ("email|href"), so every later call on a
// ref goes to the right calendar; callers treat them as opaque, as any
// Href. It is safe for concurrent use.
type PerOrganizer struct {
	cfg PerOrganizerConfig
	log *slog.Logger

	mu   sync.Mutex
	open map[string]Provider // by organizer
	// uids remembers where an event was last written, for refs that carry
	// only a UID (a create that crashed before its Href was stored).
	uids map[string]string
}

var _ Provider = (*PerOrganizer)(nil)

// NewPerOrganizer checks cfg and returns the routing provider.
func NewPerOrganizer(cfg PerOrganizerConfig) (*PerOrganizer, error) {
	if cfg.Open == nil || cfg.Organizers == nil {
		return nil, errors.New("calendar: a per-organizer calendar needs Open and Organizers")
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &PerOrganizer{cfg: cfg, log: log, open: map[string]Provider{}, uids: map[string]string{}}, nil
}

// hrefSep separates the organizer from the sub-calendar's href. The
// organizer is query-escaped, so it never holds the separator itself.
const hrefSep = "|"

func organizerHref(organizer, href string) string {
	if href == "" {
		return ""
	}
	return url.QueryEscape(organizer) + hrefSep + href
}

// splitHref returns the organizer and the sub-calendar's href of an href
// this wrapper handed out; ok is false for any other.
func splitHref(href string) (organizer, sub string, ok bool) {
	enc, sub, found := strings.Cut(href, hrefSep)
	if !found || enc == "" {
		return "", "", false
	}
	organizer, err := url.QueryUnescape(enc)
	if err != nil || !strings.Contains(organizer, "@") {
		return "", "", false
	}
	return organizer, sub, true
}

func normOrganizer(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

// provider returns the organizer's calendar, opening it on first use. A
// calendar that cannot be found or is refused outright becomes a
// ReasonRejected fault of the series being written, so one organizer
// without a calendar does not stop the others.
func (p *PerOrganizer) provider(ctx context.Context, organizer string) (Provider, error) {
	p.mu.Lock()
	sub := p.open[organizer]
	p.mu.Unlock()
	if sub != nil {
		return sub, nil
	}
	sub, err := p.cfg.Open(ctx, organizer)
	if err != nil {
		return nil, organizerFault(organizer, "open calendar", err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if cur := p.open[organizer]; cur != nil {
		return cur, nil // opened meanwhile by another call
	}
	p.open[organizer] = sub
	return sub, nil
}

// organizerFault names the organizer in err; a missing or invalid
// calendar is this organizer's problem only (ReasonRejected), while
// faults that waiting can fix, and refused credentials, stay as they are.
func organizerFault(organizer, what string, err error) error {
	err = fmt.Errorf("organizer %s: %s: %w", organizer, what, err)
	if pe, ok := AsProviderError(err); ok {
		if pe.Reason == ReasonRejected || pe.Reason == ReasonProtocol {
			return &ProviderError{Provider: pe.Provider, Reason: ReasonRejected, Status: pe.Status, Err: err}
		}
		return err
	}
	var inv *errs.Invalid
	if errors.Is(err, errs.ErrNotFound) || errors.As(err, &inv) {
		return &ProviderError{Provider: "per-organizer", Reason: ReasonRejected, Err: err}
	}
	return err
}

func (p *PerOrganizer) remember(uid, organizer string) {
	if uid == "" {
		return
	}
	p.mu.Lock()
	p.uids[uid] = organizer
	p.mu.Unlock()
}

// locate finds the calendar holding ref: from its href, else from where
// its UID was last written, else by asking each organizer's calendar.
func (p *PerOrganizer) locate(ctx context.Context, ref EventRef) (organizer string, sub EventRef, err error) {
	sub = ref
	if org, h, ok := splitHref(ref.Href); ok {
		sub.Href = h
		return org, sub, nil
	}
	sub.Href = ""
	if ref.UID == "" {
		return "", sub, errs.Invalidf("href", "%q is not an href of a per-organizer calendar", ref.Href)
	}
	p.mu.Lock()
	org := p.uids[ref.UID]
	p.mu.Unlock()
	if org != "" {
		return org, sub, nil
	}
	orgs, err := p.organizers(ctx)
	if err != nil {
		return "", sub, err
	}
	for _, org := range orgs {
		prov, err := p.provider(ctx, org)
		if err != nil {
			continue // this organizer's calendar cannot hold it
		}
		ev, err := prov.GetEvent(ctx, sub)
		switch {
		case err == nil:
			p.remember(ref.UID, org)
			sub.Href = ev.Href
			return org, sub, nil
		case errors.Is(err, errs.ErrNotFound):
			continue
		}
		return "", sub, organizerFault(org, "look for event "+ref.UID, err)
	}
	return "", sub, fmt.Errorf("calendar: event %s is in no organizer's calendar: %w", ref.UID, errs.ErrNotFound)
}

func (p *PerOrganizer) organizers(ctx context.Context) ([]string, error) {
	list, err := p.cfg.Organizers(ctx)
	if err != nil {
		return nil, fmt.Errorf("calendar: list organizers: %w", err)
	}
	out := make([]string, 0, len(list))
	for _, o := range list {
		if o = normOrganizer(o); o != "" {
			out = append(out, o)
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// PutEvent writes e into its organizer's calendar (the one its Href
// names when it has one).
func (p *PerOrganizer) PutEvent(ctx context.Context, e Event, ifMatch string) (EventRef, error) {
	organizer := normOrganizer(e.Organizer.Email)
	if org, h, ok := splitHref(e.Href); ok {
		organizer, e.Href = org, h
	} else {
		e.Href = ""
	}
	if organizer == "" {
		return EventRef{}, errs.Invalidf("organizer", "a per-organizer calendar needs the event's organizer")
	}
	prov, err := p.provider(ctx, organizer)
	if err != nil {
		return EventRef{}, err
	}
	p.remember(e.UID, organizer)
	ref, err := prov.PutEvent(ctx, e, ifMatch)
	if err != nil {
		if ifMatch == "" && errors.Is(err, errs.ErrNotFound) {
			// A create cannot miss an event: the calendar itself is.
			return EventRef{}, organizerFault(organizer, "create event", err)
		}
		return EventRef{}, err
	}
	if ref.Href == "" {
		ref.Href = e.Href
	}
	ref.Href = organizerHref(organizer, ref.Href)
	return ref, nil
}

// DeleteEvent removes the event from its organizer's calendar.
func (p *PerOrganizer) DeleteEvent(ctx context.Context, ref EventRef, ifMatch string) error {
	organizer, sub, err := p.locate(ctx, ref)
	if err != nil {
		return err
	}
	prov, err := p.provider(ctx, organizer)
	if err != nil {
		return err
	}
	return prov.DeleteEvent(ctx, sub, ifMatch)
}

// GetEvent reads the event from its organizer's calendar.
func (p *PerOrganizer) GetEvent(ctx context.Context, ref EventRef) (Event, error) {
	organizer, sub, err := p.locate(ctx, ref)
	if err != nil {
		return Event{}, err
	}
	prov, err := p.provider(ctx, organizer)
	if err != nil {
		return Event{}, err
	}
	ev, err := prov.GetEvent(ctx, sub)
	if err != nil {
		return Event{}, err
	}
	ev.Href = organizerHref(organizer, ev.Href)
	return ev, nil
}

// Changes polls every organizer's calendar from its own cursor (the
// composite cursor is a JSON object organizer → cursor; one that cannot
// be read lists everything again). A sub-calendar's full listing is full
// for that organizer only: FullFor names its href prefix, so the
// reconciler diffs just that organizer's events. An organizer whose
// calendar fails is reported in Bad and keeps its cursor, and the others
// go on; only when every organizer fails is it the round's error.
func (p *PerOrganizer) Changes(ctx context.Context, cursor string) (Changes, error) {
	prev := map[string]string{}
	if cursor != "" {
		if err := json.Unmarshal([]byte(cursor), &prev); err != nil {
			p.log.WarnContext(ctx, "per-organizer cursor cannot be read; listing every calendar in full")
			prev = map[string]string{}
		}
	}
	orgs, err := p.organizers(ctx)
	if err != nil {
		return Changes{}, err
	}
	var out Changes
	next := make(map[string]string, len(orgs))
	var failures []error
	for _, org := range orgs {
		ch, err := p.changesOf(ctx, org, prev[org])
		if err != nil {
			if ctx.Err() != nil {
				return Changes{}, err
			}
			failures = append(failures, err)
			if c, ok := prev[org]; ok {
				next[org] = c
			}
			p.log.WarnContext(ctx, "calendar of one organizer failed; the others go on", "err", err)
			out.Bad = append(out.Bad, BadObject{Href: organizerHref(org, "*"), Err: err})
			continue
		}
		next[org] = ch.Cursor
		for _, ev := range ch.Updated {
			p.remember(ev.UID, org)
			ev.Href = organizerHref(org, ev.Href)
			out.Updated = append(out.Updated, ev)
		}
		for _, ref := range ch.Deleted {
			ref.Href = organizerHref(org, ref.Href)
			out.Deleted = append(out.Deleted, ref)
		}
		for _, b := range ch.Bad {
			b.Href = organizerHref(org, b.Href)
			out.Bad = append(out.Bad, b)
		}
		if ch.Full {
			out.FullFor = append(out.FullFor, url.QueryEscape(org)+hrefSep)
		}
	}
	if len(orgs) > 0 && len(failures) == len(orgs) {
		return Changes{}, errors.Join(failures...)
	}
	b, err := json.Marshal(next)
	if err != nil {
		return Changes{}, fmt.Errorf("calendar: per-organizer cursor: %w", err)
	}
	out.Cursor = string(b)
	return out, nil
}

func (p *PerOrganizer) changesOf(ctx context.Context, organizer, cursor string) (Changes, error) {
	prov, err := p.provider(ctx, organizer)
	if err != nil {
		return Changes{}, err
	}
	ch, err := prov.Changes(ctx, cursor)
	if err != nil {
		return Changes{}, fmt.Errorf("organizer %s: changes: %w", organizer, err)
	}
	return ch, nil
}
