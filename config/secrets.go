package config

import (
	"errors"
	"os"
	"reflect"
	"strconv"
	"strings"
)

// readSecrets fills every Secret from its *_file sibling. A relative path is
// relative to the working directory, like data_dir. Problems name the key
// and the path, never the content.
func readSecrets(c *Config) problems {
	var ps problems
	var walk func(v reflect.Value, key string)
	walk = func(v reflect.Value, key string) {
		t := v.Type()
		fields := fieldsOf(t)
		for i := range t.NumField() {
			tag := yamlName(t.Field(i))
			if tag == "" {
				continue
			}
			f, fkey := v.Field(i), joinKey(key, tag)
			if f.Kind() == reflect.Pointer {
				if f.IsNil() {
					continue
				}
				f = f.Elem()
			}
			switch {
			case f.Type() == secretType:
				other, ok := secretPartner(t, tag)
				if !ok {
					continue
				}
				path := v.Field(fields[other]).String()
				if path == "" {
					continue
				}
				fileKey := joinKey(key, other)
				if f.Interface().(Secret).IsSet() {
					ps = append(ps, c.problem(fileKey, "give either %s or %s, not both", tag, other))
					continue
				}
				s, err := readSecretFile(path)
				if err != nil {
					ps = append(ps, c.problem(fileKey, "%v", err))
					continue
				}
				f.Set(reflect.ValueOf(NewSecret(s)))
			case f.Kind() == reflect.Struct:
				walk(f, fkey)
			case f.Kind() == reflect.Slice && f.Type().Elem().Kind() == reflect.Struct:
				for j := range f.Len() {
					walk(f.Index(j), fkey+"["+strconv.Itoa(j)+"]")
				}
			}
		}
	}
	walk(reflect.ValueOf(c).Elem(), "")
	return ps
}

// readSecretFile reads a secret, dropping the trailing newline that editors
// and `echo` add.
func readSecretFile(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			return "", errors.New("cannot read " + strconv.Quote(path) + ": " + pe.Err.Error())
		}
		return "", errors.New("cannot read " + strconv.Quote(path))
	}
	s := strings.TrimRight(string(data), "\r\n")
	if s == "" {
		return "", errors.New(strconv.Quote(path) + " is empty")
	}
	return s, nil
}
