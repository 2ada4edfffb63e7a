package config

import (
	"reflect"
	"strings"
)

// suggest proposes the key the user probably meant when name is not a field
// of struct type t (at parent key): a sibling a typo or two away, a sibling
// that name abbreviates, or else the one key elsewhere that ends in name
// ("dsn" at the top level → "store.dsn").
func suggest(parent, name string, t reflect.Type) string {
	best, bestDist := "", 3
	for sibling := range fieldsOf(t) {
		d := editDistance(strings.ToLower(name), sibling)
		if len(name) >= 3 && strings.HasPrefix(sibling, name) && d > 2 {
			d = 2 // "user" → "username"
		}
		if d < bestDist || (d == bestDist && sibling < best) {
			best, bestDist = sibling, d
		}
	}
	if best != "" && bestDist < len(name) {
		return joinKey(parent, best)
	}
	var found []string
	for _, p := range keyPaths(reflect.TypeFor[Config]()) {
		if !strings.Contains(p, "[]") && (p == name || strings.HasSuffix(p, "."+name)) {
			found = append(found, p)
		}
	}
	if len(found) == 1 {
		return found[0]
	}
	return ""
}

// editDistance is the Levenshtein distance between a and b (bytes; keys are
// ASCII).
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// keyPaths lists every leaf key of t as a path, lists of mappings written
// with "[]": "store.dsn", "calendars[].caldav.url", "media.stun_servers".
func keyPaths(t reflect.Type) []string {
	var out []string
	var walk func(t reflect.Type, prefix string)
	walk = func(t reflect.Type, prefix string) {
		for i := range t.NumField() {
			f := t.Field(i)
			name := yamlName(f)
			if name == "" {
				continue
			}
			p := joinKey(prefix, name)
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			switch {
			case ft.Kind() == reflect.Struct && ft != secretType:
				walk(ft, p)
			case ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct:
				walk(ft.Elem(), p+"[]")
			default:
				out = append(out, p)
			}
		}
	}
	walk(t, "")
	return out
}
