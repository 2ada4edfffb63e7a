package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Load returns the configuration: Default, then the YAML file at path (none
// when path is ""), then ONEONONE_* variables from environ (as os.Environ
// gives them; a later entry wins), then secrets read from *_file keys, then
// Validate. Every problem found is returned at once in an *Error.
//
// Unknown ONEONONE_* variables are ignored: ONEONONE_CONFIG, ONEONONE_TOKEN
// and test variables share the prefix.
func Load(path string, environ []string) (Config, error) {
	c := Default()
	c.origins = &origins{m: map[string]origin{}}
	var ps problems
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			// The error names the path; nothing else can be checked without it.
			return Config{}, &Error{Problems: []Problem{{File: path, Message: fmt.Sprintf("cannot read config: %v", errors.Unwrap(err))}}}
		}
		ps = append(ps, decodeYAML(path, data, &c)...)
	}
	ps = append(ps, applyEnv(&c, environ)...)
	ps = append(ps, readSecrets(&c)...)
	for i := range c.Calendars {
		if g := c.Calendars[i].Google; g != nil && g.CalendarID == "" {
			g.CalendarID = defaultGoogleCalendarID
		}
	}
	// A value that could not be decoded kept its default; do not also
	// report what validation thinks of that default.
	failed := map[string]bool{}
	for _, p := range ps {
		failed[p.Key] = true
	}
	for _, p := range c.validate() {
		if !failed[p.Key] {
			ps = append(ps, p)
		}
	}
	if err := ps.err(); err != nil {
		return c, err
	}
	return c, nil
}

// origin is where a key's value came from.
type origin struct {
	File string
	Line int
	Env  string
}

// origins maps key paths ("calendars[0].caldav.url") to where they were set.
type origins struct {
	m map[string]origin
}

// problem locates a problem about key at the place key, or its nearest
// enclosing key, was set.
func (c Config) problem(key, format string, args ...any) Problem {
	p := Problem{Key: key, Message: fmt.Sprintf(format, args...)}
	if c.origins == nil {
		return p
	}
	for k := key; k != ""; k = parentKey(k) {
		if o, ok := c.origins.m[k]; ok {
			p.File, p.Line, p.Env = o.File, o.Line, o.Env
			return p
		}
	}
	return p
}

// parentKey strips the last ".name" or "[i]" from a key path.
func parentKey(k string) string {
	i := strings.LastIndexAny(k, ".[")
	if i < 0 {
		return ""
	}
	return k[:i]
}

func joinKey(parent, name string) string {
	if parent == "" {
		return name
	}
	return parent + "." + name
}

var (
	durationType = reflect.TypeFor[time.Duration]()
	secretType   = reflect.TypeFor[Secret]()
)

// Limits that keep a hostile or broken file (aliases fanning out, thousands
// of unknown keys) from costing more than a glance.
const (
	maxSteps    = 100_000
	maxProblems = 50
)

// decoder walks a yaml.Node tree into a Config by reflection over yaml tags,
// so that every error can name the line and the key path.
type decoder struct {
	file    string
	origins map[string]origin
	probs   problems
	steps   int
	merging map[*yaml.Node]bool // merge sources being expanded, to stop cycles
}

// bigInteger is an integer too large for int64, which YAML resolves as a float.
var bigInteger = regexp.MustCompile(`^[-+]?[0-9_]+$`)

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// decodeYAML decodes data (the file at path) into c.
func decodeYAML(path string, data []byte, c *Config) problems {
	d := &decoder{file: path, origins: c.origins.m, merging: map[*yaml.Node]bool{}}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil // an empty file: defaults
		}
		return problems{d.syntax(err)}
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		if err != nil {
			return problems{d.syntax(err)}
		}
		return problems{{File: path, Line: extra.Line, Message: "only one YAML document is allowed"}}
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) > 0 {
		root = root.Content[0]
	}
	if isNull(root) {
		return nil // only comments
	}
	if root.Kind != yaml.MappingNode {
		return problems{{File: path, Line: root.Line, Message: "expected a mapping of keys at the top level, got " + describe(root)}}
	}
	d.mapping(root, reflect.ValueOf(c).Elem(), "")
	if len(d.probs) > maxProblems {
		n := len(d.probs) - maxProblems
		d.probs = append(d.probs[:maxProblems], Problem{File: path, Message: fmt.Sprintf("… and %d more problems", n)})
	}
	return d.probs
}

