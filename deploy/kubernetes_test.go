package deploy

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"commpulse/pipeline/ingest"
)

// The types below are the subset of the Kubernetes API the manifests use,
// with the API's field names. Manifests are decoded strictly against them:
// a misspelt or misplaced field fails the test the way `kubectl apply
// --validate=strict` would fail it. A field the manifests start using has to
// be added here, from the API reference, on purpose.

type objectMeta struct {
	Name        string            `yaml:"name"`
	Namespace   string            `yaml:"namespace"`
	Labels      map[string]string `yaml:"labels"`
	Annotations map[string]string `yaml:"annotations"`
}

type header struct {
	APIVersion string     `yaml:"apiVersion"`
	Kind       string     `yaml:"kind"`
	Metadata   objectMeta `yaml:"metadata"`
}

type k8sConfigMap struct {
	header `yaml:",inline"`
	Data   map[string]string `yaml:"data"`
}

type k8sSecret struct {
	header     `yaml:",inline"`
	Type       string            `yaml:"type"`
	StringData map[string]string `yaml:"stringData"`
	Data       map[string]string `yaml:"data"`
}

type k8sNamespace struct {
	header `yaml:",inline"`
}

type httpGet struct {
	Path string `yaml:"path"`
	Port any    `yaml:"port"` // a name or a number
}

type probe struct {
	HTTPGet   *httpGet `yaml:"httpGet"`
	TCPSocket *struct {
		Port any `yaml:"port"`
	} `yaml:"tcpSocket"`
	InitialDelaySeconds int `yaml:"initialDelaySeconds"`
	PeriodSeconds       int `yaml:"periodSeconds"`
	TimeoutSeconds      int `yaml:"timeoutSeconds"`
	FailureThreshold    int `yaml:"failureThreshold"`
	SuccessThreshold    int `yaml:"successThreshold"`
}

type envVar struct {
	Name      string `yaml:"name"`
	Value     string `yaml:"value"`
	ValueFrom *struct {
		FieldRef *struct {
			FieldPath string `yaml:"fieldPath"`
		} `yaml:"fieldRef"`
		SecretKeyRef *struct {
			Name string `yaml:"name"`
			Key  string `yaml:"key"`
		} `yaml:"secretKeyRef"`
	} `yaml:"valueFrom"`
}

type envFrom struct {
	ConfigMapRef *struct {
		Name string `yaml:"name"`
	} `yaml:"configMapRef"`
	SecretRef *struct {
		Name string `yaml:"name"`
	} `yaml:"secretRef"`
}

type container struct {
	Name    string    `yaml:"name"`
	Image   string    `yaml:"image"`
	Args    []string  `yaml:"args"`
	Command []string  `yaml:"command"`
	Env     []envVar  `yaml:"env"`
	EnvFrom []envFrom `yaml:"envFrom"`
	Ports   []struct {
		Name          string `yaml:"name"`
		ContainerPort int    `yaml:"containerPort"`
		Protocol      string `yaml:"protocol"`
	} `yaml:"ports"`
	LivenessProbe  *probe `yaml:"livenessProbe"`
	ReadinessProbe *probe `yaml:"readinessProbe"`
	StartupProbe   *probe `yaml:"startupProbe"`
	VolumeMounts   []struct {
		Name      string `yaml:"name"`
		MountPath string `yaml:"mountPath"`
		ReadOnly  bool   `yaml:"readOnly"`
	} `yaml:"volumeMounts"`
	Resources struct {
		Requests map[string]string `yaml:"requests"`
		Limits   map[string]string `yaml:"limits"`
	} `yaml:"resources"`
	SecurityContext *struct {
		AllowPrivilegeEscalation *bool `yaml:"allowPrivilegeEscalation"`
		ReadOnlyRootFilesystem   *bool `yaml:"readOnlyRootFilesystem"`
		Capabilities             struct {
			Drop []string `yaml:"drop"`
		} `yaml:"capabilities"`
	} `yaml:"securityContext"`
}

