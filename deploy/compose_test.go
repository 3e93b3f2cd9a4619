package deploy

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

type composeFile struct {
	Name     string                    `yaml:"name"`
	Services map[string]composeService `yaml:"services"`
	Secrets  map[string]struct {
		File string `yaml:"file"`
	} `yaml:"secrets"`
	Volumes map[string]any `yaml:"volumes"`
}

type composeService struct {
	Image       string            `yaml:"image"`
	Build       any               `yaml:"build"`
	Command     []string          `yaml:"command"`
	Environment map[string]string `yaml:"environment"`
	Ports       []string          `yaml:"ports"`
	Expose      []string          `yaml:"expose"`
	Healthcheck *struct {
		Test []string `yaml:"test"`
	} `yaml:"healthcheck"`
	DependsOn map[string]struct {
		Condition string `yaml:"condition"`
	} `yaml:"depends_on"`
	Profiles []string `yaml:"profiles"`
	Secrets  []string `yaml:"secrets"`
	Volumes  []string `yaml:"volumes"`
	Restart  string   `yaml:"restart"`
	ReadOnly bool     `yaml:"read_only"`
	CapDrop  []string `yaml:"cap_drop"`
}

func loadCompose(t testing.TB) composeFile {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "docker-compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var c composeFile
	if err := yaml.Unmarshal(b, &c); err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	if len(c.Services) == 0 {
		t.Fatal("docker-compose.yml has no services")
	}
	return c
}

