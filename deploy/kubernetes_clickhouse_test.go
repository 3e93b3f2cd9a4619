package deploy

import (
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"commpulse/internal/chlocal"
	"commpulse/pipeline/store"
)

// The clickhouse-cluster overlay: the base plus ClickHouse Keeper and a
// replicated, sharded ClickHouse cluster, with the base's ClickHouse
// ConfigMap patched to use it. Nothing here runs Kubernetes: the tests
// check that the pieces name each other consistently (pods, DNS names,
// macros, remote_servers, Keeper nodes, Secrets, the commpulse flags).

const clusterOverlay = "deploy/kubernetes/clickhouse-cluster"

// overlay is the overlay's kustomization and the manifests it renders:
// the base's objects, the overlay's, and the patches applied.
type overlay struct {
	kust overlayKustomization
	m    manifests
}

func loadClusterOverlay(t *testing.T) overlay {
	t.Helper()
	dir := filepath.Join(root, clusterOverlay)
	var o overlay
	decodeYAMLFile(t, filepath.Join(dir, "kustomization.yaml"), &o.kust, true)
	if o.kust.Namespace != "commpulse" {
		t.Fatalf("overlay namespace %q", o.kust.Namespace)
	}
	o.m = loadManifests(t)
	for _, r := range o.kust.Resources {
		if r == "../" {
			continue // the base, loaded above
		}
		path := filepath.Join(dir, r)
		if _, err := os.Stat(path); err != nil {
			t.Fatalf("overlay resource %s: %v", r, err)
		}
		o.m.decodeFile(t, path, o.kust.Namespace)
	}
	for _, p := range o.kust.Patches {
		if p.Path == "" {
			t.Fatalf("overlay patch %q: this test applies patch files only", p.Patch)
		}
		o.applyPatch(t, filepath.Join(dir, p.Path))
	}
	return o
}

// applyPatch applies a strategic-merge patch the way kustomize does for the
// kinds the overlay patches (a ConfigMap's data: keys set or replaced). A
// patch of any other kind fails the test until it is supported here.
func (o *overlay) applyPatch(t *testing.T, path string) {
	t.Helper()
	var h header
	decodeYAMLFile(t, path, &h, false)
	switch h.Kind {
	case "ConfigMap":
		var p k8sConfigMap
		decodeYAMLFile(t, path, &p, true)
		cm, ok := o.m.configMaps[p.Metadata.Name]
		if !ok || p.Metadata.Namespace != o.kust.Namespace {
			t.Fatalf("patch %s: ConfigMap %s/%s is not in the manifests", filepath.Base(path), p.Metadata.Namespace, p.Metadata.Name)
		}
		patched := *cm
		patched.Data = map[string]string{}
		for k, v := range cm.Data {
			patched.Data[k] = v
		}
		for k, v := range p.Data {
			patched.Data[k] = v
		}
		o.m.configMaps[p.Metadata.Name] = &patched
	default:
		t.Fatalf("patch %s of a %s: not supported by this test", filepath.Base(path), h.Kind)
	}
}

// xmlValue is a config element whose value is its text or, with from_env,
// an environment variable of the server.
type xmlValue struct {
	FromEnv string `xml:"from_env,attr"`
	Text    string `xml:",chardata"`
}

type chReplica struct {
	Host     string    `xml:"host"`
	Port     int       `xml:"port"`
	User     string    `xml:"user"`
	Password *xmlValue `xml:"password"`
}

type chShard struct {
	InternalReplication string      `xml:"internal_replication"`
	Replicas            []chReplica `xml:"replica"`
}

type chCluster struct {
	XMLName xml.Name
	Secret  *string   `xml:"secret"`
	Shards  []chShard `xml:"shard"`
}

type keeperNode struct {
	Host string `xml:"host"`
	Port int    `xml:"port"`
}

type raftServer struct {
	ID       int    `xml:"id"`
	Hostname string `xml:"hostname"`
	Port     int    `xml:"port"`
}

type macro struct {
	XMLName xml.Name
	xmlValue
}

// chConfig is the part of a ClickHouse server or Keeper config file the
// tests read. Several files (config.d) merge into one; a section set in two
// files is an error here, so that nothing depends on ClickHouse's merge
// rules.
type chConfig struct {
	XMLName       xml.Name `xml:"clickhouse"`
	Path          string   `xml:"path"`
	RemoteServers *struct {
		Clusters []chCluster `xml:",any"`
	} `xml:"remote_servers"`
	Zookeeper *struct {
		Nodes []keeperNode `xml:"node"`
	} `xml:"zookeeper"`
	Macros *struct {
		Items []macro `xml:",any"`
	} `xml:"macros"`
	InterserverHTTPHost        *xmlValue `xml:"interserver_http_host"`
	InterserverHTTPPort        int       `xml:"interserver_http_port"`
	InterserverHTTPCredentials *struct {
		User     string    `xml:"user"`
		Password *xmlValue `xml:"password"`
	} `xml:"interserver_http_credentials"`
	Users *struct {
		Default *struct {
			Networks struct {
				IP []string `xml:"ip"`
			} `xml:"networks"`
		} `xml:"default"`
	} `xml:"users"`
	KeeperServer *struct {
		TCPPort             int      `xml:"tcp_port"`
		ServerID            xmlValue `xml:"server_id"`
		LogStoragePath      string   `xml:"log_storage_path"`
		SnapshotStoragePath string   `xml:"snapshot_storage_path"`
		HTTPControl         struct {
			Port      int `xml:"port"`
			Readiness struct {
				Endpoint string `xml:"endpoint"`
			} `xml:"readiness"`
		} `xml:"http_control"`
		Raft struct {
			Servers []raftServer `xml:"server"`
		} `xml:"raft_configuration"`
	} `xml:"keeper_server"`
	fromEnv []string // every from_env attribute of the files
}