type podSpec struct {
	RestartPolicy                 string `yaml:"restartPolicy"`
	TerminationGracePeriodSeconds *int   `yaml:"terminationGracePeriodSeconds"`
	AutomountServiceAccountToken  *bool  `yaml:"automountServiceAccountToken"`
	SecurityContext               *struct {
		RunAsNonRoot   *bool `yaml:"runAsNonRoot"`
		RunAsUser      int   `yaml:"runAsUser"`
		RunAsGroup     int   `yaml:"runAsGroup"`
		FSGroup        *int  `yaml:"fsGroup"`
		SeccompProfile struct {
			Type string `yaml:"type"`
		} `yaml:"seccompProfile"`
	} `yaml:"securityContext"`
	Affinity *struct {
		PodAntiAffinity struct {
			Preferred []struct {
				Weight          int `yaml:"weight"`
				PodAffinityTerm struct {
					TopologyKey   string        `yaml:"topologyKey"`
					LabelSelector labelSelector `yaml:"labelSelector"`
				} `yaml:"podAffinityTerm"`
			} `yaml:"preferredDuringSchedulingIgnoredDuringExecution"`
		} `yaml:"podAntiAffinity"`
	} `yaml:"affinity"`
	Containers []container `yaml:"containers"`
	Volumes    []struct {
		Name   string `yaml:"name"`
		Secret *struct {
			SecretName string `yaml:"secretName"`
		} `yaml:"secret"`
		ConfigMap *struct {
			Name string `yaml:"name"`
		} `yaml:"configMap"`
		EmptyDir *struct {
			SizeLimit string `yaml:"sizeLimit"`
		} `yaml:"emptyDir"`
	} `yaml:"volumes"`
}

type podTemplate struct {
	Metadata objectMeta `yaml:"metadata"`
	Spec     podSpec    `yaml:"spec"`
}

type labelSelector struct {
	MatchLabels map[string]string `yaml:"matchLabels"`
}

type k8sDeployment struct {
	header `yaml:",inline"`
	Spec   struct {
		Replicas             *int          `yaml:"replicas"`
		RevisionHistoryLimit int           `yaml:"revisionHistoryLimit"`
		Selector             labelSelector `yaml:"selector"`
		Strategy             struct {
			Type          string `yaml:"type"`
			RollingUpdate *struct {
				MaxUnavailable any `yaml:"maxUnavailable"`
				MaxSurge       any `yaml:"maxSurge"`
			} `yaml:"rollingUpdate"`
		} `yaml:"strategy"`
		Template podTemplate `yaml:"template"`
	} `yaml:"spec"`
}

type k8sJob struct {
	header `yaml:",inline"`
	Spec   struct {
		BackoffLimit            int         `yaml:"backoffLimit"`
		TTLSecondsAfterFinished int         `yaml:"ttlSecondsAfterFinished"`
		Template                podTemplate `yaml:"template"`
	} `yaml:"spec"`
}

type k8sService struct {
	header `yaml:",inline"`
	Spec   struct {
		ClusterIP                string            `yaml:"clusterIP"`
		PublishNotReadyAddresses bool              `yaml:"publishNotReadyAddresses"`
		Selector                 map[string]string `yaml:"selector"`
		Ports                    []struct {
			Name       string `yaml:"name"`
			Port       int    `yaml:"port"`
			TargetPort any    `yaml:"targetPort"`
		} `yaml:"ports"`
	} `yaml:"spec"`
}

type k8sHPA struct {
	header `yaml:",inline"`
	Spec   struct {
		ScaleTargetRef struct {
			APIVersion string `yaml:"apiVersion"`
			Kind       string `yaml:"kind"`
			Name       string `yaml:"name"`
		} `yaml:"scaleTargetRef"`
		MinReplicas int `yaml:"minReplicas"`
		MaxReplicas int `yaml:"maxReplicas"`
		Metrics     []struct {
			Type     string `yaml:"type"`
			Resource struct {
				Name   string `yaml:"name"`
				Target struct {
					Type               string `yaml:"type"`
					AverageUtilization int    `yaml:"averageUtilization"`
				} `yaml:"target"`
			} `yaml:"resource"`
		} `yaml:"metrics"`
		Behavior struct {
			ScaleDown struct {
				StabilizationWindowSeconds int `yaml:"stabilizationWindowSeconds"`
			} `yaml:"scaleDown"`
		} `yaml:"behavior"`
	} `yaml:"spec"`
}

type k8sPDB struct {
	header `yaml:",inline"`
	Spec   struct {
		MaxUnavailable any           `yaml:"maxUnavailable"`
		MinAvailable   any           `yaml:"minAvailable"`
		Selector       labelSelector `yaml:"selector"`
	} `yaml:"spec"`
}

