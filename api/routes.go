package api

import (
	"net/http"

	"github.com/oneonone/oneonone/web"
)

// route is one entry of the table that both the mux and the OpenAPI test
// read, so a route cannot exist without being documented.
type route struct {
	Method  string
	Pattern string // a net/http ServeMux path pattern
	// DocPath is the path as the OpenAPI document names it, when the mux
	// pattern cannot say it (a wildcard must fill a whole segment).
	DocPath string
	Handler http.Handler
}

func (s *Server) routeTable(page *web.Handler) []route {
	h := func(m, p string, f http.HandlerFunc) route { return route{Method: m, Pattern: p, Handler: f} }
	rs := []route{
		h("GET", "/healthz", s.healthz),
		h("GET", "/readyz", s.readyz),
		h("GET", "/api/v1/openapi.json", s.serveOpenAPI),
		h("POST", "/api/v1/series", s.createSeries),
		h("GET", "/api/v1/series", s.listSeries),
		h("POST", "/api/v1/series/import", s.importSeries),
		h("GET", "/api/v1/series/{id}", s.getSeries),
		h("PATCH", "/api/v1/series/{id}", s.patchSeries),
		h("DELETE", "/api/v1/series/{id}", s.deleteSeries),
		h("GET", "/api/v1/series/{id}/occurrences", s.listOccurrences),
		h("GET", "/api/v1/series/{id}/links", s.seriesLinks),
		h("GET", "/api/v1/series/{id}/attendance", s.seriesAttendance),
		h("GET", "/api/v1/people", s.listPeople),
		h("POST", "/api/v1/people/{email}/feed/rotate", s.rotateFeed),
		h("POST", "/api/v1/people/{email}/links/revoke", s.revokeLinks),
		h("GET", "/api/v1/calendars/{id}/google/authorize", s.authorizeGoogle),
		{Method: "GET", Pattern: "/ical/{feed}", DocPath: "/ical/{token}.ics", Handler: http.HandlerFunc(s.serveFeed)},
	}
	for _, pr := range page.Routes() {
		rs = append(rs, route{Method: pr.Method, Pattern: pr.Pattern, DocPath: pr.DocPath, Handler: pr.Handler})
	}
	return rs
}