var fromEnvRE = regexp.MustCompile(`from_env="([^"]*)"`)

// parseConfigFiles decodes and merges config files (name -> XML text).
func parseConfigFiles(t *testing.T, where string, files map[string]string) chConfig {
	t.Helper()
	var out chConfig
	merged := reflect.ValueOf(&out).Elem()
	for _, name := range sortedKeys(files) {
		var c chConfig
		if err := xml.Unmarshal([]byte(files[name]), &c); err != nil {
			t.Fatalf("%s %s: %v", where, name, err)
		}
		v := reflect.ValueOf(c)
		for i := range v.NumField() {
			f := v.Type().Field(i)
			if !f.IsExported() || f.Name == "XMLName" || v.Field(i).IsZero() {
				continue
			}
			if !merged.Field(i).IsZero() {
				t.Errorf("%s: %s sets <%s> again", where, name, f.Tag.Get("xml"))
			}
			merged.Field(i).Set(v.Field(i))
		}
		for _, m := range fromEnvRE.FindAllStringSubmatch(files[name], -1) {
			out.fromEnv = append(out.fromEnv, m[1])
		}
	}
	return out
}

// envSource is where a container's variable comes from: a value, or a
// Secret's key.
type envSource struct {
	value     string
	secret    string // Secret name
	secretKey string // its key
}

var envRefRE = regexp.MustCompile(`\$\(([A-Za-z_][A-Za-z0-9_]*)\)`)

// podEnv resolves a container's env for the pod named pod: fieldRef
// metadata.name is the pod name, $(VAR) expands earlier variables (as the
// kubelet does), secretKeyRef names the Secret.
func podEnv(t *testing.T, where string, c container, pod string) map[string]envSource {
	t.Helper()
	env := map[string]envSource{}
	for _, e := range c.Env {
		switch {
		case e.ValueFrom == nil:
			env[e.Name] = envSource{value: envRefRE.ReplaceAllStringFunc(e.Value, func(ref string) string {
				name := envRefRE.FindStringSubmatch(ref)[1]
				src, ok := env[name]
				if !ok || src.secret != "" {
					t.Errorf("%s: %s refers to %s, which is no earlier plain variable", where, e.Name, ref)
				}
				return src.value
			})}
		case e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "metadata.name":
			env[e.Name] = envSource{value: pod}
		case e.ValueFrom.SecretKeyRef != nil:
			env[e.Name] = envSource{secret: e.ValueFrom.SecretKeyRef.Name, secretKey: e.ValueFrom.SecretKeyRef.Key}
		default:
			t.Errorf("%s: env %s from %+v: not understood by this test", where, e.Name, e.ValueFrom)
		}
	}
	return env
}

// resolve returns a config value in a pod's environment.
func (v xmlValue) resolve(t *testing.T, where string, env map[string]envSource) string {
	t.Helper()
	if v.FromEnv == "" {
		return strings.TrimSpace(v.Text)
	}
	src, ok := env[v.FromEnv]
	if !ok {
		t.Errorf("%s: from_env %s is not set in the container", where, v.FromEnv)
	}
	if src.secret != "" {
		t.Errorf("%s: %s is a secret where a plain value is expected", where, v.FromEnv)
	}
	return src.value
}

// checkSecretValue checks that a password element comes from the
// environment, from a key of a Secret of the manifests, and is not inline.
func checkSecretValue(t *testing.T, m manifests, where string, v *xmlValue, env map[string]envSource) (secret string) {
	t.Helper()
	if v == nil {
		t.Errorf("%s: no password", where)
		return ""
	}
	if strings.TrimSpace(v.Text) != "" || v.FromEnv == "" {
		t.Errorf("%s: password inline (%q) instead of from_env", where, v.Text)
		return ""
	}
	src, ok := env[v.FromEnv]
	if !ok || src.secret == "" {
		t.Errorf("%s: password from_env %s is not a secretKeyRef of the container", where, v.FromEnv)
		return ""
	}
	s, ok := m.secrets[src.secret]
	if !ok {
		t.Errorf("%s: Secret %s is not in the manifests", where, src.secret)
		return ""
	}
	if _, ok := s.StringData[src.secretKey]; !ok {
		if _, ok := s.Data[src.secretKey]; !ok {
			t.Errorf("%s: Secret %s has no key %s", where, src.secret, src.secretKey)
		}
	}
	return src.secret + "/" + src.secretKey
}