type k8sServiceMonitor struct {
	header `yaml:",inline"`
	Spec   struct {
		Selector  labelSelector `yaml:"selector"`
		Endpoints []struct {
			Port     string `yaml:"port"`
			Path     string `yaml:"path"`
			Interval string `yaml:"interval"`
		} `yaml:"endpoints"`
	} `yaml:"spec"`
}

type kustomization struct {
	APIVersion string   `yaml:"apiVersion"`
	Kind       string   `yaml:"kind"`
	Namespace  string   `yaml:"namespace"`
	Resources  []string `yaml:"resources"`
	Images     []struct {
		Name    string `yaml:"name"`
		NewName string `yaml:"newName"`
		NewTag  string `yaml:"newTag"`
	} `yaml:"images"`
}

// kinds maps apiVersion/kind to the strict type of that object.
var kinds = map[string]func() any{
	"v1/Namespace":                            func() any { return &k8sNamespace{} },
	"v1/ConfigMap":                            func() any { return &k8sConfigMap{} },
	"v1/Secret":                               func() any { return &k8sSecret{} },
	"v1/Service":                              func() any { return &k8sService{} },
	"apps/v1/Deployment":                      func() any { return &k8sDeployment{} },
	"apps/v1/StatefulSet":                     func() any { return &k8sStatefulSet{} },
	"batch/v1/Job":                            func() any { return &k8sJob{} },
	"autoscaling/v2/HorizontalPodAutoscaler":  func() any { return &k8sHPA{} },
	"policy/v1/PodDisruptionBudget":           func() any { return &k8sPDB{} },
	"monitoring.coreos.com/v1/ServiceMonitor": func() any { return &k8sServiceMonitor{} },
}

type manifests struct {
	kust        kustomization
	configMaps  map[string]*k8sConfigMap
	secrets     map[string]*k8sSecret
	services    map[string]*k8sService
	deployments map[string]*k8sDeployment
	sets        map[string]*k8sStatefulSet
	jobs        map[string]*k8sJob
	hpas        map[string]*k8sHPA
	pdbs        map[string]*k8sPDB
	monitors    map[string]*k8sServiceMonitor
	files       map[string]bool // yaml files decoded
}

func newManifests() manifests {
	return manifests{
		configMaps: map[string]*k8sConfigMap{}, secrets: map[string]*k8sSecret{}, services: map[string]*k8sService{},
		deployments: map[string]*k8sDeployment{}, sets: map[string]*k8sStatefulSet{}, jobs: map[string]*k8sJob{},
		hpas: map[string]*k8sHPA{}, pdbs: map[string]*k8sPDB{}, monitors: map[string]*k8sServiceMonitor{}, files: map[string]bool{},
	}
}

func loadManifests(t *testing.T) manifests {
	t.Helper()
	dir := filepath.Join(root, "deploy/kubernetes")
	m := newManifests()
	decodeYAMLFile(t, filepath.Join(dir, "kustomization.yaml"), &m.kust, true)
	files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
	for _, path := range files {
		base := filepath.Base(path)
		if base == "kustomization.yaml" {
			continue
		}
		m.files[base] = true
		m.decodeFile(t, path, m.kust.Namespace)
	}
	return m
}

