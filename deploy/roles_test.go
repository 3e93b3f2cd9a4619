package deploy

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"commpulse/pipeline/store"
)

// roleUsers are the ClickHouse users of the access model for the deployed
// database.
func roleUsers() (admin, writer, analyst string) {
	m := store.AccessModel{Database: store.DefaultDatabase}
	return m.UserName(store.RoleAdmin), m.UserName(store.RoleWriter), m.UserName(store.RoleAnalyst)
}

var secretFileRE = regexp.MustCompile(`^\$__file\{/run/secrets/([A-Za-z0-9_.-]+)\}$`)

// Each compose service connects to ClickHouse as its role's user and
// mounts only that user's password: ingest and analyze as the writer, the
// migration as the admin (the server's bootstrap user, which applies the
// roles), Grafana as the analyst.
func TestComposeUsesRoles(t *testing.T) {
	admin, writer, analyst := roleUsers()
	c := loadCompose(t)
	want := map[string]string{"migrate": admin, "ingest": writer, "analyze": writer}
	secretOf := map[string]string{}
	for _, name := range sortedKeys(want) {
		s, ok := c.Services[name]
		if !ok {
			t.Fatalf("no compose service %s", name)
		}
		if got := s.Environment["COMMPULSE_CH_USER"]; got != want[name] {
			t.Errorf("%s: COMMPULSE_CH_USER %q, want %q", name, got, want[name])
		}
		pf, ok := strings.CutPrefix(s.Environment["COMMPULSE_CH_PASSWORD_FILE"], "/run/secrets/")
		if !ok {
			t.Errorf("%s: COMMPULSE_CH_PASSWORD_FILE is not a compose secret", name)
		}
		secretOf[want[name]] = pf
	}
	if ch := c.Services["clickhouse"]; ch.Environment["CLICKHOUSE_USER"] != admin ||
		ch.Environment["CLICKHOUSE_PASSWORD_FILE"] != "/run/secrets/"+secretOf[admin] {
		t.Errorf("clickhouse: bootstrap user %q with %q; want %s with the migrate job's password",
			ch.Environment["CLICKHOUSE_USER"], ch.Environment["CLICKHOUSE_PASSWORD_FILE"], admin)
	}
	// The migration creates the writer and analyst users from the password
	// files the services use.
	m := c.Services["migrate"]
	if m.Environment["COMMPULSE_ROLES"] != "true" {
		t.Error("migrate does not apply the roles (COMMPULSE_ROLES)")
	}
	var grafanaSecret string
	for _, ds := range loadDatasources(t) {
		if ds.Type != chPluginType {
			continue
		}
		if ds.JSONData.Username != analyst {
			t.Errorf("Grafana data source %s connects as %q; want the analyst %s", ds.Name, ds.JSONData.Username, analyst)
		}
		if ds.JSONData.DefaultDatabase != store.DefaultDatabase {
			t.Errorf("Grafana data source %s: database %q", ds.Name, ds.JSONData.DefaultDatabase)
		}
		sm := secretFileRE.FindStringSubmatch(ds.SecureJSONData.Password)
		if sm == nil {
			t.Errorf("Grafana data source %s: password %q is not a $__file{/run/secrets/...}", ds.Name, ds.SecureJSONData.Password)
			continue
		}
		grafanaSecret = sm[1]
	}
	if grafanaSecret == "" {
		t.Fatal("no ClickHouse data source in Grafana")
	}
	secretOf[analyst] = grafanaSecret
	if got := m.Environment["COMMPULSE_ROLES_WRITER_PASSWORD_FILE"]; got != "/run/secrets/"+secretOf[writer] {
		t.Errorf("migrate creates the writer from %q; ingest and analyze use /run/secrets/%s", got, secretOf[writer])
	}
	if got := m.Environment["COMMPULSE_ROLES_ANALYST_PASSWORD_FILE"]; got != "/run/secrets/"+secretOf[analyst] {
		t.Errorf("migrate creates the analyst from %q; Grafana uses /run/secrets/%s", got, secretOf[analyst])
	}
	// Least privilege for secrets: a service mounts the passwords it uses.
	mounts := map[string][]string{
		"ingest": {secretOf[writer]}, "analyze": {secretOf[writer], "noise_key"}, "grafana": {secretOf[analyst]},
		"clickhouse": {secretOf[admin]}, "migrate": {secretOf[admin], secretOf[writer], secretOf[analyst]},
	}
	for _, name := range sortedKeys(c.Services) {
		got := slices.Sorted(slices.Values(c.Services[name].Secrets))
		w := slices.Sorted(slices.Values(mounts[name]))
		if !slices.Equal(got, w) {
			t.Errorf("%s mounts secrets %v; want %v", name, got, w)
		}
	}
	if len(c.Secrets) != 4 || secretOf[admin] == secretOf[writer] || secretOf[writer] == secretOf[analyst] {
		t.Errorf("compose secrets %v: want one per user and analyze's noise key", sortedKeys(c.Secrets))
	}
	if got := c.Services["analyze"].Environment["COMMPULSE_NOISE_KEY_FILE"]; got != "/run/secrets/noise_key" {
		t.Errorf("analyze COMMPULSE_NOISE_KEY_FILE %q: its noise key must outlive the container", got)
	}
}

// On Kubernetes, ingest and analyze connect as the writer and the migrate
// Job as the admin, each with a Secret of its own.
func TestKubernetesUsesRoles(t *testing.T) {
	admin, writer, _ := roleUsers()
	m := loadManifests(t)
	secretOf := map[string]string{} // user -> Secret
	n := 0
	for _, nc := range m.containers() {
		env := m.env(t, nc)
		want := writer
		if nc.c.Args[0] == "migrate" {
			want = admin
		}
		n++
		if got := env["COMMPULSE_CH_USER"]; got != want {
			t.Errorf("%s: COMMPULSE_CH_USER %q, want %q", nc.where, got, want)
		}
		var secrets []string
		noiseKey := false
		for _, v := range nc.pod.Volumes {
			switch {
			case v.Secret == nil:
			case v.Secret.SecretName == "commpulse-noise-key": // not a user's password
				noiseKey = true
			default:
				secrets = append(secrets, v.Secret.SecretName)
			}
		}
		// analyze publishes: its noise key must outlive the pod.
		if nc.c.Args[0] == "analyze" && (!noiseKey || !strings.HasPrefix(env["COMMPULSE_NOISE_KEY_FILE"], "/etc/commpulse/noise/")) {
			t.Errorf("%s: no noise key from the commpulse-noise-key Secret (COMMPULSE_NOISE_KEY_FILE %q)", nc.where, env["COMMPULSE_NOISE_KEY_FILE"])
		}
		if len(secrets) != 1 {
			t.Errorf("%s: mounts Secrets %v; want the one of its user", nc.where, secrets)
			continue
		}
		if s, ok := secretOf[want]; ok && s != secrets[0] {
			t.Errorf("%s: user %s with Secret %s, elsewhere %s", nc.where, want, secrets[0], s)
		}
		secretOf[want] = secrets[0]
	}
	if n < 3 || secretOf[admin] == "" || secretOf[admin] == secretOf[writer] {
		t.Errorf("%d containers, Secrets %v; want migrate, ingest and analyze with an admin and a writer Secret", n, secretOf)
	}
}