// mountedConfig returns the files of the ConfigMap mounted at dir in the
// container.
func mountedConfig(t *testing.T, m manifests, where string, pod podSpec, c container, dir string) map[string]string {
	t.Helper()
	for _, vm := range c.VolumeMounts {
		if vm.MountPath != dir {
			continue
		}
		if !vm.ReadOnly {
			t.Errorf("%s: config mount %s is writable", where, dir)
		}
		for _, v := range pod.Volumes {
			if v.Name == vm.Name && v.ConfigMap != nil {
				cm, ok := m.configMaps[v.ConfigMap.Name]
				if !ok {
					t.Fatalf("%s: ConfigMap %s is not in the manifests", where, v.ConfigMap.Name)
				}
				return cm.Data
			}
		}
	}
	t.Fatalf("%s: no ConfigMap mounted at %s", where, dir)
	return nil
}

// claimMount returns where the container mounts its volumeClaimTemplate
// named name.
func claimMount(t *testing.T, where string, ss *k8sStatefulSet, c container, name string) string {
	t.Helper()
	found := false
	for _, vct := range ss.Spec.VolumeClaimTemplates {
		found = found || vct.Metadata.Name == name
		if vct.Metadata.Name == name && !quantity.MatchString(vct.Spec.Resources.Requests["storage"]) {
			t.Errorf("%s: volumeClaimTemplate %s requests storage %q", where, name, vct.Spec.Resources.Requests["storage"])
		}
	}
	if !found {
		t.Fatalf("%s: no volumeClaimTemplate %s", where, name)
	}
	for _, vm := range c.VolumeMounts {
		if vm.Name == name {
			return vm.MountPath
		}
	}
	t.Fatalf("%s: volumeClaimTemplate %s is not mounted", where, name)
	return ""
}

func containerPort(c container, name string) int {
	for _, p := range c.Ports {
		if p.Name == name {
			return p.ContainerPort
		}
	}
	return 0
}

// headless checks that a StatefulSet's governing Service is headless,
// selects its pods and publishes them before they are ready.
func headless(t *testing.T, m manifests, ss *k8sStatefulSet) {
	t.Helper()
	s, ok := m.services[ss.Spec.ServiceName]
	if !ok {
		t.Errorf("StatefulSet %s: serviceName %q is no Service", ss.Metadata.Name, ss.Spec.ServiceName)
		return
	}
	if s.Spec.ClusterIP != "None" || !s.Spec.PublishNotReadyAddresses {
		t.Errorf("Service %s: clusterIP %q publishNotReadyAddresses %v; want a headless Service that publishes starting pods (peers must resolve each other to become ready)",
			s.Metadata.Name, s.Spec.ClusterIP, s.Spec.PublishNotReadyAddresses)
	}
	if !subset(s.Spec.Selector, ss.Spec.Template.Metadata.Labels) {
		t.Errorf("Service %s does not select the pods of StatefulSet %s", s.Metadata.Name, ss.Metadata.Name)
	}
	if !subset(ss.Spec.Selector.MatchLabels, ss.Spec.Template.Metadata.Labels) {
		t.Errorf("StatefulSet %s: selector %v does not match its pod labels", ss.Metadata.Name, ss.Spec.Selector.MatchLabels)
	}
	for _, p := range s.Spec.Ports {
		tp, _ := p.TargetPort.(string)
		if containerPort(ss.Spec.Template.Spec.Containers[0], tp) != p.Port {
			t.Errorf("Service %s port %s: targetPort %v is not container port %d", s.Metadata.Name, p.Name, p.TargetPort, p.Port)
		}
	}
}

// checkServerPod checks security and resources of a Keeper or ClickHouse
// pod: as strict as the official images allow.
func checkServerPod(t *testing.T, m manifests, ss *k8sStatefulSet) {
	t.Helper()
	where := "StatefulSet " + ss.Metadata.Name
	ps := ss.Spec.Template.Spec
	sc := ps.SecurityContext
	if sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || sc.RunAsUser != 101 || sc.RunAsGroup != 101 || sc.FSGroup == nil || *sc.FSGroup != 101 {
		t.Errorf("%s: want runAsNonRoot as the image's clickhouse user 101:101 with fsGroup 101 (the volume must be its)", where)
	}
	if sc != nil && sc.SeccompProfile.Type != "RuntimeDefault" {
		t.Errorf("%s: seccompProfile %q", where, sc.SeccompProfile.Type)
	}
	if ps.AutomountServiceAccountToken == nil || *ps.AutomountServiceAccountToken {
		t.Errorf("%s: automountServiceAccountToken should be false", where)
	}
	if len(ps.Containers) != 1 {
		t.Fatalf("%s: %d containers", where, len(ps.Containers))
	}
	c := ps.Containers[0]
	csc := c.SecurityContext
	if csc == nil || csc.ReadOnlyRootFilesystem == nil || !*csc.ReadOnlyRootFilesystem ||
		csc.AllowPrivilegeEscalation == nil || *csc.AllowPrivilegeEscalation || !slices.Contains(csc.Capabilities.Drop, "ALL") {
		t.Errorf("%s: container securityContext must be read-only, without privilege escalation, dropping ALL", where)
	}
	for _, r := range []string{"cpu", "memory"} {
		if !quantity.MatchString(c.Resources.Requests[r]) {
			t.Errorf("%s: resources.requests.%s = %q", where, r, c.Resources.Requests[r])
		}
	}
	if !quantity.MatchString(c.Resources.Limits["memory"]) {
		t.Errorf("%s: resources.limits.memory = %q", where, c.Resources.Limits["memory"])
	}
	if c.ReadinessProbe == nil || c.LivenessProbe == nil {
		t.Errorf("%s: want readiness and liveness probes", where)
	}
	vols := map[string]bool{}
	for _, v := range ps.Volumes {
		vols[v.Name] = true
		if v.EmptyDir != nil && !quantity.MatchString(v.EmptyDir.SizeLimit) {
			t.Errorf("%s: emptyDir %s without a sizeLimit", where, v.Name)
		}
	}
	for _, vct := range ss.Spec.VolumeClaimTemplates {
		vols[vct.Metadata.Name] = true
	}
	for _, vm := range c.VolumeMounts {
		if !vols[vm.Name] {
			t.Errorf("%s: volumeMount %s has no volume", where, vm.Name)
		}
	}
	if ss.Spec.PodManagementPolicy != "Parallel" {
		t.Errorf("%s: podManagementPolicy %q; want Parallel (OrderedReady waits for pod 0 to be ready, which needs its peers)", where, ss.Spec.PodManagementPolicy)
	}
	var pdb bool
	for _, p := range m.pdbs {
		pdb = pdb || (subset(p.Spec.Selector.MatchLabels, ss.Spec.Template.Metadata.Labels) && p.Spec.MaxUnavailable == 1)
	}
	if !pdb {
		t.Errorf("%s: no PodDisruptionBudget with maxUnavailable 1 selects its pods", where)
	}
}