// decodeFile decodes every object of a manifest file strictly into m, in
// namespace ns. An object already in m (kind and name) is an error, as it
// is for kustomize.
func (m *manifests) decodeFile(t *testing.T, path, ns string) {
	t.Helper()
	base := filepath.Base(path)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	for i := 0; ; i++ {
		var node yaml.Node
		if err := dec.Decode(&node); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("%s document %d: %v", base, i, err)
		}
		var h header
		if err := node.Decode(&h); err != nil {
			t.Fatalf("%s document %d: %v", base, i, err)
		}
		newObj, ok := kinds[h.APIVersion+"/"+h.Kind]
		if !ok {
			t.Errorf("%s document %d: unknown apiVersion/kind %s/%s", base, i, h.APIVersion, h.Kind)
			continue
		}
		// Strict decode: re-encode the node and decode with KnownFields.
		raw, err := yaml.Marshal(&node)
		if err != nil {
			t.Fatal(err)
		}
		obj := newObj()
		sdec := yaml.NewDecoder(bytes.NewReader(raw))
		sdec.KnownFields(true)
		if err := sdec.Decode(obj); err != nil {
			t.Errorf("%s %s/%s: %v", base, h.Kind, h.Metadata.Name, err)
			continue
		}
		if h.Metadata.Name == "" {
			t.Errorf("%s document %d: %s without a name", base, i, h.Kind)
		}
		if h.Kind != "Namespace" && h.Metadata.Namespace != ns {
			t.Errorf("%s %s/%s: namespace %q, want %q", base, h.Kind, h.Metadata.Name, h.Metadata.Namespace, ns)
		}
		if h.Metadata.Labels["app.kubernetes.io/part-of"] != "commpulse" {
			t.Errorf("%s %s/%s: no app.kubernetes.io/part-of=commpulse label", base, h.Kind, h.Metadata.Name)
		}
		name := h.Metadata.Name
		dup := false
		switch o := obj.(type) {
		case *k8sConfigMap:
			dup = addObject(m.configMaps, name, o)
		case *k8sSecret:
			dup = addObject(m.secrets, name, o)
		case *k8sService:
			dup = addObject(m.services, name, o)
		case *k8sDeployment:
			dup = addObject(m.deployments, name, o)
		case *k8sStatefulSet:
			dup = addObject(m.sets, name, o)
		case *k8sJob:
			dup = addObject(m.jobs, name, o)
		case *k8sHPA:
			dup = addObject(m.hpas, name, o)
		case *k8sPDB:
			dup = addObject(m.pdbs, name, o)
		case *k8sServiceMonitor:
			dup = addObject(m.monitors, name, o)
		}
		if dup {
			t.Errorf("%s: %s/%s is defined twice", base, h.Kind, name)
		}
	}
}

// addObject adds o under name and reports whether the name was taken.
func addObject[T any](objs map[string]*T, name string, o *T) bool {
	_, dup := objs[name]
	objs[name] = o
	return dup
}

func TestKubernetesKustomization(t *testing.T) {
	m := loadManifests(t)
	if m.kust.Kind != "Kustomization" || m.kust.Namespace != "commpulse" {
		t.Errorf("kustomization %s namespace %q", m.kust.Kind, m.kust.Namespace)
	}
	listed := map[string]bool{}
	for _, r := range m.kust.Resources {
		listed[r] = true
		if !m.files[r] {
			t.Errorf("kustomization lists %s, which is not a manifest here", r)
		}
	}
	for f := range m.files {
		// The ServiceMonitor needs the Prometheus Operator's CRD: applied
		// on its own where that exists.
		if !listed[f] && f != "servicemonitor.yaml" {
			t.Errorf("%s is not in kustomization.yaml", f)
		}
	}
	pinned := map[string]bool{}
	for _, im := range m.kust.Images {
		if !exactVersion.MatchString(im.NewTag) {
			t.Errorf("kustomization image %s tag %q is not an exact version", im.Name, im.NewTag)
		}
		pinned[im.Name] = true
	}
	for _, c := range m.containers() {
		if !pinned[c.c.Image] {
			if _, tag := splitImage(c.c.Image); !exactVersion.MatchString(tag) {
				t.Errorf("%s: image %q is neither pinned by kustomization nor by tag", c.where, c.c.Image)
			}
		}
	}
}

type namedContainer struct {
	where string
	pod   podSpec
	meta  objectMeta
	c     container
}

func (m manifests) containers() []namedContainer {
	var out []namedContainer
	for _, name := range sortedKeys(m.deployments) {
		d := m.deployments[name]
		for _, c := range d.Spec.Template.Spec.Containers {
			out = append(out, namedContainer{"Deployment " + name, d.Spec.Template.Spec, d.Spec.Template.Metadata, c})
		}
	}
	for _, name := range sortedKeys(m.jobs) {
		j := m.jobs[name]
		for _, c := range j.Spec.Template.Spec.Containers {
			out = append(out, namedContainer{"Job " + name, j.Spec.Template.Spec, j.Spec.Template.Metadata, c})
		}
	}
	return out
}

