package caldav

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/oneonone/oneonone/calendar"
)

// cursor is what Changes hands back, opaque to callers: a sync-collection
// token, or the getctag and every object's ETag seen at the last listing
// (so deletions show up as missing hrefs).
type cursor struct {
	Sync  string            `json:"s,omitempty"`
	CTag  string            `json:"c,omitempty"`
	ETags map[string]string `json:"e,omitempty"`
}

func decodeCursor(s string) (cursor, bool) {
	var cur cursor
	if s == "" {
		return cur, false
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || json.Unmarshal(b, &cur) != nil {
		return cursor{}, false
	}
	return cur, true
}

func (cur cursor) encode() string {
	b, _ := json.Marshal(cur)
	return base64.RawURLEncoding.EncodeToString(b)
}

// maxSyncRounds bounds the loop over truncated (507) sync answers.
const maxSyncRounds = 1000

// multigetBatch is how many hrefs one calendar-multiget asks for.
const multigetBatch = 200

// Changes reports what changed since cur ("" = list everything). With
// sync-collection, a poll with nothing changed is one REPORT; without, it
// is one PROPFIND of getctag. Any sync error falls back to a full listing.
func (c *Calendar) Changes(ctx context.Context, cur string) (calendar.Changes, error) {
	prev, ok := decodeCursor(cur)
	if c.sync {
		if ok && prev.Sync != "" {
			ch, tokenBad, err := c.syncCollection(ctx, prev.Sync)
			if !tokenBad {
				return ch, err
			}
			c.log.WarnContext(ctx, "caldav: sync token refused, listing everything", "err", err)
		}
		ch, _, err := c.syncCollection(ctx, "")
		ch.Full = true
		ch.Deleted = nil
		return ch, err
	}
	if !ok || prev.Sync != "" {
		prev = cursor{}
	}
	return c.ctagChanges(ctx, prev)
}

// syncCollection runs RFC 6578 sync-collection REPORTs from token until the
// answer is complete. tokenBad is set when the server refused the token.
func (c *Calendar) syncCollection(ctx context.Context, token string) (ch calendar.Changes, tokenBad bool, err error) {
	var need []string
	for round := 0; ; round++ {
		if round == maxSyncRounds {
			return calendar.Changes{}, false, protocolError("caldav: sync-collection on %s did not finish in %d rounds", c.base.Path, maxSyncRounds)
		}
		r, err := c.do(ctx, "REPORT", c.base, http.Header{"Content-Type": {"application/xml; charset=utf-8"}, "Depth": {"0"}}, syncCollectionBody(token))
		if err != nil {
			return calendar.Changes{}, false, err
		}
		if r.status != http.StatusMultiStatus {
			return calendar.Changes{}, token != "" && isSyncTokenError(r), statusError("REPORT sync-collection", c.base, r)
		}
		ms, err := parseMultistatus(r.body)
		if err != nil {
			return calendar.Changes{}, false, protocolError("caldav: sync-collection on %s: %w", c.base.Path, err)
		}
		if ms.SyncToken == "" {
			return calendar.Changes{}, false, protocolError("caldav: sync-collection on %s: answer without sync-token", c.base.Path)
		}
		truncated := false
		for _, resp := range ms.Responses {
			for _, h := range resp.Hrefs {
				href, err := normalizeHref(c.base, h)
				if err != nil {
					ch.Bad = append(ch.Bad, calendar.BadObject{Href: h, Err: err})
					continue
				}
				if href == c.base.Path {
					// RFC 6578 §3.6: a 507 on the collection itself says
					// the answer was truncated; ask again from the new token.
					truncated = truncated || statusCode(resp.Status) == http.StatusInsufficientStorage
					continue
				}
				if code := statusCode(resp.Status); code == http.StatusNotFound || code == http.StatusGone {
					ch.Deleted = append(ch.Deleted, calendar.EventRef{Href: href})
					continue
				}
				p, ok := resp.okProp()
				if !ok {
					continue
				}
				if p.CalendarData == nil {
					need = append(need, href)
					continue
				}
				c.addObject(&ch, href, p)
			}
		}
		token = ms.SyncToken
		if !truncated {
			break
		}
	}
	if err := c.multiget(ctx, &ch, need); err != nil {
		return calendar.Changes{}, false, err
	}
	ch.Cursor = cursor{Sync: token}.encode()
	ch.Deleted = dedupDeleted(ch)
	return ch, false, nil
}

// dedupDeleted drops deletions of hrefs that were also updated in the
// same answer (deleted, then created again).
func dedupDeleted(ch calendar.Changes) []calendar.EventRef {
	if len(ch.Deleted) == 0 {
		return nil
	}
	seen := map[string]bool{}
	for _, e := range ch.Updated {
		seen[e.Href] = true
	}
	out := ch.Deleted[:0]
	for _, d := range ch.Deleted {
		if !seen[d.Href] {
			out = append(out, d)
			seen[d.Href] = true
		}
	}
	return out
}

// addObject parses one object's calendar-data into Updated or Bad.
func (c *Calendar) addObject(ch *calendar.Changes, href string, p prop) {
	if p.CalendarData == nil {
		ch.Bad = append(ch.Bad, calendar.BadObject{Href: href, Err: errNoData})
		return
	}
	ev, err := ParseEvent([]byte(*p.CalendarData))
	if err != nil {
		ch.Bad = append(ch.Bad, calendar.BadObject{Href: href, Err: err})
		return
	}
	ev.Href = href
	if p.ETag != nil {
		ev.ETag = etagValue(*p.ETag)
	}
	ch.Updated = append(ch.Updated, ev)
}

// multiget fetches hrefs with calendar-multiget REPORTs.
func (c *Calendar) multiget(ctx context.Context, ch *calendar.Changes, hrefs []string) error {
	for len(hrefs) > 0 {
		batch := hrefs[:min(len(hrefs), multigetBatch)]
		hrefs = hrefs[len(batch):]
		r, err := c.do(ctx, "REPORT", c.base, http.Header{"Content-Type": {"application/xml; charset=utf-8"}, "Depth": {"1"}}, multigetBody(batch))
		if err != nil {
			return err
		}
		if r.status != http.StatusMultiStatus {
			return statusError("REPORT calendar-multiget", c.base, r)
		}
		ms, err := parseMultistatus(r.body)
		if err != nil {
			return protocolError("caldav: calendar-multiget on %s: %w", c.base.Path, err)
		}
		got := map[string]bool{}
		for _, resp := range ms.Responses {
			for _, h := range resp.Hrefs {
				href, err := normalizeHref(c.base, h)
				if err != nil || !slices.Contains(batch, href) {
					continue
				}
				got[href] = true
				if code := statusCode(resp.Status); code == http.StatusNotFound {
					// Deleted between the listing and the multiget.
					ch.Deleted = append(ch.Deleted, calendar.EventRef{Href: href})
					continue
				}
				p, _ := resp.okProp()
				c.addObject(ch, href, p)
			}
		}
		for _, h := range batch {
			if !got[h] {
				ch.Bad = append(ch.Bad, calendar.BadObject{Href: h, Err: fmt.Errorf("calendar-multiget did not return it")})
			}
		}
	}
	return nil
}

// ctagChanges is change detection without sync-collection: getctag says
// whether anything changed; an ETag listing (PROPFIND depth 1) says what.
func (c *Calendar) ctagChanges(ctx context.Context, prev cursor) (calendar.Changes, error) {
	hdr := http.Header{"Content-Type": {"application/xml; charset=utf-8"}}
	ctag := ""
	if prev.ETags != nil {
		// Read the ctag before the listing: a change in between is seen
		// again next time, never lost.
		hdr.Set("Depth", "0")
		r, err := c.do(ctx, "PROPFIND", c.base, hdr, []byte(propfindCTag))
		if err != nil {
			return calendar.Changes{}, err
		}
		if r.status != http.StatusMultiStatus {
			return calendar.Changes{}, statusError("PROPFIND getctag", c.base, r)
		}
		ms, err := parseMultistatus(r.body)
		if err != nil {
			return calendar.Changes{}, protocolError("caldav: getctag on %s: %w", c.base.Path, err)
		}
		for _, resp := range ms.Responses {
			if p, ok := resp.okProp(); ok && p.CTag != nil {
				ctag = *p.CTag
			}
		}
		if ctag != "" && ctag == prev.CTag {
			return calendar.Changes{Cursor: prev.encode()}, nil
		}
	}

	hdr.Set("Depth", "1")
	r, err := c.do(ctx, "PROPFIND", c.base, hdr, []byte(propfindETags))
	if err != nil {
		return calendar.Changes{}, err
	}
	if r.status != http.StatusMultiStatus {
		return calendar.Changes{}, statusError("PROPFIND getetag", c.base, r)
	}
	ms, err := parseMultistatus(r.body)
	if err != nil {
		return calendar.Changes{}, protocolError("caldav: ETag listing of %s: %w", c.base.Path, err)
	}
	now := map[string]string{}
	for _, resp := range ms.Responses {
		p, ok := resp.okProp()
		if ok && p.CTag != nil {
			ctag = *p.CTag // the collection's own entry: the ctag of this listing
		}
		if !ok || (p.ResourceType != nil && p.ResourceType.Collection != nil) {
			continue
		}
		for _, h := range resp.Hrefs {
			href, err := normalizeHref(c.base, h)
			if err != nil || href == c.base.Path {
				continue
			}
			etag := ""
			if p.ETag != nil {
				etag = etagValue(*p.ETag)
			}
			now[href] = etag
		}
	}

	full := prev.ETags == nil
	var ch calendar.Changes
	var need []string
	for href, etag := range now {
		if old, seen := prev.ETags[href]; full || !seen || old != etag || etag == "" {
			need = append(need, href)
		}
	}
	slices.Sort(need)
	if !full {
		for href := range prev.ETags {
			if _, ok := now[href]; !ok {
				ch.Deleted = append(ch.Deleted, calendar.EventRef{Href: href})
			}
		}
		slices.SortFunc(ch.Deleted, func(a, b calendar.EventRef) int { return strings.Compare(a.Href, b.Href) })
	}
	if err := c.multiget(ctx, &ch, need); err != nil {
		return calendar.Changes{}, err
	}
	ch.Full = full
	if full {
		ch.Deleted = nil
	}
	ch.Deleted = dedupDeleted(ch)
	ch.Cursor = cursor{CTag: ctag, ETags: now}.encode()
	return ch, nil
}