// statefulSetsOf returns the overlay's StatefulSets running image repo.
func statefulSetsOf(m manifests, repo string) []*k8sStatefulSet {
	var out []*k8sStatefulSet
	for _, name := range sortedKeys(m.sets) {
		ss := m.sets[name]
		if r, _ := splitImage(ss.Spec.Template.Spec.Containers[0].Image); r == repo {
			out = append(out, ss)
		}
	}
	return out
}

func replicas(ss *k8sStatefulSet) int {
	if ss.Spec.Replicas == nil {
		return 1
	}
	return *ss.Spec.Replicas
}

// keeperPods returns the Keeper StatefulSet, its config and its pods' DNS
// names.
func keeperPods(t *testing.T, m manifests) (*k8sStatefulSet, chConfig, []string) {
	t.Helper()
	sets := statefulSetsOf(m, "clickhouse/clickhouse-keeper")
	if len(sets) != 1 {
		t.Fatalf("%d Keeper StatefulSets; want one", len(sets))
	}
	ss := sets[0]
	c := ss.Spec.Template.Spec.Containers[0]
	// The image's entrypoint reads /etc/clickhouse-keeper/keeper_config.xml.
	files := mountedConfig(t, m, "StatefulSet "+ss.Metadata.Name, ss.Spec.Template.Spec, c, "/etc/clickhouse-keeper")
	if _, ok := files["keeper_config.xml"]; !ok || len(files) != 1 {
		t.Fatalf("Keeper config files %v; want keeper_config.xml (the image's KEEPER_CONFIG)", sortedKeys(files))
	}
	cfg := parseConfigFiles(t, "Keeper", files)
	var dns []string
	for i := range replicas(ss) {
		dns = append(dns, fmt.Sprintf("%s-%d.%s", ss.Metadata.Name, i, ss.Spec.ServiceName))
	}
	return ss, cfg, dns
}

// chPod is one ClickHouse pod of the overlay with its resolved settings.
type chPod struct {
	name, dns string
	set       *k8sStatefulSet
	env       map[string]envSource
	shard     string // macros
	replica   string
}

func clickhousePods(t *testing.T, m manifests) ([]chPod, chConfig) {
	t.Helper()
	sets := statefulSetsOf(m, "clickhouse/clickhouse-server")
	if len(sets) == 0 {
		t.Fatal("no ClickHouse StatefulSet")
	}
	var cfg chConfig
	var pods []chPod
	for _, ss := range sets {
		where := "StatefulSet " + ss.Metadata.Name
		ps := ss.Spec.Template.Spec
		c := ps.Containers[0]
		files := mountedConfig(t, m, where, ps, c, "/etc/clickhouse-server/config.d")
		if ss == sets[0] {
			cfg = parseConfigFiles(t, where, files)
		} else if !reflect.DeepEqual(parseConfigFiles(t, where, files), cfg) {
			t.Errorf("%s: config.d differs from the other shards'", where)
		}
		for i := range replicas(ss) {
			p := chPod{name: fmt.Sprintf("%s-%d", ss.Metadata.Name, i), set: ss}
			p.dns = p.name + "." + ss.Spec.ServiceName
			p.env = podEnv(t, where, c, p.name)
			if cfg.Macros == nil {
				t.Fatal("no <macros> in the ClickHouse config")
			}
			for _, mc := range cfg.Macros.Items {
				switch mc.XMLName.Local {
				case "shard":
					p.shard = mc.resolve(t, where, p.env)
				case "replica":
					p.replica = mc.resolve(t, where, p.env)
				}
			}
			pods = append(pods, p)
		}
	}
	return pods, cfg
}