// env resolves a container's COMMPULSE_* environment: ConfigMaps named in
// envFrom first, then env (which wins, as in Kubernetes).
func (m manifests) env(t *testing.T, nc namedContainer) map[string]string {
	t.Helper()
	env := map[string]string{}
	for _, ef := range nc.c.EnvFrom {
		if ef.ConfigMapRef == nil {
			t.Errorf("%s: envFrom other than a ConfigMap (secrets go in files)", nc.where)
			continue
		}
		cm, ok := m.configMaps[ef.ConfigMapRef.Name]
		if !ok {
			t.Errorf("%s: envFrom ConfigMap %s does not exist", nc.where, ef.ConfigMapRef.Name)
			continue
		}
		for k, v := range cm.Data {
			env[k] = v
		}
	}
	for _, e := range nc.c.Env {
		env[e.Name] = e.Value
	}
	return env
}

var quantity = regexp.MustCompile(`^\d+(\.\d+)?(m|Ki|Mi|Gi|Ti|k|M|G)?$`)

func TestKubernetesWorkloads(t *testing.T) {
	m := loadManifests(t)
	partitions := ingest.Defaults().Partitions
	subs := map[string]bool{}
	for _, nc := range m.containers() {
		t.Run(strings.ReplaceAll(nc.where, " ", "_"), func(t *testing.T) {
			where := nc.where
			c := nc.c
			if len(c.Command) > 0 || len(c.Args) == 0 {
				t.Fatalf("%s: want args [subcommand] and the image's entrypoint, got command %v args %v", where, c.Command, c.Args)
			}
			sub := c.Args[0]
			subs[sub] = true
			env := m.env(t, nc)
			checkFlagEnv(t, where, sub, env)

			// Security: non-root, read-only, no privilege escalation, no
			// capabilities, no API token.
			ps := nc.pod
			if ps.SecurityContext == nil || ps.SecurityContext.RunAsNonRoot == nil || !*ps.SecurityContext.RunAsNonRoot || ps.SecurityContext.RunAsUser == 0 {
				t.Errorf("%s: pod securityContext must set runAsNonRoot and a non-zero runAsUser", where)
			}
			if ps.AutomountServiceAccountToken == nil || *ps.AutomountServiceAccountToken {
				t.Errorf("%s: automountServiceAccountToken should be false (the pods never call the API)", where)
			}
			sc := c.SecurityContext
			if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
				sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation || !slices.Contains(sc.Capabilities.Drop, "ALL") {
				t.Errorf("%s: container securityContext must be read-only, without privilege escalation, dropping ALL", where)
			}
			// Resources: requests for scheduling, a memory limit.
			for _, r := range []string{"cpu", "memory"} {
				if !quantity.MatchString(c.Resources.Requests[r]) {
					t.Errorf("%s: resources.requests.%s = %q", where, r, c.Resources.Requests[r])
				}
			}
			if !quantity.MatchString(c.Resources.Limits["memory"]) {
				t.Errorf("%s: resources.limits.memory = %q", where, c.Resources.Limits["memory"])
			}
			// Secrets are files from a mounted Secret, never env values.
			for k := range env {
				if strings.Contains(k, "PASSWORD") && !strings.HasSuffix(k, "_FILE") {
					t.Errorf("%s: %s puts a secret in the environment; use the _FILE flag", where, k)
				}
			}
			for k, v := range env {
				if strings.HasSuffix(k, "_FILE") {
					checkSecretFile(t, m, nc, k, v)
				}
			}
			// Volume mounts name volumes of the pod, whose sources exist.
			vols := map[string]bool{}
			for _, v := range ps.Volumes {
				vols[v.Name] = true
				if v.Secret != nil {
					if _, ok := m.secrets[v.Secret.SecretName]; !ok {
						t.Errorf("%s: volume %s uses Secret %s, which is not in the manifests", where, v.Name, v.Secret.SecretName)
					}
				}
			}
			for _, vm := range c.VolumeMounts {
				if !vols[vm.Name] {
					t.Errorf("%s: volumeMount %s has no volume", where, vm.Name)
				}
			}

			addr, serves := env["COMMPULSE_HTTP_ADDR"]
			if !serves {
				if !strings.HasPrefix(where, "Job ") {
					t.Errorf("%s: a long-running container without COMMPULSE_HTTP_ADDR has no probes or metrics", where)
				}
				return
			}
			_, port, err := net.SplitHostPort(addr)
			if err != nil {
				t.Fatalf("%s: COMMPULSE_HTTP_ADDR %q: %v", where, addr, err)
			}
			portNames := map[string]string{}
			for _, p := range c.Ports {
				portNames[p.Name] = strconv.Itoa(p.ContainerPort)
			}
			probePort := func(p *probe, what, path string) {
				if p == nil || p.HTTPGet == nil {
					t.Errorf("%s: no %s probe", where, what)
					return
				}
				if p.HTTPGet.Path != path {
					t.Errorf("%s: %s probe on %s, want %s", where, what, p.HTTPGet.Path, path)
				}
				got := ""
				switch v := p.HTTPGet.Port.(type) {
				case string:
					got = portNames[v]
				case int:
					got = strconv.Itoa(v)
				}
				if got != port {
					t.Errorf("%s: %s probe port %v is not the HTTP port %s", where, what, p.HTTPGet.Port, port)
				}
			}
			probePort(c.LivenessProbe, "liveness", "/healthz")
			probePort(c.ReadinessProbe, "readiness", "/readyz")
			if c.StartupProbe != nil {
				probePort(c.StartupProbe, "startup", "/healthz")
			}
			ann := nc.meta.Annotations
			if ann["prometheus.io/scrape"] != "true" || ann["prometheus.io/port"] != port || ann["prometheus.io/path"] != "/metrics" {
				t.Errorf("%s: scrape annotations %v do not point at :%s/metrics", where, ann, port)
			}
			// The drain on SIGTERM must fit in the grace period.
			if d, ok := env["COMMPULSE_SHUTDOWN_TIMEOUT"]; ok {
				st, _ := time.ParseDuration(d)
				grace := 30 // the Kubernetes default
				if ps.TerminationGracePeriodSeconds != nil {
					grace = *ps.TerminationGracePeriodSeconds
				}
				if time.Duration(grace)*time.Second <= st {
					t.Errorf("%s: terminationGracePeriodSeconds %d does not exceed the shutdown timeout %s", where, grace, st)
				}
			}
		})
	}
	for _, want := range []string{"ingest", "analyze", "migrate"} {
		if !subs[want] {
			t.Errorf("no workload runs commpulse %s", want)
		}
	}

	// ingest: a Deployment that scales up to the partition count.
	ing := m.deployments["commpulse-ingest"]
	if ing == nil {
		t.Fatal("no Deployment commpulse-ingest")
	}
	if r := ing.Spec.Replicas; r == nil || *r < 1 || *r > partitions {
		t.Errorf("ingest replicas %s; want 1..%d (the events topic's partitions)", intPtr(r), partitions)
	}
	hpa := m.hpas["commpulse-ingest"]
	if hpa == nil {
		t.Error("no HorizontalPodAutoscaler for ingest")
	} else {
		if hpa.Spec.ScaleTargetRef.Kind != "Deployment" || hpa.Spec.ScaleTargetRef.Name != "commpulse-ingest" {
			t.Errorf("HPA targets %s/%s", hpa.Spec.ScaleTargetRef.Kind, hpa.Spec.ScaleTargetRef.Name)
		}
		if hpa.Spec.MaxReplicas != partitions || hpa.Spec.MinReplicas < 1 || hpa.Spec.MinReplicas > hpa.Spec.MaxReplicas {
			t.Errorf("HPA %d..%d replicas; want the maximum at the partition count %d (more consumers than partitions idle)", hpa.Spec.MinReplicas, hpa.Spec.MaxReplicas, partitions)
		}
	}
	// analyze: exactly one, never two during a rollout.
	an := m.deployments["commpulse-analyze"]
	if an == nil {
		t.Fatal("no Deployment commpulse-analyze")
	}
	if r := an.Spec.Replicas; r == nil || *r != 1 || an.Spec.Strategy.Type != "Recreate" {
		t.Errorf("analyze replicas %s strategy %q; want 1 and Recreate", intPtr(r), an.Spec.Strategy.Type)
	}
	if _, ok := m.hpas["commpulse-analyze"]; ok {
		t.Error("analyze must not autoscale")
	}
	for name, d := range m.deployments {
		if !subset(d.Spec.Selector.MatchLabels, d.Spec.Template.Metadata.Labels) {
			t.Errorf("Deployment %s: selector %v does not match its pod labels %v", name, d.Spec.Selector.MatchLabels, d.Spec.Template.Metadata.Labels)
		}
	}
	for name, p := range m.pdbs {
		if !matchesSomePod(m, p.Spec.Selector.MatchLabels) {
			t.Errorf("PodDisruptionBudget %s selects no pod", name)
		}
	}
}

