package deploy

import (
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"commpulse/pipeline/analyze"
)

type k8sStatefulSet struct {
	header `yaml:",inline"`
	Spec   struct {
		ServiceName          string        `yaml:"serviceName"`
		Replicas             *int          `yaml:"replicas"`
		PodManagementPolicy  string        `yaml:"podManagementPolicy"`
		RevisionHistoryLimit int           `yaml:"revisionHistoryLimit"`
		Selector             labelSelector `yaml:"selector"`
		UpdateStrategy       struct {
			Type string `yaml:"type"`
		} `yaml:"updateStrategy"`
		Template             podTemplate `yaml:"template"`
		VolumeClaimTemplates []struct {
			Metadata objectMeta `yaml:"metadata"`
			Spec     struct {
				AccessModes      []string `yaml:"accessModes"`
				StorageClassName *string  `yaml:"storageClassName"`
				Resources        struct {
					Requests map[string]string `yaml:"requests"`
				} `yaml:"resources"`
			} `yaml:"spec"`
		} `yaml:"volumeClaimTemplates"`
	} `yaml:"spec"`
}

type overlayKustomization struct {
	APIVersion string   `yaml:"apiVersion"`
	Kind       string   `yaml:"kind"`
	Namespace  string   `yaml:"namespace"`
	Resources  []string `yaml:"resources"`
	Patches    []struct {
		Patch string `yaml:"patch"`
		Path  string `yaml:"path"`
	} `yaml:"patches"`
}