func TestKubernetesClickHouseKustomization(t *testing.T) {
	dir := filepath.Join(root, clusterOverlay)
	o := loadClusterOverlay(t)
	if len(o.kust.Resources) == 0 || o.kust.Resources[0] != "../" {
		t.Errorf("overlay resources %v; want the base first", o.kust.Resources)
	}
	listed := map[string]bool{}
	for _, r := range o.kust.Resources[1:] {
		listed[r] = true
	}
	for _, p := range o.kust.Patches {
		if _, err := os.Stat(filepath.Join(dir, p.Path)); err != nil {
			t.Errorf("overlay patch %s: %v", p.Path, err)
		}
		listed[p.Path] = true
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
	for _, f := range files {
		if base := filepath.Base(f); base != "kustomization.yaml" && !listed[base] {
			t.Errorf("%s is in the overlay directory but not in its kustomization.yaml", base)
		}
	}
	// Images: pinned, the server the one docker-compose runs, Keeper the
	// same release.
	var compose string
	for _, s := range loadCompose(t).Services {
		if r, _ := splitImage(s.Image); r == "clickhouse/clickhouse-server" {
			compose = s.Image
		}
	}
	_, composeTag := splitImage(compose)
	if len(o.m.sets) == 0 {
		t.Fatal("no StatefulSets in the overlay")
	}
	for _, name := range sortedKeys(o.m.sets) {
		img := o.m.sets[name].Spec.Template.Spec.Containers[0].Image
		repo, tag := splitImage(img)
		if !exactVersion.MatchString(tag) {
			t.Errorf("StatefulSet %s: image %q is not pinned to an exact version", name, img)
		}
		switch repo {
		case "clickhouse/clickhouse-server":
			if img != compose {
				t.Errorf("StatefulSet %s runs %s; docker-compose runs %s", name, img, compose)
			}
		case "clickhouse/clickhouse-keeper":
			if tag != composeTag {
				t.Errorf("StatefulSet %s runs Keeper %s; the servers are %s", name, tag, composeTag)
			}
		}
	}
}

func TestKubernetesClickHouseKeeper(t *testing.T) {
	o := loadClusterOverlay(t)
	ss, cfg, dns := keeperPods(t, o.m)
	where := "StatefulSet " + ss.Metadata.Name
	checkServerPod(t, o.m, ss)
	headless(t, o.m, ss)
	if n := replicas(ss); n < 3 || n%2 == 0 {
		t.Errorf("%s: %d Keeper nodes; want an odd number, at least 3 (a quorum survives one loss)", where, n)
	}
	ks := cfg.KeeperServer
	if ks == nil {
		t.Fatal("keeper_config.xml has no <keeper_server>")
	}
	c := ss.Spec.Template.Spec.Containers[0]
	if ks.TCPPort != containerPort(c, "client") {
		t.Errorf("keeper tcp_port %d is not the container port client %d", ks.TCPPort, containerPort(c, "client"))
	}
	if p := c.ReadinessProbe; p == nil || p.HTTPGet == nil || p.HTTPGet.Path != ks.HTTPControl.Readiness.Endpoint ||
		containerPort(c, fmt.Sprint(p.HTTPGet.Port)) != ks.HTTPControl.Port {
		t.Errorf("%s: readiness probe %+v is not the http_control readiness endpoint %s on %d", where, p, ks.HTTPControl.Readiness.Endpoint, ks.HTTPControl.Port)
	}
	// The Raft configuration lists exactly the pods, each once.
	var hosts []string
	ids := map[string]int{}
	for _, s := range ks.Raft.Servers {
		hosts = append(hosts, s.Hostname)
		ids[s.Hostname] = s.ID
		if s.Port != containerPort(c, "raft") {
			t.Errorf("raft server %d port %d is not the container port raft %d", s.ID, s.Port, containerPort(c, "raft"))
		}
	}
	if !slices.Equal(slices.Sorted(slices.Values(hosts)), dns) {
		t.Errorf("raft_configuration lists %v; the Keeper pods are %v", hosts, dns)
	}
	seen := map[int]bool{}
	for _, id := range ids {
		if id < 1 || seen[id] {
			t.Errorf("raft server ids %v: want distinct positive ids", ids)
		}
		seen[id] = true
	}
	// Each pod's server_id is its own entry's: run the container's command
	// with the entrypoint replaced by printing the variable.
	if ks.ServerID.FromEnv == "" {
		t.Fatalf("keeper server_id %q is not per pod (from_env)", ks.ServerID.Text)
	}
	if len(c.Command) != 3 || c.Command[0] != "/bin/bash" || c.Command[1] != "-c" || !strings.HasSuffix(c.Command[2], "exec /entrypoint.sh") {
		t.Fatalf("%s: command %q; want bash -c '... exec /entrypoint.sh' (the image's entrypoint)", where, c.Command)
	}
	script := strings.TrimSuffix(c.Command[2], "exec /entrypoint.sh") + `printf %s "$` + ks.ServerID.FromEnv + `"`
	for i, host := range dns {
		pod := fmt.Sprintf("%s-%d", ss.Metadata.Name, i)
		cmd := exec.Command("bash", "-c", script)
		cmd.Env = []string{}
		for name, src := range podEnv(t, where, c, pod) {
			cmd.Env = append(cmd.Env, name+"="+src.value)
		}
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("%s: %q: %v", pod, script, err)
		}
		if id, err := strconv.Atoi(string(out)); err != nil || id != ids[host] {
			t.Errorf("pod %s gets server_id %q; its raft_configuration entry (%s) has id %d", pod, out, host, ids[host])
		}
	}
	// Data on the volume, which the image's entrypoint is told about.
	data := claimMount(t, where, ss, c, "data")
	for what, p := range map[string]string{"path": cfg.Path, "log_storage_path": ks.LogStoragePath, "snapshot_storage_path": ks.SnapshotStoragePath} {
		if !strings.HasPrefix(p, data+"/") && p != data {
			t.Errorf("keeper %s %q is not on the volume %s", what, p, data)
		}
	}
	if env := podEnv(t, where, c, "x"); env["CLICKHOUSE_DATA_DIR"].value != data {
		t.Errorf("%s: CLICKHOUSE_DATA_DIR %q; the entrypoint makes its directories there, want the volume %s", where, env["CLICKHOUSE_DATA_DIR"].value, data)
	}
}

