package deploy

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

type prometheusConfig struct {
	Global struct {
		ScrapeInterval     string `yaml:"scrape_interval"`
		EvaluationInterval string `yaml:"evaluation_interval"`
	} `yaml:"global"`
	RuleFiles []string `yaml:"rule_files"`
	Alerting  struct {
		Alertmanagers []struct {
			StaticConfigs []struct {
				Targets []string `yaml:"targets"`
			} `yaml:"static_configs"`
		} `yaml:"alertmanagers"`
	} `yaml:"alerting"`
	ScrapeConfigs []struct {
		JobName       string `yaml:"job_name"`
		StaticConfigs []struct {
			Targets []string `yaml:"targets"`
		} `yaml:"static_configs"`
	} `yaml:"scrape_configs"`
}

func (p prometheusConfig) alertmanagerTargets() []string {
	var out []string
	for _, am := range p.Alerting.Alertmanagers {
		for _, sc := range am.StaticConfigs {
			out = append(out, sc.Targets...)
		}
	}
	return out
}

func loadPrometheusConfig(t testing.TB) prometheusConfig {
	t.Helper()
	var p prometheusConfig
	decodeYAMLFile(t, filepath.Join(root, "deploy/prometheus/prometheus.yml"), &p, true)
	return p
}

// decodeYAMLFile decodes one YAML document; strict rejects unknown fields.
func decodeYAMLFile(t testing.TB, path string, v any, strict bool) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dec := yaml.NewDecoder(f)
	dec.KnownFields(strict)
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

