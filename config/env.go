package config

import (
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// EnvPrefix starts every environment variable that overrides a key:
// ONEONONE_<PATH>, the key path upper-cased with dots as underscores
// (store.dsn → ONEONONE_STORE_DSN). Entries of lists of mappings are
// addressed by index (ONEONONE_CALENDARS_0_CALDAV_PASSWORD) and can only
// override entries the file defines; lists of strings take a comma-separated
// value.
const EnvPrefix = "ONEONONE_"

// envTarget is one key that an environment variable can set.
type envTarget struct {
	key    string
	typ    reflect.Type
	field  func() reflect.Value // the field, allocating optional blocks on the way
	pair   func() reflect.Value // the other half of a secret/_file pair, or nil
	pairAt string               // its key
}

// envList is a list of mappings in the environment namespace, to report
// variables that address an entry the file does not define.
type envList struct {
	prefix string // "ONEONONE_CALENDARS_"
	key    string // "calendars"
	len    int
}

// EnvNames lists the environment variable of every key of c (list entries
// as c has them), for documentation and tests.
func EnvNames(c Config) []string {
	targets, _ := envTargets(&c)
	names := make([]string, 0, len(targets))
	for name := range targets {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// envTargets maps every variable name to what it sets in c.
func envTargets(c *Config) (map[string]envTarget, []envList) {
	targets := map[string]envTarget{}
	var lists []envList
	var walk func(t reflect.Type, get func() reflect.Value, peek reflect.Value, key, name string)
	walk = func(t reflect.Type, get func() reflect.Value, peek reflect.Value, key, name string) {
		fields := fieldsOf(t)
		for i := range t.NumField() {
			f := t.Field(i)
			tag := yamlName(f)
			if tag == "" {
				continue
			}
			fkey, fname := joinKey(key, tag), name+"_"+strings.ToUpper(tag)
			field := func() reflect.Value { return get().Field(i) }
			var fpeek reflect.Value
			if peek.IsValid() {
				fpeek = peek.Field(i)
			}
			ft := f.Type
			if ft.Kind() == reflect.Pointer && ft.Elem().Kind() == reflect.Struct {
				ptr, elemType := field, ft.Elem()
				field = func() reflect.Value {
					p := ptr()
					if p.IsNil() {
						p.Set(reflect.New(elemType))
					}
					return p.Elem()
				}
				if fpeek.IsValid() && !fpeek.IsNil() {
					fpeek = fpeek.Elem()
				} else {
					fpeek = reflect.Value{}
				}
				ft = ft.Elem()
			}
			switch {
			case ft.Kind() == reflect.Struct && ft != secretType:
				walk(ft, field, fpeek, fkey, fname)
			case ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct:
				n := 0
				if fpeek.IsValid() {
					n = fpeek.Len()
				}
				lists = append(lists, envList{prefix: fname + "_", key: fkey, len: n})
				for j := range n {
					elem := func() reflect.Value { return field().Index(j) }
					walk(ft.Elem(), elem, fpeek.Index(j), fkey+"["+strconv.Itoa(j)+"]", fname+"_"+strconv.Itoa(j))
				}
			default:
				tg := envTarget{key: fkey, typ: ft, field: field}
				if other, ok := secretPartner(t, tag); ok {
					j := fields[other]
					tg.pair = func() reflect.Value { return get().Field(j) }
					tg.pairAt = joinKey(key, other)
				}
				targets[fname] = tg
			}
		}
	}
	root := reflect.ValueOf(c).Elem()
	walk(root.Type(), func() reflect.Value { return root }, root, "", strings.TrimSuffix(EnvPrefix, "_"))
	return targets, lists
}

// secretPartner returns the other key of a secret pair in struct type t:
// "password" ↔ "password_file", for Secret fields with a string *_file
// sibling.
func secretPartner(t reflect.Type, tag string) (string, bool) {
	fields := fieldsOf(t)
	if base, ok := strings.CutSuffix(tag, "_file"); ok {
		if i, ok := fields[base]; ok && t.Field(i).Type == secretType {
			return base, true
		}
		return "", false
	}
	if i, ok := fields[tag]; ok && t.Field(i).Type == secretType {
		if _, ok := fields[tag+"_file"]; ok {
			return tag + "_file", true
		}
	}
	return "", false
}

var listIndex = regexp.MustCompile(`^(\d+)_`)

// applyEnv sets keys from ONEONONE_* entries of environ. An empty value
// counts as unset, so that `ONEONONE_X=$UNSET_VAR` in a compose file does
// not wipe a key from the file.
func applyEnv(c *Config, environ []string) problems {
	vals := map[string]string{}
	for _, kv := range environ {
		name, val, ok := strings.Cut(kv, "=")
		if ok && strings.HasPrefix(name, EnvPrefix) {
			vals[name] = val // later entries win, as with os/exec
		}
	}
	targets, lists := envTargets(c)
	names := make([]string, 0, len(vals))
	for name := range vals {
		names = append(names, name)
	}
	slices.Sort(names)
	var ps problems
	for _, name := range names {
		val := vals[name]
		t, ok := targets[name]
		if !ok {
			for _, l := range lists {
				if m := listIndex.FindStringSubmatch(strings.TrimPrefix(name, l.prefix)); strings.HasPrefix(name, l.prefix) && m != nil {
					if i, _ := strconv.Atoi(m[1]); i >= l.len {
						ps = append(ps, Problem{Env: name, Key: fmt.Sprintf("%s[%s]", l.key, m[1]),
							Message: fmt.Sprintf("the configuration has %d %s entries; the environment can only override entries defined in the file", l.len, l.key)})
					}
				}
			}
			continue // ONEONONE_CONFIG, ONEONONE_TOKEN, ONEONONE_TEST_*…
		}
		if val == "" {
			continue
		}
		if err := setFromString(t.field(), t.typ, val); err != nil {
			ps = append(ps, Problem{Env: name, Key: t.key, Message: err.Error()})
			continue
		}
		c.origins.m[t.key] = origin{Env: name}
		// Setting one half of a secret pair replaces the pair from the file.
		if t.pair != nil && c.origins.m[t.pairAt].Env == "" {
			p := t.pair()
			p.SetZero()
			delete(c.origins.m, t.pairAt)
		}
	}
	return ps
}

// setFromString parses an environment value into v of type t.
func setFromString(v reflect.Value, t reflect.Type, s string) error {
	switch {
	case t == durationType:
		d, err := ParseDuration(s)
		if err != nil {
			return err
		}
		v.SetInt(int64(d))
		return nil
	case t == secretType:
		v.Set(reflect.ValueOf(NewSecret(s)))
		return nil
	}
	switch t.Kind() {
	case reflect.String:
		v.SetString(s)
	case reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return fmt.Errorf("%q is not true or false", s)
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		i, err := strconv.ParseInt(s, 10, t.Bits())
		if err != nil {
			return fmt.Errorf("%q is not an integer in range", s)
		}
		v.SetInt(i)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		u, err := strconv.ParseUint(s, 10, t.Bits())
		if err != nil {
			return fmt.Errorf("%q is not an integer in range", s)
		}
		v.SetUint(u)
	case reflect.Float32, reflect.Float64:
		f, err := strconv.ParseFloat(s, t.Bits())
		if err != nil {
			return fmt.Errorf("%q is not a number", s)
		}
		v.SetFloat(f)
	case reflect.Slice:
		if t.Elem().Kind() != reflect.String {
			return fmt.Errorf("cannot be set from the environment")
		}
		var items []string
		for item := range strings.SplitSeq(s, ",") {
			if item = strings.TrimSpace(item); item != "" {
				items = append(items, item)
			}
		}
		v.Set(reflect.ValueOf(items).Convert(t))
	default:
		return fmt.Errorf("cannot be set from the environment")
	}
	return nil
}