func TestKubernetesClickHouseCluster(t *testing.T) {
	o := loadClusterOverlay(t)
	pods, cfg := clickhousePods(t, o.m)
	sets := statefulSetsOf(o.m, "clickhouse/clickhouse-server")
	for _, ss := range sets {
		checkServerPod(t, o.m, ss)
		headless(t, o.m, ss)
	}

	// Macros: every pod one (shard, replica), 2 shards x 2 replicas; a
	// replica name unique in the whole cluster, because schema_migrations is
	// one replicated table over every pod ('/clickhouse/tables/all/...').
	byShard := map[string][]string{} // shard macro -> pods' DNS names
	replicaNames := map[string]string{}
	for _, p := range pods {
		if p.shard == "" || p.replica == "" {
			t.Errorf("pod %s: macros shard %q replica %q", p.name, p.shard, p.replica)
		}
		if other, dup := replicaNames[p.replica]; dup {
			t.Errorf("pods %s and %s share the replica macro %q", other, p.name, p.replica)
		}
		replicaNames[p.replica] = p.name
		byShard[p.shard] = append(byShard[p.shard], p.dns)
	}
	if len(byShard) != 2 {
		t.Errorf("shard macros %v; want 2 shards", sortedKeys(byShard))
	}
	for s, hosts := range byShard {
		if len(hosts) != 2 {
			t.Errorf("shard %s has pods %v; want 2 replicas", s, hosts)
		}
	}
	// The macros the replicated DDL uses exist ({database} and {table} are
	// ClickHouse's own).
	golden, err := os.ReadFile(filepath.Join(root, "pipeline/store/testdata/replicated.sql"))
	if err != nil {
		t.Fatal(err)
	}
	defined := map[string]bool{"database": true, "table": true, "uuid": true}
	for _, mc := range cfg.Macros.Items {
		defined[mc.XMLName.Local] = true
	}
	used := map[string]bool{}
	for _, m := range regexp.MustCompile(`Replicated\w*MergeTree\(([^)]*)\)`).FindAllStringSubmatch(string(golden), -1) {
		for _, mm := range regexp.MustCompile(`\{(\w+)\}`).FindAllStringSubmatch(m[1], -1) {
			used[mm[1]] = true
		}
	}
	if !used["shard"] || !used["replica"] {
		t.Errorf("replicated.sql uses macros %v; expected {shard} and {replica}", sortedKeys(used))
	}
	for name := range used {
		if !defined[name] {
			t.Errorf("the replicated DDL uses {%s}, which the ClickHouse config does not define", name)
		}
	}

	// remote_servers: one cluster, its shards exactly the pods grouped by
	// their shard macro, internal replication, the interserver user with its
	// password from a Secret, no <secret>.
	if cfg.RemoteServers == nil || len(cfg.RemoteServers.Clusters) != 1 {
		t.Fatalf("remote_servers %+v; want one cluster", cfg.RemoteServers)
	}
	cl := cfg.RemoteServers.Clusters[0]
	if cl.Secret != nil {
		t.Errorf("cluster %s has an interserver <secret>: it breaks the published views (ClickHouse #88009)", cl.XMLName.Local)
	}
	interserver := store.AccessModel{Database: store.DefaultDatabase}.UserName(store.RoleInterserver)
	native := containerPort(sets[0].Spec.Template.Spec.Containers[0], "native")
	want := map[string]bool{}
	for _, hosts := range byShard {
		want[strings.Join(slices.Sorted(slices.Values(hosts)), ",")] = true
	}
	got := map[string]bool{}
	secrets := map[string]bool{}
	for i, sh := range cl.Shards {
		if sh.InternalReplication != "true" {
			t.Errorf("shard %d: internal_replication %q; want true (Keeper replicates, the Distributed table writes one replica)", i+1, sh.InternalReplication)
		}
		var hosts []string
		for _, r := range sh.Replicas {
			hosts = append(hosts, r.Host)
			if r.Port != native {
				t.Errorf("shard %d replica %s: port %d, the native port is %d", i+1, r.Host, r.Port, native)
			}
			if r.User != interserver {
				t.Errorf("shard %d replica %s: user %q; want the interserver user %s", i+1, r.Host, r.User, interserver)
			}
			for _, p := range pods {
				if p.dns == r.Host {
					secrets[checkSecretValue(t, o.m, "remote_servers "+r.Host, r.Password, p.env)] = true
				}
			}
		}
		got[strings.Join(slices.Sorted(slices.Values(hosts)), ",")] = true
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("remote_servers shards %v; the pods by shard macro are %v", sortedKeys(got), sortedKeys(want))
	}
	if len(secrets) != 1 {
		t.Errorf("interserver passwords from %v; want one Secret key", sortedKeys(secrets))
	}

	// Keeper: the nodes are the Keeper pods on its client port.
	_, kcfg, kdns := keeperPods(t, o.m)
	if cfg.Zookeeper == nil {
		t.Fatal("no <zookeeper> in the ClickHouse config")
	}
	var nodes []string
	for _, n := range cfg.Zookeeper.Nodes {
		nodes = append(nodes, n.Host)
		if n.Port != kcfg.KeeperServer.TCPPort {
			t.Errorf("zookeeper node %s port %d; Keeper listens on %d", n.Host, n.Port, kcfg.KeeperServer.TCPPort)
		}
	}
	if !slices.Equal(slices.Sorted(slices.Values(nodes)), kdns) {
		t.Errorf("zookeeper nodes %v; the Keeper pods are %v", nodes, kdns)
	}

	// Replication between replicas: each pod announces its own DNS name on
	// the interserver port, with credentials from a Secret.
	for _, p := range pods {
		where := "pod " + p.name
		if cfg.InterserverHTTPHost == nil || cfg.InterserverHTTPHost.resolve(t, where, p.env) != p.dns {
			t.Errorf("%s: interserver_http_host is not its DNS name %s", where, p.dns)
		}
		if cfg.InterserverHTTPPort != containerPort(p.set.Spec.Template.Spec.Containers[0], "interserver") {
			t.Errorf("%s: interserver_http_port %d is not the container port interserver", where, cfg.InterserverHTTPPort)
		}
		if cfg.InterserverHTTPCredentials == nil {
			t.Errorf("no interserver_http_credentials: any pod that reaches 9009 could fetch parts")
		} else {
			checkSecretValue(t, o.m, where+" interserver_http_credentials", cfg.InterserverHTTPCredentials.Password, p.env)
		}
		for _, v := range cfg.fromEnv {
			if _, ok := p.env[v]; !ok {
				t.Errorf("%s: the config reads %s (from_env), which the container does not set", where, v)
			}
		}
	}

	// default: loopback only (the image's users.xml lets it in from
	// anywhere without a password).
	c0 := sets[0].Spec.Template.Spec.Containers[0]
	users := parseConfigFiles(t, "users.d", mountedConfig(t, o.m, "ClickHouse", sets[0].Spec.Template.Spec, c0, "/etc/clickhouse-server/users.d"))
	if users.Users == nil || users.Users.Default == nil {
		t.Fatal("users.d does not restrict the default user")
	}
	for _, ip := range users.Users.Default.Networks.IP {
		if ip != "::1" && ip != "127.0.0.1" {
			t.Errorf("default user reachable from %s; want loopback only", ip)
		}
	}
	// Data on the volume.
	for _, ss := range sets {
		if m := claimMount(t, "StatefulSet "+ss.Metadata.Name, ss, ss.Spec.Template.Spec.Containers[0], "data"); m != "/var/lib/clickhouse" {
			t.Errorf("StatefulSet %s: data volume at %s; the server's path is /var/lib/clickhouse", ss.Metadata.Name, m)
		}
	}
	// The shards' StatefulSets are one template but for the shard.
	norm := func(ss *k8sStatefulSet) any {
		tpl := ss.Spec.Template
		tpl.Metadata.Labels = nil
		tpl.Spec.Affinity = nil
		c := tpl.Spec.Containers[0]
		c.Env = slices.DeleteFunc(slices.Clone(c.Env), func(e envVar) bool { return e.Name == "CLICKHOUSE_SHARD" })
		tpl.Spec.Containers = []container{c}
		return []any{tpl, ss.Spec.Replicas, ss.Spec.VolumeClaimTemplates, ss.Spec.ServiceName, ss.Spec.PodManagementPolicy}
	}
	for _, ss := range sets[1:] {
		if !reflect.DeepEqual(norm(ss), norm(sets[0])) {
			t.Errorf("StatefulSet %s differs from %s in more than its shard", ss.Metadata.Name, sets[0].Metadata.Name)
		}
	}
}