func intPtr(p *int) string {
	if p == nil {
		return "unset"
	}
	return strconv.Itoa(*p)
}

func checkSecretFile(t *testing.T, m manifests, nc namedContainer, key, path string) {
	t.Helper()
	dir, file := filepath.Split(path)
	dir = strings.TrimSuffix(dir, "/")
	for _, vm := range nc.c.VolumeMounts {
		if vm.MountPath != dir {
			continue
		}
		for _, v := range nc.pod.Volumes {
			if v.Name == vm.Name && v.Secret != nil {
				s := m.secrets[v.Secret.SecretName]
				if s == nil {
					return // reported with the volumes
				}
				if _, ok := s.StringData[file]; !ok {
					if _, ok := s.Data[file]; !ok {
						t.Errorf("%s: %s=%s: Secret %s has no key %s", nc.where, key, path, v.Secret.SecretName, file)
					}
				}
				if !vm.ReadOnly {
					t.Errorf("%s: secret mount %s is writable", nc.where, vm.MountPath)
				}
				return
			}
		}
	}
	t.Errorf("%s: %s=%s is not in a mounted Secret", nc.where, key, path)
}

func subset(sel, labels map[string]string) bool {
	if len(sel) == 0 {
		return false
	}
	for k, v := range sel {
		if labels[k] != v {
			return false
		}
	}
	return true
}

