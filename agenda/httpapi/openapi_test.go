package httpapi

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
)

// TestOpenAPICoversEveryRoute: each agenda route (and the home pages) is in
// the document and the document names nothing else; every $ref resolves.
func TestOpenAPICoversEveryRoute(t *testing.T) {
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(OpenAPI, &doc); err != nil {
		t.Fatal(err)
	}
	routes := (&Handler{}).Routes()
	want := map[string]bool{"get /home": true, "get /home/series/{id}/occurrences/{key}": true}
	for _, rt := range routes {
		want[strings.ToLower(rt.Method)+" "+rt.Pattern] = true
	}
	have := map[string]bool{}
	for path, ops := range doc.Paths {
		for m := range ops {
			have[m+" "+path] = true
			if !want[m+" "+path] {
				t.Errorf("documented but not routed: %s %s", m, path)
			}
		}
	}
	for k := range want {
		if !have[k] {
			t.Errorf("routed but not documented: %s", k)
		}
	}
	var whole map[string]any
	json.Unmarshal(OpenAPI, &whole)
	for _, ref := range regexp.MustCompile(`"\$ref":\s*"#/([^"]+)"`).FindAllStringSubmatch(string(OpenAPI), -1) {
		var node any = whole
		for _, part := range strings.Split(ref[1], "/") {
			m, _ := node.(map[string]any)
			node = m[part]
		}
		if node == nil {
			t.Errorf("$ref #/%s does not resolve", ref[1])
		}
	}
}