// TestKubernetesClickHouseCommpulseUsesCluster: migrate, ingest and analyze
// of the overlay connect to the cluster's pods with the cluster's name and
// replication on.
func TestKubernetesClickHouseCommpulseUsesCluster(t *testing.T) {
	o := loadClusterOverlay(t)
	pods, cfg := clickhousePods(t, o.m)
	if cfg.RemoteServers == nil || len(cfg.RemoteServers.Clusters) != 1 {
		t.Fatal("remote_servers: want one cluster")
	}
	cluster := cfg.RemoteServers.Clusters[0].XMLName.Local
	native := strconv.Itoa(containerPort(pods[0].set.Spec.Template.Spec.Containers[0], "native"))
	var addrs []string
	for _, p := range pods {
		addrs = append(addrs, p.dns+":"+native)
	}
	subs := map[string]bool{}
	for _, nc := range o.m.containers() {
		env := o.m.env(t, nc)
		sub := nc.c.Args[0]
		subs[sub] = true
		checkFlagEnv(t, nc.where, sub, env)
		if env["COMMPULSE_CLUSTER"] != cluster {
			t.Errorf("%s: COMMPULSE_CLUSTER %q; remote_servers names the cluster %q", nc.where, env["COMMPULSE_CLUSTER"], cluster)
		}
		if env["COMMPULSE_REPLICATED"] != "true" {
			t.Errorf("%s: COMMPULSE_REPLICATED %q; the cluster is replicated", nc.where, env["COMMPULSE_REPLICATED"])
		}
		got := strings.Split(env["COMMPULSE_CH_ADDR"], ",")
		if !slices.Equal(slices.Sorted(slices.Values(got)), addrs) {
			t.Errorf("%s: COMMPULSE_CH_ADDR %v; the ClickHouse pods are %v", nc.where, got, addrs)
		}
	}
	for _, want := range []string{"migrate", "ingest", "analyze"} {
		if !subs[want] {
			t.Errorf("the overlay runs no commpulse %s", want)
		}
	}
	if _, ok := o.m.jobs["commpulse-migrate"]; !ok {
		t.Error("no migrate Job in the overlay")
	}
}

