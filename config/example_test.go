package config

import (
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

const examplePath = "../oneonone.example.yaml"

// TestExampleLoads loads the shipped example. Its secrets point at
// /run/secrets, so the test points them at temporary files through the
// environment, the way a container would.
func TestExampleLoads(t *testing.T) {
	abs, err := filepath.Abs(examplePath)
	if err != nil {
		t.Fatal(err)
	}
	env := []string{"ONEONONE_CALENDARS_1_GOOGLE_CREDENTIALS_FILE=" + writeSecret(t, "google.json", "{}\n"),
		"ONEONONE_CALENDARS_2_GOOGLE_OAUTH_CLIENT_FILE=" + writeSecret(t, "oauth.json", `{"web":{"client_id":"x"}}`+"\n"),
		"ONEONONE_CALENDARS_2_GOOGLE_TOKEN_KEY_FILE=" + writeSecret(t, "key", "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=\n")}
	for _, name := range []string{
		"ONEONONE_CALENDARS_0_CALDAV_PASSWORD_FILE",
		"ONEONONE_MEDIA_TURN_0_PASSWORD_FILE",
		"ONEONONE_AUTH_OIDC_CLIENT_SECRET_FILE",
		"ONEONONE_SMTP_PASSWORD_FILE",
	} {
		env = append(env, name+"="+writeSecret(t, name, "secret-of-"+name+"\n"))
	}
	c, err := Load(abs, env)
	if err != nil {
		t.Fatalf("the example does not load:\n%v", err)
	}
	if got := c.SMTP.Password.Reveal(); got != "secret-of-ONEONONE_SMTP_PASSWORD_FILE" {
		t.Errorf("smtp password = %q", got)
	}

	// The example shows the defaults: the keys Default sets have the same
	// values in both.
	d := Default()
	same := []struct {
		key       string
		got, want any
	}{
		{"listen", c.Listen, d.Listen},
		{"data_dir", c.DataDir, d.DataDir},
		{"store.dsn", c.StoreDSN(), d.StoreDSN()},
		{"public_url", c.BaseURL(), d.BaseURL()},
		{"sync.interval", c.Sync.Interval, d.Sync.Interval},
		{"media.udp_port", c.Media.UDPPort, d.Media.UDPPort},
		{"media.tcp_port", c.Media.TCPPort, d.Media.TCPPort},
		{"media.public_ip", c.Media.PublicIP, d.Media.PublicIP},
		{"metrics", c.Metrics, d.Metrics},
		{"log", c.Log, d.Log},
		{"smtp.port", c.SMTP.Port, d.SMTP.Port},
		{"smtp.starttls", c.SMTP.StartTLS, d.SMTP.StartTLS},
		{"http", c.HTTP, d.HTTP},
		{"attendance", c.Attendance, d.Attendance},
		{"auth.session_ttl", c.Auth.SessionTTL, d.Auth.SessionTTL},
		{"auth.link_ttl", c.Auth.LinkTTL, d.Auth.LinkTTL},
		{"auth.email_link_ttl", c.Auth.EmailLinkTTL, d.Auth.EmailLinkTTL},
	}
	for _, s := range same {
		if s.got != s.want {
			t.Errorf("example %s = %v, default %v", s.key, s.got, s.want)
		}
	}
}

// commentedKey matches an alternative shown commented out ("# password: x");
// prose comments start with a capital letter or do not put a colon right
// after their first word.
var commentedKey = regexp.MustCompile(`(?m)^(\s*)# ?([a-z][a-z_]*:(?: .*)?)$`)

// TestExampleDocumentsEveryKey keeps the example from falling behind the
// struct: every key of Config appears in it, set or commented out.
func TestExampleDocumentsEveryKey(t *testing.T) {
	data, err := os.ReadFile(examplePath)
	if err != nil {
		t.Fatal(err)
	}
	uncommented := commentedKey.ReplaceAll(data, []byte("$1$2"))
	var root yaml.Node
	if err := yaml.Unmarshal(uncommented, &root); err != nil {
		t.Fatalf("the example with its commented-out keys restored is not YAML (keep alternatives as `# key: value` at the key's indentation): %v", err)
	}
	present := map[string]bool{}
	var walk func(n *yaml.Node, prefix string)
	walk = func(n *yaml.Node, prefix string) {
		switch n.Kind {
		case yaml.DocumentNode:
			for _, c := range n.Content {
				walk(c, prefix)
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				p := joinKey(prefix, n.Content[i].Value)
				present[p] = true
				walk(n.Content[i+1], p)
			}
		case yaml.SequenceNode:
			for _, c := range n.Content {
				walk(c, prefix+"[]")
			}
		}
	}
	walk(&root, "")

	want := keyPaths(reflect.TypeFor[Config]())
	if len(want) < 40 {
		t.Fatalf("keyPaths found only %d keys: %v", len(want), want)
	}
	for _, key := range want {
		if !present[key] {
			t.Errorf("%s: key %s is not documented", examplePath, key)
		}
	}
	// And nothing in the example that the struct does not have (the Load
	// test catches this for set keys; this covers commented ones).
	for key := range present {
		if !slices.Contains(want, key) && !slices.ContainsFunc(want, func(w string) bool { return strings.HasPrefix(w, key+".") || strings.HasPrefix(w, key+"[]") }) {
			t.Errorf("%s: %s is no key of Config", examplePath, key)
		}
	}
}
