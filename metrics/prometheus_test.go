package metrics_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// dashboardExprs returns every PromQL expression in the dashboard, by panel
// title, with Grafana's variables replaced as Grafana would for "All".
func dashboardExprs(t *testing.T) map[string]string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("grafana", "oneonone.json"))
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		SchemaVersion int `json:"schemaVersion"`
		Panels        []struct {
			Title   string `json:"title"`
			Targets []struct {
				RefID string `json:"refId"`
				Expr  string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
		Templating struct {
			List []struct {
				Name       string `json:"name"`
				Type       string `json:"type"`
				Query      any    `json:"query"`
				Definition string `json:"definition"`
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatalf("dashboard JSON: %v", err)
	}
	if dash.SchemaVersion < 36 {
		t.Errorf("schemaVersion %d, want a current one", dash.SchemaVersion)
	}
	vars := map[string]string{}
	for _, v := range dash.Templating.List {
		vars[v.Name] = v.Type + " " + v.Definition
	}
	if vars["DS_PROMETHEUS"] != "datasource " || vars["org_unit"] != "query label_values(oneonone_series, org_unit)" {
		t.Errorf("dashboard variables = %q, want a DS_PROMETHEUS data source and org_unit from label_values(oneonone_series, org_unit)", vars)
	}
	replacer := strings.NewReplacer(
		"$org_unit", ".*", "${org_unit}", ".*",
		"$__rate_interval", "1m", "${__rate_interval}", "1m",
		"$__range", "1h", "${__range}", "1h",
		"$__interval", "15s", "${__interval}", "15s",
	)
	out := map[string]string{}
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			if tg.Expr == "" {
				continue
			}
			expr := replacer.Replace(tg.Expr)
			if strings.Contains(expr, "$") {
				t.Errorf("panel %q: unreplaced variable in %s", p.Title, expr)
			}
			out[p.Title+" / "+tg.RefID] = expr
		}
	}
	return out
}

// TestDashboardAgainstPrometheus starts a real Prometheus scraping the
// scenario every second, with the shipped rules loaded, and runs every
// dashboard query through its HTTP API.
func TestDashboardAgainstPrometheus(t *testing.T) {
	bin := tool(t, "prometheus")
	exprs := dashboardExprs(t)
	m := scenarioMetrics(t, openStore(t), false)
	target := httptest.NewServer(m.Handler())
	defer target.Close()

	dir := t.TempDir()
	rules, err := filepath.Abs("alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	config := fmt.Sprintf(`global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: [%q]
scrape_configs:
  - job_name: oneonone
    metrics_path: /metrics
    static_configs:
      - targets: [%q]
`, rules, strings.TrimPrefix(target.URL, "http://"))
	// The recording rules run every minute as shipped; the test wants them now.
	shipped, err := os.ReadFile(rules)
	if err != nil {
		t.Fatal(err)
	}
	fast := filepath.Join(dir, "alerts.yml")
	if err := os.WriteFile(fast, []byte(strings.ReplaceAll(string(shipped), "interval: 1m", "interval: 1s")), 0o644); err != nil {
		t.Fatal(err)
	}
	config = strings.Replace(config, strconv.Quote(rules), strconv.Quote(fast), 1)
	cfgPath := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgPath, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin,
		"--config.file="+cfgPath,
		"--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr,
		"--log.level=warn")
	var logs strings.Builder
	cmd.Stdout, cmd.Stderr = &logs, &logs
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cancel()
		cmd.Wait() //nolint:errcheck // stopped by us
		if t.Failed() {
			t.Logf("prometheus log:\n%s", logs.String())
		}
	}()
	api := "http://" + addr

	// Wait for enough scrapes that rate() over 1m has two samples, and for
	// the recording rules to have run.
	deadline := time.Now().Add(20 * time.Second)
	for {
		res, err := query(api, `count_over_time(oneonone_build_info[1m]) >= 3 and on() count(org_unit:oneonone_cadence_adherence:ratio) > 0`)
		if err == nil && len(res) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Prometheus has no samples after 20s (last error %v)", err)
		}
		time.Sleep(250 * time.Millisecond)
	}

	for name, expr := range exprs {
		res, err := query(api, expr)
		if err != nil {
			t.Errorf("%s: %s: %v", name, expr, err)
			continue
		}
		if len(res) == 0 {
			t.Errorf("%s: %s returned no data", name, expr)
		}
	}

	// The org_unit variable's values: the units of the scenario, "design"
	// folded into "other".
	units, err := labelValues(api, "org_unit", "oneonone_series")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(units, ",") != "mobile,other,platform" {
		t.Errorf("org_unit values = %v, want mobile, other, platform", units)
	}

	// Adherence as Prometheus reports it, against the hand computation in
	// seedScenario: platform 9/15, mobile 8/10, other 1/2.
	for _, q := range []string{`oneonone_cadence_adherence_ratio{org_unit="%s"}`, `org_unit:oneonone_cadence_adherence:ratio{org_unit="%s"}`} {
		for unit, want := range map[string]float64{"platform": 9.0 / 15, "mobile": 8.0 / 10, "other": 1.0 / 2} {
			expr := fmt.Sprintf(q, unit)
			res, err := query(api, expr)
			if err != nil || len(res) != 1 {
				t.Errorf("%s: %v, %d results", expr, err, len(res))
				continue
			}
			if got := res[0].value(); math.Abs(got-want) > 1e-9 {
				t.Errorf("%s = %v, want %v", expr, got, want)
			}
		}
	}
	res, err := query(api, `:oneonone_cadence_adherence:ratio`)
	if err != nil || len(res) != 1 || math.Abs(res[0].value()-18.0/27) > 1e-9 {
		t.Errorf("organisation adherence = %v, %v; want 18/27", res, err)
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

type sample struct {
	Metric map[string]string `json:"metric"`
	Value  [2]any            `json:"value"`
}

func (s sample) value() float64 {
	str, _ := s.Value[1].(string)
	v, err := strconv.ParseFloat(str, 64)
	if err != nil {
		return math.NaN()
	}
	return v
}

// query runs an instant query; an error means it did not parse or run.
func query(api, expr string) ([]sample, error) {
	resp, err := http.Get(api + "/api/v1/query?query=" + url.QueryEscape(expr))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var body struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			ResultType string          `json:"resultType"`
			Result     json.RawMessage `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return nil, err
	}
	if body.Status != "success" {
		return nil, fmt.Errorf("status %s: %s", body.Status, body.Error)
	}
	if body.Data.ResultType != "vector" {
		return nil, fmt.Errorf("result type %s, want vector", body.Data.ResultType)
	}
	var out []sample
	err = json.Unmarshal(body.Data.Result, &out)
	return out, err
}

func labelValues(api, label, match string) ([]string, error) {
	resp, err := http.Get(api + "/api/v1/label/" + label + "/values?match[]=" + url.QueryEscape(match))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var body struct {
		Status string   `json:"status"`
		Data   []string `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return nil, err
	}
	if body.Status != "success" {
		return nil, fmt.Errorf("label values: status %s", body.Status)
	}
	return body.Data, nil
}
