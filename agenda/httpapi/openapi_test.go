package httpapi

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// projectOpenAPI is the project's one OpenAPI document, which the api
// package embeds and serves at /api/v1/openapi.json. Tests run in the
// package's directory, so the path is relative to it.
var projectOpenAPI = filepath.Join("..", "..", "api", "openapi.json")

// TestOpenAPIDocumentsEveryRoute: each agenda route is in the project's
// document, with an operationId, the agenda tag, the person's session as
// its security (never the admin token) and its path parameters. That
// nothing is documented which nobody routes is api's test.
func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	b, err := os.ReadFile(projectOpenAPI)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Paths      map[string]map[string]json.RawMessage `json:"paths"`
		Components struct {
			SecuritySchemes map[string]struct {
				Type string `json:"type"`
				In   string `json:"in"`
				Name string `json:"name"`
			} `json:"securitySchemes"`
		} `json:"components"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatalf("%s: %v", projectOpenAPI, err)
	}
	if s := doc.Components.SecuritySchemes["session"]; s.Type != "apiKey" || s.In != "cookie" || s.Name == "" {
		t.Errorf("session security scheme = %+v, want an apiKey cookie", s)
	}
	routes := (&Handler{}).Routes()
	if len(routes) < 9 {
		t.Fatalf("only %d routes", len(routes))
	}
	for _, rt := range routes {
		method := strings.ToLower(rt.Method)
		raw, ok := doc.Paths[rt.Pattern][method]
		if !ok {
			t.Errorf("%s %s is routed but not in %s", rt.Method, rt.Pattern, projectOpenAPI)
			continue
		}
		var op struct {
			OperationID string                     `json:"operationId"`
			Tags        []string                   `json:"tags"`
			Security    []map[string][]string      `json:"security"`
			Responses   map[string]json.RawMessage `json:"responses"`
			Parameters  []struct {
				Name string `json:"name"`
				In   string `json:"in"`
			} `json:"parameters"`
		}
		if err := json.Unmarshal(raw, &op); err != nil {
			t.Errorf("%s %s: %v", method, rt.Pattern, err)
			continue
		}
		if op.OperationID == "" || len(op.Responses) == 0 || len(op.Tags) != 1 || op.Tags[0] != "agenda" {
			t.Errorf("%s %s: operationId %q, tags %v, %d responses; want an id, [agenda] and responses",
				method, rt.Pattern, op.OperationID, op.Tags, len(op.Responses))
		}
		if len(op.Security) != 1 || op.Security[0]["session"] == nil || len(op.Security[0]) != 1 {
			t.Errorf("%s %s: security %v, want the session only (the document's default is the admin token)",
				method, rt.Pattern, op.Security)
		}
		for _, seg := range strings.Split(rt.Pattern, "/") {
			name, ok := strings.CutPrefix(seg, "{")
			if !ok {
				continue
			}
			name = strings.TrimSuffix(name, "}")
			found := false
			for _, p := range op.Parameters {
				found = found || (p.In == "path" && p.Name == name)
			}
			if !found {
				t.Errorf("%s %s does not declare path parameter %s", method, rt.Pattern, name)
			}
		}
	}
}
