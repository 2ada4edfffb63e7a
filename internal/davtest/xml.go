package davtest

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"strings"
)

type multistatus struct {
	Responses []struct {
		Href     string `xml:"DAV: href"`
		Propstat []struct {
			Status string `xml:"DAV: status"`
			Prop   struct {
				ETag string `xml:"DAV: getetag"`
				Data string `xml:"urn:ietf:params:xml:ns:caldav calendar-data"`
			} `xml:"DAV: prop"`
		} `xml:"DAV: propstat"`
	} `xml:"DAV: response"`
}

func parseObjects(b []byte) ([]Object, error) {
	var ms multistatus
	if err := xml.NewDecoder(bytes.NewReader(b)).Decode(&ms); err != nil {
		return nil, fmt.Errorf("parse multistatus: %w", err)
	}
	var out []Object
	for _, r := range ms.Responses {
		o := Object{Href: r.Href}
		for _, ps := range r.Propstat {
			if !strings.Contains(ps.Status, " 200 ") {
				continue
			}
			if ps.Prop.ETag != "" {
				o.ETag = strings.Trim(strings.TrimPrefix(ps.Prop.ETag, "W/"), `"`)
			}
			if ps.Prop.Data != "" {
				o.Data = ps.Prop.Data
			}
		}
		if o.Data != "" {
			out = append(out, o)
		}
	}
	return out, nil
}

// parseListing counts the non-collection members of a depth-1 listing.
func parseListing(b []byte) (int, error) {
	var ms multistatus
	if err := xml.NewDecoder(bytes.NewReader(b)).Decode(&ms); err != nil {
		return 0, fmt.Errorf("parse multistatus: %w", err)
	}
	n := 0
	for _, r := range ms.Responses {
		if !strings.HasSuffix(r.Href, "/") {
			n++
		}
	}
	return n, nil
}
