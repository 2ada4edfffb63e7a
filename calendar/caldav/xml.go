package caldav

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"net/url"
	"path"
	"strconv"
	"strings"
)

const (
	nsDAV    = "DAV:"
	nsCalDAV = "urn:ietf:params:xml:ns:caldav"
	nsCS     = "http://calendarserver.org/ns/"
)

// multistatus is the part of a 207 answer we read. go-webdav's decoder
// is internal and fails a whole listing on one bad object, so we parse
// it ourselves.
type multistatus struct {
	XMLName   xml.Name     `xml:"DAV: multistatus"`
	Responses []msResponse `xml:"DAV: response"`
	SyncToken string       `xml:"DAV: sync-token"`
}

type msResponse struct {
	Hrefs     []string   `xml:"DAV: href"`
	Status    string     `xml:"DAV: status"`
	Propstats []propstat `xml:"DAV: propstat"`
}

type propstat struct {
	Status string `xml:"DAV: status"`
	Prop   prop   `xml:"DAV: prop"`
}

type prop struct {
	ETag         *string `xml:"DAV: getetag"`
	CTag         *string `xml:"http://calendarserver.org/ns/ getctag"`
	SyncToken    *string `xml:"DAV: sync-token"`
	CalendarData *string `xml:"urn:ietf:params:xml:ns:caldav calendar-data"`
	ResourceType *struct {
		Collection *struct{} `xml:"DAV: collection"`
		Calendar   *struct{} `xml:"urn:ietf:params:xml:ns:caldav calendar"`
	} `xml:"DAV: resourcetype"`
	SupportedReports *struct {
		Reports []struct {
			// RFC 3253 wraps the name in <report>; Xandikos 0.2 does not.
			Report *struct {
				SyncCollection *struct{} `xml:"DAV: sync-collection"`
			} `xml:"DAV: report"`
			SyncCollection *struct{} `xml:"DAV: sync-collection"`
		} `xml:"DAV: supported-report"`
	} `xml:"DAV: supported-report-set"`
}

func (p prop) supportsSyncCollection() bool {
	if p.SupportedReports == nil {
		return false
	}
	for _, r := range p.SupportedReports.Reports {
		if r.SyncCollection != nil || (r.Report != nil && r.Report.SyncCollection != nil) {
			return true
		}
	}
	return false
}

func parseMultistatus(b []byte) (*multistatus, error) {
	var ms multistatus
	if err := xml.NewDecoder(bytes.NewReader(b)).Decode(&ms); err != nil {
		return nil, fmt.Errorf("parse multistatus: %w", err)
	}
	return &ms, nil
}

// statusCode reads "HTTP/1.1 404 Not Found"; 0 when absent or unreadable.
func statusCode(s string) int {
	f := strings.Fields(s)
	if len(f) < 2 {
		return 0
	}
	n, _ := strconv.Atoi(f[1])
	return n
}

// okProp merges the props of a response's 2xx propstats.
func (r msResponse) okProp() (prop, bool) {
	var out prop
	found := false
	for _, ps := range r.Propstats {
		if c := statusCode(ps.Status); c != 0 && c/100 != 2 {
			continue
		}
		found = true
		p := ps.Prop
		if p.ETag != nil {
			out.ETag = p.ETag
		}
		if p.CTag != nil {
			out.CTag = p.CTag
		}
		if p.SyncToken != nil {
			out.SyncToken = p.SyncToken
		}
		if p.CalendarData != nil {
			out.CalendarData = p.CalendarData
		}
		if p.ResourceType != nil {
			out.ResourceType = p.ResourceType
		}
		if p.SupportedReports != nil {
			out.SupportedReports = p.SupportedReports
		}
	}
	return out, found
}

// normalizeHref turns an href as a server writes it (absolute URL or
// path, percent-encoded in its own way) into the percent-decoded path,
// resolved against base, with dot segments removed and the trailing
// slash kept, so that two spellings of one resource compare equal.
func normalizeHref(base *url.URL, href string) (string, error) {
	href = strings.TrimSpace(href)
	u, err := url.Parse(href)
	if err != nil {
		return "", fmt.Errorf("href %q: %w", href, err)
	}
	if base != nil {
		u = base.ResolveReference(u)
	}
	p := u.Path // url.Parse has percent-decoded it
	if p == "" {
		p = "/"
	}
	slash := strings.HasSuffix(p, "/")
	p = path.Clean(p)
	if slash && p != "/" {
		p += "/"
	}
	return p, nil
}

// NormalizeHref is normalizeHref for callers that compare hrefs they
// stored with hrefs a server returns: base is the collection URL.
func NormalizeHref(base, href string) (string, error) {
	b, err := url.Parse(base)
	if err != nil {
		return "", err
	}
	return normalizeHref(b, href)
}

// etagValue strips weakness and quotes: servers differ in what they put
// in getetag, and If-Match needs the quoted form back (quoteETag).
func etagValue(s string) string {
	s = strings.TrimSpace(s)
	s = strings.TrimPrefix(s, "W/")
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		s = s[1 : len(s)-1]
	}
	return s
}

func quoteETag(s string) string {
	if strings.HasPrefix(s, `"`) || strings.HasPrefix(s, `W/"`) {
		return s
	}
	return `"` + s + `"`
}

func xmlText(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

const propfindCollection = `<?xml version="1.0" encoding="utf-8"?>
<d:propfind xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav" xmlns:cs="http://calendarserver.org/ns/">
<d:prop><d:resourcetype/><d:supported-report-set/><cs:getctag/><d:sync-token/></d:prop>
</d:propfind>`

const propfindCTag = `<?xml version="1.0" encoding="utf-8"?>
<d:propfind xmlns:d="DAV:" xmlns:cs="http://calendarserver.org/ns/"><d:prop><cs:getctag/></d:prop></d:propfind>`

const propfindETags = `<?xml version="1.0" encoding="utf-8"?>
<d:propfind xmlns:d="DAV:" xmlns:cs="http://calendarserver.org/ns/"><d:prop><d:resourcetype/><d:getetag/><cs:getctag/></d:prop></d:propfind>`

func syncCollectionBody(token string) []byte {
	return []byte(`<?xml version="1.0" encoding="utf-8"?>
<d:sync-collection xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">
<d:sync-token>` + xmlText(token) + `</d:sync-token><d:sync-level>1</d:sync-level>
<d:prop><d:getetag/><c:calendar-data/></d:prop>
</d:sync-collection>`)
}

func multigetBody(hrefs []string) []byte {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="utf-8"?>
<c:calendar-multiget xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">
<d:prop><d:getetag/><c:calendar-data/></d:prop>`)
	for _, h := range hrefs {
		b.WriteString("<d:href>")
		b.WriteString(xmlText((&url.URL{Path: h}).EscapedPath()))
		b.WriteString("</d:href>")
	}
	b.WriteString("</c:calendar-multiget>")
	return []byte(b.String())
}

func mkcalendarBody(displayName string) []byte {
	return []byte(`<?xml version="1.0" encoding="utf-8"?>
<c:mkcalendar xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><d:set><d:prop>
<d:displayname>` + xmlText(displayName) + `</d:displayname>
<c:supported-calendar-component-set><c:comp name="VEVENT"/></c:supported-calendar-component-set>
</d:prop></d:set></c:mkcalendar>`)
}
