package metrics_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// The shipped Prometheus config is valid, with the rule file it mounts.
func TestDeployPrometheusConfig(t *testing.T) {
	promtool := tool(t, "promtool")
	raw, err := os.ReadFile(filepath.Join("..", "deploy", "prometheus.yml"))
	if err != nil {
		t.Fatal(err)
	}
	rules, err := filepath.Abs("alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	const mounted = "/etc/prometheus/oneonone-alerts.yml"
	if !strings.Contains(string(raw), mounted) {
		t.Fatalf("deploy/prometheus.yml does not load %s", mounted)
	}
	cfg := filepath.Join(t.TempDir(), "prometheus.yml")
	if err := os.WriteFile(cfg, []byte(strings.ReplaceAll(string(raw), mounted, rules)), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(promtool, "check", "config", cfg).CombinedOutput(); err != nil {
		t.Errorf("promtool check config: %v\n%s", err, out)
	}
}

// Every file docker-compose.yml mounts from the repository exists, and the
// dashboard lands where the provisioning file looks for it.
func TestDeployComposeMounts(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "deploy", "docker-compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var compose struct {
		Services map[string]struct {
			Volumes []string `yaml:"volumes"`
		} `yaml:"services"`
	}
	if err := yaml.Unmarshal(raw, &compose); err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	for _, want := range []string{"oneonone", "prometheus", "grafana"} {
		if _, ok := compose.Services[want]; !ok {
			t.Errorf("docker-compose.yml has no %s service", want)
		}
	}
	targets := map[string]string{}
	for name, svc := range compose.Services {
		for _, v := range svc.Volumes {
			src, rest, _ := strings.Cut(v, ":")
			dst, _, _ := strings.Cut(rest, ":")
			targets[dst] = src
			if !strings.HasPrefix(src, ".") {
				continue // a named volume
			}
			if _, err := os.Stat(filepath.Join("..", "deploy", src)); err != nil {
				t.Errorf("service %s mounts %s: %v", name, src, err)
			}
		}
	}
	prov, err := os.ReadFile(filepath.Join("grafana", "provisioning", "dashboards", "oneonone.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var p struct {
		Providers []struct {
			Options struct {
				Path string `yaml:"path"`
			} `yaml:"options"`
		} `yaml:"providers"`
	}
	if err := yaml.Unmarshal(prov, &p); err != nil || len(p.Providers) != 1 {
		t.Fatalf("dashboard provisioning: %v %+v", err, p)
	}
	src, ok := targets[p.Providers[0].Options.Path]
	if !ok {
		t.Fatalf("nothing is mounted at the provisioned path %s", p.Providers[0].Options.Path)
	}
	if _, err := os.Stat(filepath.Join("..", "deploy", src, "oneonone.json")); err != nil {
		t.Errorf("the provisioned dashboard folder lacks oneonone.json: %v", err)
	}
}