// The sharded-analyze overlay: the base with the analyze Deployment
// deleted and a StatefulSet whose pods are the analyze pod with a shard
// each, the shard being the pod's ordinal.
func TestKubernetesShardedAnalyze(t *testing.T) {
	dir := filepath.Join(root, "deploy/kubernetes/sharded-analyze")
	var k overlayKustomization
	decodeYAMLFile(t, filepath.Join(dir, "kustomization.yaml"), &k, true)
	if k.Namespace != "commpulse" || len(k.Resources) != 2 || k.Resources[0] != "../" || k.Resources[1] != "analyze-statefulset.yaml" {
		t.Errorf("overlay namespace %q resources %v; want the base and the StatefulSet", k.Namespace, k.Resources)
	}
	var del struct {
		Patch      string     `yaml:"$patch"`
		APIVersion string     `yaml:"apiVersion"`
		Kind       string     `yaml:"kind"`
		Metadata   objectMeta `yaml:"metadata"`
	}
	if len(k.Patches) != 1 {
		t.Fatalf("overlay patches %d; want the one deleting the analyze Deployment", len(k.Patches))
	}
	decodeYAMLString(t, k.Patches[0].Patch, &del)
	base := loadManifests(t)
	dep := base.deployments[del.Metadata.Name]
	if del.Patch != "delete" || del.Kind != "Deployment" || dep == nil || dep.Spec.Template.Spec.Containers[0].Args[0] != "analyze" {
		t.Fatalf("overlay patch %+v does not delete the base's analyze Deployment: two analyzers would own every team", del)
	}

	var ss k8sStatefulSet
	decodeYAMLFile(t, filepath.Join(dir, "analyze-statefulset.yaml"), &ss, true)
	if ss.Kind != "StatefulSet" || ss.APIVersion != "apps/v1" || ss.Metadata.Namespace != "commpulse" || ss.Metadata.Labels["app.kubernetes.io/part-of"] != "commpulse" {
		t.Fatalf("analyze-statefulset.yaml: %s %s in %q", ss.APIVersion, ss.Kind, ss.Metadata.Namespace)
	}
	if ss.Spec.PodManagementPolicy != "Parallel" {
		t.Errorf("podManagementPolicy %q: the shards wait for each other, OrderedReady never starts pod 1", ss.Spec.PodManagementPolicy)
	}
	if _, ok := base.services[ss.Spec.ServiceName]; !ok {
		t.Errorf("serviceName %q is not a Service of the base", ss.Spec.ServiceName)
	}
	if !subset(ss.Spec.Selector.MatchLabels, ss.Spec.Template.Metadata.Labels) {
		t.Errorf("selector %v does not match the pod labels", ss.Spec.Selector.MatchLabels)
	}
	pod := ss.Spec.Template.Spec
	if len(pod.Containers) != 1 {
		t.Fatalf("%d containers", len(pod.Containers))
	}
	c := pod.Containers[0]
	env := map[string]string{}
	var shardFrom string
	for _, e := range c.Env {
		if e.ValueFrom != nil {
			if e.Name == "COMMPULSE_SHARD" && e.ValueFrom.FieldRef != nil {
				shardFrom = e.ValueFrom.FieldRef.FieldPath
			} else {
				t.Errorf("env %s from %+v", e.Name, e.ValueFrom)
			}
			continue
		}
		env[e.Name] = e.Value
	}
	checkFlagEnv(t, "StatefulSet "+ss.Metadata.Name, "analyze", env)
	if shardFrom != "metadata.name" {
		t.Errorf("COMMPULSE_SHARD from %q; want the pod's name (metadata.name)", shardFrom)
	}
	shards, err := strconv.Atoi(env["COMMPULSE_SHARDS"])
	if err != nil || ss.Spec.Replicas == nil || *ss.Spec.Replicas != shards || shards < 2 {
		t.Errorf("replicas %s, COMMPULSE_SHARDS %q: want the same number, at least 2", intPtr(ss.Spec.Replicas), env["COMMPULSE_SHARDS"])
	}
	for i := range shards {
		pod := ss.Metadata.Name + "-" + strconv.Itoa(i)
		if n, err := analyze.ParseShard(pod); err != nil || n != i {
			t.Errorf("pod %s reads as shard %d, %v", pod, n, err)
		}
	}
	// Everything else is the single analyzer's pod: security, probes,
	// ports, secrets, scraping.
	want := dep.Spec.Template
	wc := want.Spec.Containers[0]
	for what, pair := range map[string][2]any{
		"pod securityContext":       {pod.SecurityContext, want.Spec.SecurityContext},
		"automountServiceAccount":   {pod.AutomountServiceAccountToken, want.Spec.AutomountServiceAccountToken},
		"volumes":                   {pod.Volumes, want.Spec.Volumes},
		"image and args":            {[]any{c.Image, c.Args, c.Command}, []any{wc.Image, wc.Args, wc.Command}},
		"envFrom":                   {c.EnvFrom, wc.EnvFrom},
		"ports":                     {c.Ports, wc.Ports},
		"probes":                    {[]*probe{c.LivenessProbe, c.ReadinessProbe, c.StartupProbe}, []*probe{wc.LivenessProbe, wc.ReadinessProbe, wc.StartupProbe}},
		"volumeMounts":              {c.VolumeMounts, wc.VolumeMounts},
		"container securityContext": {c.SecurityContext, wc.SecurityContext},
		"pod annotations":           {ss.Spec.Template.Metadata.Annotations, want.Metadata.Annotations},
		"pod labels":                {ss.Spec.Template.Metadata.Labels, want.Metadata.Labels},
	} {
		if !reflect.DeepEqual(pair[0], pair[1]) {
			t.Errorf("%s differs from the analyze Deployment's:\n%+v\n%+v", what, pair[0], pair[1])
		}
	}
	baseEnv := map[string]string{}
	for _, e := range wc.Env {
		baseEnv[e.Name] = e.Value
	}
	for k, v := range baseEnv {
		if env[k] != v {
			t.Errorf("env %s=%q, the analyze Deployment has %q", k, env[k], v)
		}
	}
	if !quantity.MatchString(c.Resources.Limits["memory"]) || !quantity.MatchString(c.Resources.Requests["memory"]) {
		t.Errorf("resources %+v", c.Resources)
	}
}

func decodeYAMLString(t *testing.T, s string, v any) {
	t.Helper()
	dec := yaml.NewDecoder(strings.NewReader(s))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%q: %v", s, err)
	}
}
