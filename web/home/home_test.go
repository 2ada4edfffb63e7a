package home

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestAssetsAndStrings: templates and both languages load, and the agenda
// module the room imports is served as JavaScript at its stable path.
func TestAssetsAndStrings(t *testing.T) {
	h, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range languages {
		for _, k := range []string{"tag_consultation", "tag_progress", "tag_career", "tag_wellbeing", "tag_feedback", "kind_action", "next_meeting"} {
			if h.dicts[l][k] == "" {
				t.Errorf("%s: no %s", l, k)
			}
		}
	}
	if ja := h.dicts["ja"]; ja["tag_consultation"] != "相談" || ja["tag_progress"] != "業務進捗" || ja["tag_wellbeing"] != "健康・ウェルビーイング" || ja["kind_topic"] != "話したいこと" {
		t.Errorf("Japanese glossary: %v", ja)
	}
	mux := http.NewServeMux()
	for _, rt := range h.Routes() {
		mux.Handle(rt.Method+" "+rt.Pattern, rt.Handler)
	}
	for path, ctype := range map[string]string{"/home/static/agenda.js": "javascript", "/home/static/agenda.css": "text/css", "/home/static/i18n/ja.json": "json"} {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		if rec.Code != 200 || !strings.Contains(rec.Header().Get("Content-Type"), ctype) || rec.Header().Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: %d %q", path, rec.Code, rec.Header().Get("Content-Type"))
		}
	}
}