type ruleFile struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []struct {
			Record      string            `yaml:"record"`
			Alert       string            `yaml:"alert"`
			Expr        string            `yaml:"expr"`
			For         string            `yaml:"for"`
			Labels      map[string]string `yaml:"labels"`
			Annotations map[string]string `yaml:"annotations"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

func ruleFiles(t testing.TB) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(root, "deploy/prometheus/rules/*.rules.yml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no rule files (%v)", err)
	}
	return files
}

func loadRules(t testing.TB, path string) ruleFile {
	t.Helper()
	var r ruleFile
	decodeYAMLFile(t, path, &r, true)
	return r
}

// TestAlertRulesConventions checks what promtool does not: every alert has
// the labels Alertmanager routes on and a summary, and each rule file has a
// promtool unit test file.
func TestAlertRulesConventions(t *testing.T) {
	severities := map[string]bool{"critical": true, "warning": true, "info": true}
	categories := map[string]bool{"pipeline": true, "sentiment": true, "volume": true, "network": true}
	seen := map[string]bool{}
	alerts := 0
	for _, path := range ruleFiles(t) {
		for _, g := range loadRules(t, path).Groups {
			for _, r := range g.Rules {
				name := r.Alert + r.Record
				if seen[name] && r.Alert != "" {
					t.Errorf("%s: alert %s defined twice", path, name)
				}
				seen[name] = true
				if r.Alert == "" {
					if !strings.HasPrefix(r.Record, "commpulse:") {
						t.Errorf("%s: recording rule %s is not named commpulse:...", path, r.Record)
					}
					continue
				}
				alerts++
				if !strings.HasPrefix(r.Alert, "Commpulse") {
					t.Errorf("%s: alert %s is not named Commpulse...", path, r.Alert)
				}
				if !severities[r.Labels["severity"]] || !categories[r.Labels["category"]] {
					t.Errorf("%s: alert %s labels %v; want a severity in %v and a category in %v", path, r.Alert, r.Labels, severities, categories)
				}
				if r.Annotations["summary"] == "" || r.Annotations["description"] == "" {
					t.Errorf("%s: alert %s lacks a summary or description", path, r.Alert)
				}
			}
		}
		test := filepath.Join(filepath.Dir(path), "..", "tests", strings.TrimSuffix(filepath.Base(path), ".rules.yml")+"_test.yml")
		if _, err := os.Stat(test); err != nil {
			t.Errorf("%s has no promtool unit test: %v", path, err)
		}
	}
	if alerts < 10 {
		t.Errorf("only %d alerts", alerts)
	}
	// Each alert appears in some unit test as alertname (a firing case).
	tested := map[string]bool{}
	tests, _ := filepath.Glob(filepath.Join(root, "deploy/prometheus/tests/*_test.yml"))
	for _, p := range tests {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(b), "\n") {
			if name, ok := strings.CutPrefix(strings.TrimSpace(line), "alertname: "); ok {
				tested[name] = true
			}
		}
	}
	for name := range seen {
		if strings.HasPrefix(name, "Commpulse") && !tested[name] {
			t.Errorf("alert %s has no promtool unit test", name)
		}
	}
}

// TestPromtool runs promtool on the rules, their unit tests and the
// Prometheus configuration when promtool is installed. scripts/check-deploy.sh
// installs it and runs the same checks, so CI does not depend on this test
// finding it.
func TestPromtool(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool not installed (apt-get install prometheus); scripts/check-deploy.sh runs these checks")
	}
	files := ruleFiles(t)
	tests, _ := filepath.Glob(filepath.Join(root, "deploy/prometheus/tests/*_test.yml"))
	for _, args := range [][]string{
		append([]string{"check", "rules"}, files...),
		append([]string{"test", "rules"}, tests...),
	} {
		out, err := exec.Command(promtool, args...).CombinedOutput()
		if err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args[:2], " "), err, out)
		}
	}
}

type datasource struct {
	Name     string `yaml:"name"`
	UID      string `yaml:"uid"`
	Type     string `yaml:"type"`
	URL      string `yaml:"url"`
	JSONData struct {
		Host            string `yaml:"host"`
		Username        string `yaml:"username"`
		DefaultDatabase string `yaml:"defaultDatabase"`
	} `yaml:"jsonData"`
	SecureJSONData struct {
		Password string `yaml:"password"`
	} `yaml:"secureJsonData"`
}

func loadDatasources(t testing.TB) []datasource {
	t.Helper()
	var f struct {
		Datasources []datasource `yaml:"datasources"`
	}
	decodeYAMLFile(t, filepath.Join(root, "deploy/grafana/provisioning/datasources/datasources.yml"), &f, false)
	if len(f.Datasources) == 0 {
		t.Fatal("no Grafana data sources")
	}
	return f.Datasources
}

// dashboardTarget is one query of a dashboard panel.
type dashboardTarget struct {
	dashboard, panel string
	dsUID, expr      string
}

func dashboardTargets(t testing.TB) []dashboardTarget {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(root, "deploy/grafana/dashboards/*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no dashboards (%v)", err)
	}
	type panel struct {
		Title      string `json:"title"`
		Type       string `json:"type"`
		Datasource *struct {
			UID string `json:"uid"`
		} `json:"datasource"`
		Targets []struct {
			Expr       string `json:"expr"`
			Datasource *struct {
				UID string `json:"uid"`
			} `json:"datasource"`
		} `json:"targets"`
		Panels []json.RawMessage `json:"panels"`
	}
	var out []dashboardTarget
	var walk func(file string, raw json.RawMessage)
	walk = func(file string, raw json.RawMessage) {
		var p panel
		if err := json.Unmarshal(raw, &p); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		for _, tg := range p.Targets {
			uid := ""
			if tg.Datasource != nil {
				uid = tg.Datasource.UID
			} else if p.Datasource != nil {
				uid = p.Datasource.UID
			}
			out = append(out, dashboardTarget{dashboard: filepath.Base(file), panel: p.Title, dsUID: uid, expr: tg.Expr})
		}
		for _, sub := range p.Panels {
			walk(file, sub)
		}
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var d struct {
			UID    string            `json:"uid"`
			Title  string            `json:"title"`
			Panels []json.RawMessage `json:"panels"`
		}
		if err := json.Unmarshal(b, &d); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if d.UID == "" || d.Title == "" {
			t.Errorf("%s: dashboard without uid or title", f)
		}
		for _, p := range d.Panels {
			walk(f, p)
		}
	}
	return out
}