// TestKubernetesClickHouseConfigLoads loads the overlay's remote_servers
// file and its macros, unchanged but for the Keeper part left out, into the
// embedded ClickHouse engine with one pod's environment, and reads them
// back from system.clusters and system.macros: ClickHouse itself parses
// the cluster and substitutes from_env (seen in the macros; a password is
// not readable back, and an unset variable is an empty value, not an
// error, which is why the pods take them from secretKeyRefs that are not
// optional: the kubelet does not start a container whose Secret is
// missing). (The engine has no Keeper and no
// interserver port, so the rest of replication.xml is checked by
// TestKubernetesClickHouseCluster only.)
func TestKubernetesClickHouseConfigLoads(t *testing.T) {
	o := loadClusterOverlay(t)
	pods, cfg := clickhousePods(t, o.m)
	pod := pods[len(pods)-1]
	ss := pod.set
	files := mountedConfig(t, o.m, "StatefulSet "+ss.Metadata.Name, ss.Spec.Template.Spec, ss.Spec.Template.Spec.Containers[0], "/etc/clickhouse-server/config.d")
	var remote string
	for name, text := range files {
		if strings.Contains(text, "<remote_servers") {
			remote = name
		}
	}
	if remote == "" {
		t.Fatal("no config.d file with remote_servers")
	}
	var macros strings.Builder
	macros.WriteString("<clickhouse><macros>")
	for _, m := range cfg.Macros.Items {
		fmt.Fprintf(&macros, `<%s from_env=%q>%s</%[1]s>`, m.XMLName.Local, m.FromEnv, m.Text)
	}
	macros.WriteString("</macros></clickhouse>\n")
	dir := t.TempDir()
	for name, text := range map[string]string{"config.xml": "<clickhouse></clickhouse>\n", "config.d/" + remote: files[remote], "config.d/macros.xml": macros.String()} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// The engine child inherits the test's environment: the pod's.
	for name, src := range pod.env {
		if src.secret != "" {
			src.value = "from-" + src.secret
		}
		t.Setenv(name, src.value)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	srv, err := chlocal.Start(ctx, chlocal.Config{ConfigFile: filepath.Join(dir, "config.xml"), DataDir: filepath.Join(dir, "data")})
	if err != nil {
		t.Fatalf("start ClickHouse with the overlay's config: %v", err)
	}
	defer srv.Close(context.Background())
	query := func(q string) string {
		t.Helper()
		resp, err := http.Get("http://" + srv.HTTPAddr() + "/?query=" + url.QueryEscape(q))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %s: %s", q, resp.Status, b)
		}
		return string(b)
	}
	cluster := cfg.RemoteServers.Clusters[0]
	var want strings.Builder
	for i, sh := range cluster.Shards {
		for j, r := range sh.Replicas {
			fmt.Fprintf(&want, "%d\t%d\t%s\t%d\t%s\n", i+1, j+1, r.Host, r.Port, r.User)
		}
	}
	got := query("SELECT shard_num, replica_num, host_name, port, user FROM system.clusters WHERE cluster = '" +
		cluster.XMLName.Local + "' ORDER BY shard_num, replica_num FORMAT TSV")
	if got != want.String() {
		t.Errorf("system.clusters of %s:\n%s\nwant (remote_servers):\n%s", cluster.XMLName.Local, got, want.String())
	}
	wantMacros := fmt.Sprintf("replica\t%s\nshard\t%s\n", pod.replica, pod.shard)
	if got := query("SELECT macro, substitution FROM system.macros ORDER BY macro FORMAT TSV"); got != wantMacros {
		t.Errorf("system.macros of pod %s:\n%s\nwant:\n%s", pod.name, got, wantMacros)
	}
}