// syntax turns a yaml.v3 parse error into a Problem with a line.
func (d *decoder) syntax(err error) Problem {
	msg := err.Error()
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return Problem{File: d.file, Line: line, Message: m[2]}
	}
	return Problem{File: d.file, Message: strings.TrimPrefix(msg, "yaml: ")}
}

func (d *decoder) fail(line int, key, format string, args ...any) {
	if len(d.probs) > maxProblems {
		return
	}
	d.probs = append(d.probs, Problem{File: d.file, Line: line, Key: key, Message: fmt.Sprintf(format, args...)})
}

// budget counts work and reports false once the document has cost too much.
func (d *decoder) budget(line int) bool {
	d.steps++
	if d.steps == maxSteps {
		d.fail(line, "", "document too large or too many aliases")
	}
	return d.steps < maxSteps
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// resolve follows aliases to the node they name.
func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n.Kind == yaml.AliasNode && n.Alias != nil && i < 100; i++ {
		n = n.Alias
	}
	return n
}

// describe names what a node is, for "expected X, got Y".
func describe(n *yaml.Node) string {
	n = resolve(n)
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!str":
			return "a string"
		case "!!int", "!!float":
			return "a number"
		case "!!bool":
			return "true/false"
		case "!!null":
			return "nothing"
		case "!!timestamp":
			return "a timestamp"
		}
		return "a value tagged " + strconv.Quote(n.ShortTag())
	}
	return "something else"
}

// expected names what a Go type wants in YAML.
func expected(t reflect.Type) string {
	switch {
	case t == durationType:
		return "a duration"
	case t == secretType:
		return "a string"
	}
	switch t.Kind() {
	case reflect.Pointer:
		return expected(t.Elem())
	case reflect.Struct:
		return "a mapping"
	case reflect.Slice:
		return "a list"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	}
	return t.String()
}

// value decodes n into v, the value of key, written at line.
func (d *decoder) value(n *yaml.Node, v reflect.Value, key string, line int) {
	if !d.budget(line) {
		return
	}
	n = resolve(n)
	if isNull(n) {
		// "key:" with nothing: keep the default, except that an empty
		// optional block ("caldav:") still says which block is meant.
		if v.Kind() == reflect.Pointer && v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		d.origins[key] = origin{File: d.file, Line: line}
		return
	}
	d.origins[key] = origin{File: d.file, Line: line}
	t := v.Type()
	wrongType := func() { d.fail(line, key, "expected %s, got %s", expected(t), describe(n)) }
	scalar := n.Kind == yaml.ScalarNode
	switch {
	case t == durationType:
		if !scalar {
			wrongType()
			return
		}
		dur, err := ParseDuration(n.Value)
		if err != nil {
			d.fail(line, key, "%v", err)
			return
		}
		v.SetInt(int64(dur))
		return
	case t == secretType:
		if !scalar {
			wrongType()
			return
		}
		v.Set(reflect.ValueOf(NewSecret(n.Value)))
		return
	}
	switch t.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(t.Elem()))
		}
		d.value(n, v.Elem(), key, line)
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			wrongType()
			return
		}
		d.mapping(n, v, key)
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			wrongType()
			return
		}
		s := reflect.MakeSlice(t, len(n.Content), len(n.Content))
		for i, item := range n.Content {
			d.value(item, s.Index(i), key+"["+strconv.Itoa(i)+"]", item.Line)
		}
		v.Set(s)
	case reflect.String:
		if !scalar {
			wrongType()
			return
		}
		v.SetString(n.Value)
	case reflect.Bool:
		var b bool
		if !scalar || n.ShortTag() != "!!bool" || n.Decode(&b) != nil {
			wrongType()
			return
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		var i int64
		if scalar && n.ShortTag() == "!!float" && bigInteger.MatchString(n.Value) {
			d.fail(line, key, "%s is out of range", n.Value)
			return
		}
		if !scalar || n.ShortTag() != "!!int" {
			wrongType()
			return
		}
		if n.Decode(&i) != nil || v.OverflowInt(i) {
			d.fail(line, key, "%s is out of range", n.Value)
			return
		}
		v.SetInt(i)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		var u uint64
		if !scalar || n.ShortTag() != "!!int" {
			wrongType()
			return
		}
		if n.Decode(&u) != nil || v.OverflowUint(u) {
			d.fail(line, key, "%s is out of range", n.Value)
			return
		}
		v.SetUint(u)
	case reflect.Float32, reflect.Float64:
		var f float64
		if !scalar || (n.ShortTag() != "!!float" && n.ShortTag() != "!!int") || n.Decode(&f) != nil {
			wrongType()
			return
		}
		v.SetFloat(f)
	default:
		// A field type this decoder does not know yet: a programming error
		// that the example-file test catches, reported rather than panicking.
		d.fail(line, key, "cannot decode into %s", t)
	}
}

