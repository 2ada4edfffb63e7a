package api

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/oneonone/oneonone/agenda/httpapi"
	"github.com/oneonone/oneonone/web/home"
)

type openAPIDoc struct {
	OpenAPI string `json:"openapi"`
	Info    struct {
		Title   string `json:"title"`
		Version string `json:"version"`
	} `json:"info"`
	Paths      map[string]map[string]json.RawMessage `json:"paths"`
	Components struct {
		Schemas         map[string]json.RawMessage `json:"schemas"`
		SecuritySchemes map[string]struct {
			Type   string `json:"type"`
			Scheme string `json:"scheme"`
		} `json:"securitySchemes"`
		Parameters map[string]json.RawMessage `json:"parameters"`
		Responses  map[string]json.RawMessage `json:"responses"`
	} `json:"components"`
}

// docPath turns a ServeMux pattern into the OpenAPI path it documents.
func docPath(rt route) string {
	if rt.DocPath != "" {
		return rt.DocPath
	}
	p := strings.ReplaceAll(rt.Pattern, "{$}", "")
	return regexp.MustCompile(`\{(\w+)\.\.\.\}`).ReplaceAllString(p, "{$1}")
}

func TestOpenAPICoversEveryRoute(t *testing.T) {
	f := newFixture(t)
	res := f.do("GET", "/api/v1/openapi.json", nil)
	if res.Code != 200 {
		t.Fatalf("openapi.json: %d", res.Code)
	}
	var doc openAPIDoc
	res.json(t, &doc)
	if !strings.HasPrefix(doc.OpenAPI, "3.0.") || doc.Info.Title == "" || doc.Info.Version == "" || len(doc.Paths) == 0 {
		t.Fatalf("not an OpenAPI 3.0 document: openapi=%q info=%+v paths=%d", doc.OpenAPI, doc.Info, len(doc.Paths))
	}
	if b := doc.Components.SecuritySchemes["bearer"]; b.Type != "http" || b.Scheme != "bearer" {
		t.Errorf("bearer security scheme = %+v", b)
	}
	for _, name := range []string{"Series", "SeriesCreate", "SeriesPatch", "SeriesList", "Occurrence", "OccurrenceList", "Person", "PeopleList", "Error", "ImportReport"} {
		if _, ok := doc.Components.Schemas[name]; !ok {
			t.Errorf("schema %s missing", name)
		}
	}

	if len(f.server.routes) < 15 {
		t.Fatalf("only %d routes registered", len(f.server.routes))
	}
	documented := map[string]bool{}
	for _, rt := range f.server.routes {
		path := docPath(rt)
		method := strings.ToLower(rt.Method)
		documented[method+" "+path] = true
		op, ok := doc.Paths[path][method]
		if !ok {
			t.Errorf("%s %s (pattern %s) is not in the OpenAPI document", rt.Method, path, rt.Pattern)
			continue
		}
		var o struct {
			OperationID string                     `json:"operationId"`
			Responses   map[string]json.RawMessage `json:"responses"`
			Parameters  []struct {
				Ref  string `json:"$ref"`
				Name string `json:"name"`
				In   string `json:"in"`
			} `json:"parameters"`
		}
		if err := json.Unmarshal(op, &o); err != nil {
			t.Errorf("%s %s: %v", method, path, err)
			continue
		}
		if o.OperationID == "" || len(o.Responses) == 0 {
			t.Errorf("%s %s lacks operationId or responses", method, path)
		}
		// Every path template parameter is declared.
		for _, m := range regexp.MustCompile(`\{(\w+)\}`).FindAllStringSubmatch(path, -1) {
			found := false
			for _, p := range o.Parameters {
				if (p.In == "path" && p.Name == m[1]) || (m[1] == "id" && p.Ref == "#/components/parameters/SeriesID") {
					found = true
				}
			}
			if !found {
				t.Errorf("%s %s does not declare path parameter %s", method, path, m[1])
			}
		}
	}
	// And nothing is documented that the daemon does not serve: this
	// server's routes, or those the daemon mounts beside it from the
	// agenda (whose test checks that each is documented here) and the
	// home pages.
	for _, rt := range (&httpapi.Handler{}).Routes() {
		documented[strings.ToLower(rt.Method)+" "+rt.Pattern] = true
	}
	for _, rt := range (&home.Handler{}).Routes() {
		documented[strings.ToLower(rt.Method)+" "+rt.Pattern] = true
	}
	for path, ops := range doc.Paths {
		for method := range ops {
			if !documented[method+" "+path] {
				t.Errorf("the document has %s %s, which the daemon does not route", method, path)
			}
		}
	}

	// Every $ref resolves.
	var whole map[string]any
	res.json(t, &whole)
	for _, ref := range regexp.MustCompile(`"\$ref":\s*"#/([^"]+)"`).FindAllStringSubmatch(string(res.Body), -1) {
		var node any = whole
		for _, part := range strings.Split(ref[1], "/") {
			m, ok := node.(map[string]any)
			if !ok {
				node = nil
				break
			}
			node = m[part]
		}
		if node == nil {
			t.Errorf("$ref #/%s does not resolve", ref[1])
		}
	}
}