// commpulseServices are the services running the image the Dockerfile builds.
func (c composeFile) commpulseServices() []string {
	var out []string
	for name, s := range c.Services {
		if s.Build != nil {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func TestComposeImagesPinned(t *testing.T) {
	c := loadCompose(t)
	for _, name := range sortedKeys(c.Services) {
		s := c.Services[name]
		if s.Build != nil {
			// Built locally from the Dockerfile (checked by TestDockerfile).
			if repo, _ := splitImage(s.Image); strings.Contains(repo, "/") {
				t.Errorf("%s: built service tagged %q looks like a registry image", name, s.Image)
			}
			continue
		}
		repo, tag := splitImage(s.Image)
		if !exactVersion.MatchString(tag) {
			t.Errorf("%s: image %q is not pinned to an exact version", name, s.Image)
		}
		if repo == "clickhouse/clickhouse-server" && !versionAtLeast(tag, 25, 8) {
			t.Errorf("%s: ClickHouse %s; clickhouse-go v2 needs >= 25.8", name, tag)
		}
	}
	// The Grafana plugin is pinned too (GF_INSTALL_PLUGINS "id version").
	var plugins string
	for _, s := range c.Services {
		if v, ok := s.Environment["GF_INSTALL_PLUGINS"]; ok {
			plugins = v
		}
	}
	found := false
	for _, p := range strings.Split(plugins, ",") {
		id, ver, _ := strings.Cut(strings.TrimSpace(p), " ")
		if id == "grafana-clickhouse-datasource" {
			found = true
			if !exactVersion.MatchString(ver) {
				t.Errorf("Grafana plugin %s is not pinned: %q", id, p)
			}
		}
	}
	if !found {
		t.Errorf("GF_INSTALL_PLUGINS %q does not install grafana-clickhouse-datasource", plugins)
	}
}

func versionAtLeast(tag string, major, minor int) bool {
	parts := strings.SplitN(strings.TrimPrefix(tag, "v"), ".", 3)
	if len(parts) < 2 {
		return false
	}
	ma, err1 := strconv.Atoi(parts[0])
	mi, err2 := strconv.Atoi(parts[1])
	return err1 == nil && err2 == nil && (ma > major || ma == major && mi >= minor)
}

func TestComposeStartOrder(t *testing.T) {
	c := loadCompose(t)
	for _, name := range sortedKeys(c.Services) {
		s := c.Services[name]
		for _, dep := range sortedKeys(s.DependsOn) {
			d, ok := c.Services[dep]
			if !ok {
				t.Errorf("%s depends on unknown service %s", name, dep)
				continue
			}
			switch cond := s.DependsOn[dep].Condition; cond {
			case "service_healthy":
				if d.Healthcheck == nil || len(d.Healthcheck.Test) == 0 {
					t.Errorf("%s waits for %s to be healthy, but %s has no healthcheck", name, dep, dep)
				}
			case "service_completed_successfully":
				if d.Restart != "no" {
					t.Errorf("%s waits for one-shot %s to complete, but %s has restart %q", name, dep, dep, d.Restart)
				}
			default:
				t.Errorf("%s depends on %s with condition %q; want service_healthy or service_completed_successfully", name, dep, cond)
			}
			if len(s.Profiles) == 0 && len(d.Profiles) > 0 {
				t.Errorf("%s (default profile) depends on %s, which only runs in profiles %v", name, dep, d.Profiles)
			}
		}
	}
	// Every dependency graph compose accepts is acyclic; check ours is.
	order, err := topoSort(c)
	if err != nil {
		t.Fatal(err)
	}
	pos := map[string]int{}
	for i, n := range order {
		pos[n] = i
	}
	// The order the issue asks for.
	for _, pair := range [][2]string{{"kafka", "ingest"}, {"clickhouse", "migrate"}, {"migrate", "ingest"}, {"migrate", "analyze"}, {"ingest", "generate"}, {"prometheus", "grafana"}} {
		if pos[pair[0]] >= pos[pair[1]] {
			t.Errorf("%s does not start before %s (order %v)", pair[0], pair[1], order)
		}
	}
	// The generator is a demo: only in the demo profile.
	if g, ok := c.Services["generate"]; !ok || !slices.Contains(g.Profiles, "demo") {
		t.Error("no generate service in the demo profile")
	}
}

func topoSort(c composeFile) ([]string, error) {
	state := map[string]int{} // 1 visiting, 2 done
	var order []string
	var visit func(string, []string) error
	visit = func(n string, path []string) error {
		switch state[n] {
		case 1:
			return fmt.Errorf("depends_on cycle: %v", append(path, n))
		case 2:
			return nil
		}
		state[n] = 1
		for _, d := range sortedKeys(c.Services[n].DependsOn) {
			if err := visit(d, append(path, n)); err != nil {
				return err
			}
		}
		state[n] = 2
		order = append(order, n)
		return nil
	}
	for _, n := range sortedKeys(c.Services) {
		if err := visit(n, nil); err != nil {
			return nil, err
		}
	}
	return order, nil
}

// checkFlagEnv checks that every COMMPULSE_* variable of env is a flag of
// subcommand sub with a value of the flag's type.
func checkFlagEnv(t *testing.T, where, sub string, env map[string]string) {
	t.Helper()
	flags := subcommandFlags(t, sub)
	for _, k := range sortedKeys(env) {
		name, ok := envFlag(k)
		if !ok {
			t.Errorf("%s: variable %s is not a COMMPULSE_* flag variable", where, k)
			continue
		}
		f, ok := flags[name]
		if !ok {
			t.Errorf("%s: %s maps to --%s, which `commpulse %s` does not have", where, k, name, sub)
			continue
		}
		if err := validFlagValue(f.typ, env[k]); err != nil {
			t.Errorf("%s: %s=%q is not a valid %s for --%s: %v", where, k, env[k], typeName(f.typ), name, err)
		}
	}
}

func typeName(typ string) string {
	if typ == "" {
		return "bool"
	}
	return typ
}

// validFlagValue checks v against the type word `-h` prints for a flag.
func validFlagValue(typ, v string) error {
	var err error
	switch typ {
	case "":
		_, err = strconv.ParseBool(v)
	case "int", "int64", "uint", "uint64":
		_, err = strconv.ParseInt(v, 10, 64)
	case "float", "float64":
		_, err = strconv.ParseFloat(v, 64)
	case "duration":
		_, err = time.ParseDuration(v)
	case "value":
		if strings.Trim(v, ", ") == "" {
			err = fmt.Errorf("empty list")
		}
	}
	return err
}

func TestComposeCommpulseEnvIsFlags(t *testing.T) {
	c := loadCompose(t)
	services := c.commpulseServices()
	if len(services) < 3 {
		t.Fatalf("commpulse services %v; want at least migrate, ingest and analyze", services)
	}
	for _, name := range services {
		t.Run(name, func(t *testing.T) {
			s := c.Services[name]
			if len(s.Command) == 0 {
				t.Fatalf("%s: no command (subcommand)", name)
			}
			checkFlagEnv(t, "compose service "+name, s.Command[0], s.Environment)
			if !s.ReadOnly || !slices.Contains(s.CapDrop, "ALL") {
				t.Errorf("%s: want read_only and cap_drop ALL", name)
			}
		})
	}
}

func hostPort(t *testing.T, where, addr string) (string, string) {
	t.Helper()
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Errorf("%s: %q: %v", where, addr, err)
	}
	return h, p
}

var urlHostPort = regexp.MustCompile(`^https?://([^/:]+):(\d+)(/.*)?$`)

// TestComposeWiring checks that the addresses, ports, secrets and mounts of
// the services agree with each other, with prometheus.yml and with the
// Grafana data sources.
func TestComposeWiring(t *testing.T) {
	c := loadCompose(t)
	prom := loadPrometheusConfig(t)
	scraped := map[string]string{} // "host:port" -> job
	for _, sc := range prom.ScrapeConfigs {
		for _, st := range sc.StaticConfigs {
			for _, tg := range st.Targets {
				scraped[tg] = sc.JobName
			}
		}
	}
	for _, name := range c.commpulseServices() {
		s := c.Services[name]
		where := "compose service " + name
		for _, b := range strings.Split(s.Environment["COMMPULSE_BROKERS"], ",") {
			if b == "" {
				continue
			}
			h, p := hostPort(t, where, b)
			k, ok := c.Services[h]
			if !ok {
				t.Errorf("%s: broker %s is not a service", where, b)
				continue
			}
			if !strings.Contains(k.Environment["KAFKA_ADVERTISED_LISTENERS"], "//"+h+":"+p) {
				t.Errorf("%s: broker %s is not among %s's advertised listeners %q", where, b, h, k.Environment["KAFKA_ADVERTISED_LISTENERS"])
			}
		}
		for _, a := range strings.Split(s.Environment["COMMPULSE_CH_ADDR"], ",") {
			if a == "" {
				continue
			}
			h, p := hostPort(t, where, a)
			ch, ok := c.Services[h]
			if !ok || !strings.HasPrefix(ch.Image, "clickhouse/clickhouse-server:") {
				t.Errorf("%s: ClickHouse address %s is not a ClickHouse service", where, a)
			}
			if p != "9000" {
				t.Errorf("%s: ClickHouse address %s: the server's native port is 9000", where, a)
			}
		}
		if pf := s.Environment["COMMPULSE_CH_PASSWORD_FILE"]; pf != "" {
			secret, ok := strings.CutPrefix(pf, "/run/secrets/")
			if !ok || !slices.Contains(s.Secrets, secret) {
				t.Errorf("%s: password file %s is not one of its secrets %v", where, pf, s.Secrets)
			} else if _, err := os.Stat(filepath.Join(root, c.Secrets[secret].File)); err != nil {
				t.Errorf("%s: secret %s: %v", where, secret, err)
			}
		}
		addr, serves := s.Environment["COMMPULSE_HTTP_ADDR"]
		if !serves {
			if s.Restart != "no" {
				t.Errorf("%s: a long-running commpulse service without COMMPULSE_HTTP_ADDR has no metrics or probes", where)
			}
			continue
		}
		_, port := hostPort(t, where, addr)
		if !slices.Contains(s.Expose, port) {
			t.Errorf("%s: serves on %s but exposes %v", where, port, s.Expose)
		}
		if s.Healthcheck == nil {
			t.Errorf("%s: serves /healthz and /readyz but has no healthcheck", where)
		} else {
			test := s.Healthcheck.Test
			if len(test) < 3 || test[0] != "CMD" || test[1] != "/usr/local/bin/probe" {
				t.Errorf("%s: healthcheck %v; want [CMD /usr/local/bin/probe URL] (the image has no shell)", where, test)
			} else if m := urlHostPort.FindStringSubmatch(test[2]); m == nil || m[2] != port || (m[3] != "/healthz" && m[3] != "/readyz") {
				t.Errorf("%s: healthcheck URL %s does not probe /healthz or /readyz on port %s", where, test[2], port)
			}
		}
		job, ok := scraped[name+":"+port]
		if !ok {
			t.Errorf("%s: prometheus.yml does not scrape %s:%s", where, name, port)
		} else if job != "commpulse-"+name {
			t.Errorf("%s: scraped as job %q; the alert rules expect commpulse-%s", where, job, name)
		}
	}
	// Every target Prometheus scrapes or alerts to is a service port.
	targets := append([]string{}, prom.alertmanagerTargets()...)
	for tg := range scraped {
		targets = append(targets, tg)
	}
	for _, tg := range targets {
		h, _ := hostPort(t, "prometheus.yml", tg)
		if _, ok := c.Services[h]; !ok && h != "localhost" {
			t.Errorf("prometheus.yml target %s is not a compose service", tg)
		}
	}
	// Grafana's data sources point at services.
	for _, ds := range loadDatasources(t) {
		host := ds.JSONData.Host
		if m := urlHostPort.FindStringSubmatch(ds.URL); m != nil {
			host = m[1]
		}
		if _, ok := c.Services[host]; !ok {
			t.Errorf("Grafana data source %s points at %q, not a compose service", ds.Name, host)
		}
	}
	// Bind mounts exist in the repository.
	for _, name := range sortedKeys(c.Services) {
		for _, v := range c.Services[name].Volumes {
			src, _, _ := strings.Cut(v, ":")
			if strings.HasPrefix(src, "./") {
				if _, err := os.Stat(filepath.Join(root, src)); err != nil {
					t.Errorf("%s: volume %s: %v", name, v, err)
				}
			} else if _, ok := c.Volumes[src]; !ok {
				t.Errorf("%s: named volume %s is not declared", name, src)
			}
		}
	}
}