// mapping decodes a YAML mapping into the struct v at key.
func (d *decoder) mapping(n *yaml.Node, v reflect.Value, key string) {
	fields := fieldsOf(v.Type())
	// Merge keys ("<<: *defaults") first, so that the mapping's own keys win.
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k := n.Content[i]; k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" {
			d.merge(n.Content[i+1], v, key, k.Line)
		}
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if !d.budget(k.Line) {
			return
		}
		if k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" {
			continue
		}
		k = resolve(k)
		if k.Kind != yaml.ScalarNode {
			d.fail(k.Line, key, "keys must be plain names, got %s", describe(k))
			continue
		}
		path := joinKey(key, k.Value)
		if first, dup := seen[k.Value]; dup {
			d.fail(k.Line, path, "duplicate key %q (first at line %d)", path, first)
			continue
		}
		seen[k.Value] = k.Line
		f, ok := fields[k.Value]
		if !ok {
			msg := fmt.Sprintf("unknown key %q", path)
			if s := suggest(key, k.Value, v.Type()); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
			}
			d.fail(k.Line, path, "%s", msg)
			continue
		}
		d.value(val, v.Field(f), path, k.Line)
	}
}

// merge applies the mapping(s) named by a "<<" key to v.
func (d *decoder) merge(src *yaml.Node, v reflect.Value, key string, line int) {
	src = resolve(src)
	if d.merging[src] {
		d.fail(line, key, "merge key refers to the mapping that contains it")
		return
	}
	d.merging[src] = true
	defer delete(d.merging, src)
	switch src.Kind {
	case yaml.MappingNode:
		d.mapping(src, v, key)
	case yaml.SequenceNode:
		// Earlier mappings win, so apply them last.
		for i := len(src.Content) - 1; i >= 0; i-- {
			if m := resolve(src.Content[i]); m.Kind == yaml.MappingNode && !d.merging[m] {
				d.merging[m] = true
				d.mapping(m, v, key)
				delete(d.merging, m)
			} else {
				d.fail(line, key, "merge key needs mappings, got %s", describe(m))
			}
		}
	default:
		d.fail(line, key, "merge key needs a mapping, got %s", describe(src))
	}
}

// fieldsOf maps yaml tag names of struct type t to field indexes.
func fieldsOf(t reflect.Type) map[string]int {
	m := map[string]int{}
	for i := range t.NumField() {
		if name := yamlName(t.Field(i)); name != "" {
			m[name] = i
		}
	}
	return m
}

// yamlName is a field's key, or "" for fields that are not configuration.
func yamlName(f reflect.StructField) string {
	if !f.IsExported() {
		return ""
	}
	name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	if name == "-" {
		return ""
	}
	return name
}