func matchesSomePod(m manifests, sel map[string]string) bool {
	for _, d := range m.deployments {
		if subset(sel, d.Spec.Template.Metadata.Labels) {
			return true
		}
	}
	return false
}

// TestKubernetesServicesAndScraping checks that Services select pods and
// name their ports, that the ServiceMonitor finds them, and that the
// Service names are the job names the alert rules select on.
func TestKubernetesServicesAndScraping(t *testing.T) {
	m := loadManifests(t)
	for _, name := range sortedKeys(m.services) {
		s := m.services[name]
		var pod *k8sDeployment
		for _, d := range m.deployments {
			if subset(s.Spec.Selector, d.Spec.Template.Metadata.Labels) {
				pod = d
			}
		}
		if pod == nil {
			t.Errorf("Service %s selects no Deployment's pods", name)
			continue
		}
		for _, p := range s.Spec.Ports {
			tp, ok := p.TargetPort.(string)
			if !ok {
				t.Errorf("Service %s port %s: use the container port's name as targetPort", name, p.Name)
				continue
			}
			found := false
			for _, c := range pod.Spec.Template.Spec.Containers {
				for _, cp := range c.Ports {
					found = found || cp.Name == tp
				}
			}
			if !found {
				t.Errorf("Service %s targetPort %s is no container port of %s", name, tp, pod.Metadata.Name)
			}
		}
	}
	// Jobs the rules alert on when down are Services here.
	jobRE := regexp.MustCompile(`up\{job="([^"]+)"\}`)
	for _, path := range ruleFiles(t) {
		for _, g := range loadRules(t, path).Groups {
			for _, r := range g.Rules {
				for _, mm := range jobRE.FindAllStringSubmatch(r.Expr, -1) {
					if _, ok := m.services[mm[1]]; !ok {
						t.Errorf("rule %s watches job %s, which is no Service (the ServiceMonitor's job label)", r.Alert, mm[1])
					}
				}
			}
		}
	}
	if len(m.monitors) == 0 {
		t.Fatal("no ServiceMonitor")
	}
	for name, sm := range m.monitors {
		selected := 0
		for _, s := range m.services {
			if subset(sm.Spec.Selector.MatchLabels, s.Metadata.Labels) {
				selected++
				hasPort := false
				for _, p := range s.Spec.Ports {
					for _, ep := range sm.Spec.Endpoints {
						hasPort = hasPort || ep.Port == p.Name
					}
				}
				if !hasPort {
					t.Errorf("ServiceMonitor %s selects Service %s but no endpoint port matches its ports", name, s.Metadata.Name)
				}
			}
		}
		if selected < 2 {
			t.Errorf("ServiceMonitor %s selects %d Services; want ingest and analyze", name, selected)
		}
	}
}
