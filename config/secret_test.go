package config

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// TestSecretsNeverPrint loads a Config holding a secret in every Secret
// field and prints it every way a program might.
func TestSecretsNeverPrint(t *testing.T) {
	dav := writeSecret(t, "dav", "s3cret-dav\n")
	path := writeConfig(t, `calendars:
  - id: team
    caldav:
      url: http://dav.example.com/
      password_file: `+dav+`
  - id: ws
    google:
      credentials: s3cret-google
media:
  turn:
    - urls: [turn:turn.example.com]
      password: s3cret-turn
auth:
  oidc:
    issuer: https://id.example.com
    client_id: oneonone
    client_secret: s3cret-oidc
smtp:
  host: mail.example.com
  from: a@example.com
  password: s3cret-smtp
`)
	c, err := Load(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Auth.OIDC.ClientSecret.Reveal() != "s3cret-oidc" {
		t.Fatal("secret not loaded")
	}

	// Every verb on the Config, a pointer to it and parts of it: bad verbs
	// (%d on a string, %s on a pointer) make fmt print by raw reflection.
	var outputs, mustRedact []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%t", "%p"} {
		outputs = append(outputs,
			fmt.Sprintf(verb, c), fmt.Sprintf(verb, &c), fmt.Sprintf(verb, c.Calendars),
			fmt.Sprintf(verb, c.Calendars[0].CalDAV), fmt.Sprintf(verb, *c.Calendars[1].Google),
			fmt.Sprintf(verb, c.SMTP.Password), fmt.Sprintf(verb, []any{c.Media.TURN}))
	}
	mustRedact = append(mustRedact, fmt.Sprintf("%v", c), fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", c),
		fmt.Sprint(c.SMTP.Password), fmt.Sprintf("%+v", *c.Calendars[0].CalDAV))
	for _, h := range []func(*bytes.Buffer) slog.Handler{
		func(b *bytes.Buffer) slog.Handler { return slog.NewTextHandler(b, nil) },
		func(b *bytes.Buffer) slog.Handler { return slog.NewJSONHandler(b, nil) },
	} {
		var buf bytes.Buffer
		slog.New(h(&buf)).Info("loaded", "config", c, "password", c.SMTP.Password, "cal", c.Calendars[1].Google)
		mustRedact = append(mustRedact, buf.String())
	}
	j, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	y, err := yaml.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	mustRedact = append(mustRedact, string(j), string(y))

	for _, out := range append(outputs, mustRedact...) {
		if strings.Contains(out, "s3cret") || strings.Contains(strings.ToLower(out), hex.EncodeToString([]byte("s3cret"))) {
			t.Errorf("a secret leaked: %s", out)
		}
	}
	for _, out := range mustRedact {
		if !strings.Contains(out, "[redacted]") {
			t.Errorf("no [redacted] in %s", out)
		}
	}
}

// TestSecretPairs keeps the rule that every secret can come from a file:
// each Secret field has a string sibling named like it plus "_file".
func TestSecretPairs(t *testing.T) {
	seen := map[reflect.Type]bool{}
	var walk func(t reflect.Type)
	walk = func(typ reflect.Type) {
		for typ.Kind() == reflect.Pointer || typ.Kind() == reflect.Slice {
			typ = typ.Elem()
		}
		if typ.Kind() != reflect.Struct || typ == secretType || seen[typ] {
			return
		}
		seen[typ] = true
		fields := fieldsOf(typ)
		for i := range typ.NumField() {
			f := typ.Field(i)
			name := yamlName(f)
			if name == "" {
				continue
			}
			if f.Type == secretType {
				j, ok := fields[name+"_file"]
				if !ok || typ.Field(j).Type.Kind() != reflect.String {
					t.Errorf("%s.%s is a Secret without a string %s_file sibling", typ.Name(), f.Name, name)
				}
			}
			walk(f.Type)
		}
	}
	walk(reflect.TypeFor[Config]())
}

// TestEnvNames checks that every key has exactly one variable and that none
// collides with the variables other parts of oneonone use.
func TestEnvNames(t *testing.T) {
	c := Default()
	c.Calendars = []CalendarConfig{{ID: "a"}}
	c.Media.TURN = []TURNConfig{{}}
	names := EnvNames(c)
	byName := map[string]string{}
	for _, p := range keyPaths(reflect.TypeFor[Config]()) {
		name := EnvPrefix + strings.ToUpper(strings.NewReplacer("[]", "_0", ".", "_").Replace(p))
		if other, dup := byName[name]; dup {
			t.Errorf("keys %s and %s share %s", other, p, name)
		}
		byName[name] = p
	}
	if len(names) != len(byName) {
		t.Errorf("EnvNames gives %d names for %d keys:\n%s", len(names), len(byName), strings.Join(names, "\n"))
	}
	for _, name := range names {
		if _, ok := byName[name]; !ok {
			t.Errorf("EnvNames has %s, which is no key", name)
		}
		if name == "ONEONONE_CONFIG" || name == "ONEONONE_TOKEN" || strings.HasPrefix(name, "ONEONONE_TEST_") {
			t.Errorf("%s collides with a variable used elsewhere", name)
		}
	}
	for _, want := range []string{"ONEONONE_STORE_DSN", "ONEONONE_SYNC_INTERVAL", "ONEONONE_METRICS_PER_SERIES", "ONEONONE_PUBLIC_URL", "ONEONONE_CALENDARS_0_CALDAV_PASSWORD_FILE"} {
		if _, ok := byName[want]; !ok {
			t.Errorf("no key for %s", want)
		}
	}
}
