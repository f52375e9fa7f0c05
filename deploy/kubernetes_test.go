package deploy

import (
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	klabels "k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"
)

// kubeObjects is the Kubernetes example, each document decoded strictly
// (an unknown or misspelt field fails) into the official type of its kind.
type kubeObjects struct {
	deployment *appsv1.Deployment
	service    *corev1.Service
	secret     *corev1.Secret
	pdb        *policyv1.PodDisruptionBudget
}

var yamlDocSep = regexp.MustCompile(`(?m)^---\s*$`)

func readKubernetes(t *testing.T) kubeObjects {
	t.Helper()
	files, err := filepath.Glob("kubernetes/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no kubernetes/*.yaml: %v", err)
	}
	var objs kubeObjects
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, doc := range yamlDocSep.Split(string(b), -1) {
			var tm metav1.TypeMeta
			if err := yaml.Unmarshal([]byte(doc), &tm); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			if tm.Kind == "" {
				continue // comments only
			}
			var dst any
			switch tm.APIVersion + " " + tm.Kind {
			case "apps/v1 Deployment":
				objs.deployment = &appsv1.Deployment{}
				dst = objs.deployment
			case "v1 Service":
				objs.service = &corev1.Service{}
				dst = objs.service
			case "v1 Secret":
				objs.secret = &corev1.Secret{}
				dst = objs.secret
			case "policy/v1 PodDisruptionBudget":
				objs.pdb = &policyv1.PodDisruptionBudget{}
				dst = objs.pdb
			default:
				t.Fatalf("%s: unexpected %s %s", f, tm.APIVersion, tm.Kind)
			}
			if err := yaml.UnmarshalStrict([]byte(doc), dst); err != nil {
				t.Fatalf("%s: %s: %v", f, tm.Kind, err)
			}
		}
	}
	if objs.deployment == nil || objs.service == nil || objs.secret == nil || objs.pdb == nil {
		t.Fatalf("want a Deployment, a Service, a Secret and a PodDisruptionBudget, got %+v", objs)
	}
	return objs
}

// Strict decoding catches what kubectl would reject or silently drop: the
// check has to be able to fail.
func TestKubernetesStrictDecoding(t *testing.T) {
	const misspelt = `apiVersion: apps/v1
kind: Deployment
metadata: {name: x}
spec:
  template:
    spec:
      containers:
        - name: x
          readinessProbe: {httpGet: {path: /readyz, port: admin}, periodSecond: 5}
`
	if err := yaml.UnmarshalStrict([]byte(misspelt), &appsv1.Deployment{}); err == nil || !strings.Contains(err.Error(), `unknown field "periodSecond"`) {
		t.Fatalf("a misspelt field decoded: %v", err)
	}
}

func TestKubernetesExample(t *testing.T) {
	objs := readKubernetes(t)
	d := objs.deployment
	pod := d.Spec.Template.Spec
	if len(pod.Containers) != 1 {
		t.Fatalf("%d containers", len(pod.Containers))
	}
	c := pod.Containers[0]
	env := map[string]corev1.EnvVar{}
	for _, e := range c.Env {
		if _, dup := env[e.Name]; dup {
			t.Errorf("env %s twice", e.Name)
		}
		env[e.Name] = e
	}
	port := func(name string) int32 {
		t.Helper()
		for _, p := range c.Ports {
			if p.Name == name {
				return p.ContainerPort
			}
		}
		t.Fatalf("no container port %q", name)
		return 0
	}
	listenPort := func(variable string) string {
		t.Helper()
		_, p, err := net.SplitHostPort(env[variable].Value)
		if err != nil {
			t.Fatalf("%s %q: %v", variable, env[variable].Value, err)
		}
		return p
	}

	t.Run("replicas and selector", func(t *testing.T) {
		if d.Spec.Replicas == nil || *d.Spec.Replicas < 2 {
			t.Errorf("replicas %v, want at least 2", d.Spec.Replicas)
		}
		sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
		if err != nil {
			t.Fatal(err)
		}
		if !sel.Matches(labelSet(d.Spec.Template.Labels)) {
			t.Errorf("selector %v does not select the pods %v", sel, d.Spec.Template.Labels)
		}
		if ru := d.Spec.Strategy.RollingUpdate; ru == nil || ru.MaxUnavailable == nil || ru.MaxUnavailable.IntValue() != 0 {
			t.Errorf("rolling update %+v, want maxUnavailable 0", ru)
		}
	})

	t.Run("ports match the listeners", func(t *testing.T) {
		if got := listenPort("PUGUH_ADDR"); got != "8080" || port("http") != 8080 {
			t.Errorf("PUGUH_ADDR port %s, container port http %d", got, port("http"))
		}
		if got := listenPort("PUGUH_ADMIN_ADDR"); got != "9090" || port("admin") != 9090 {
			t.Errorf("PUGUH_ADMIN_ADDR port %s, container port admin %d", got, port("admin"))
		}
		if d.Spec.Template.Annotations["prometheus.io/port"] != "9090" {
			t.Errorf("prometheus.io/port %q", d.Spec.Template.Annotations["prometheus.io/port"])
		}
	})

	t.Run("probes on the admin listener", func(t *testing.T) {
		for _, p := range []struct {
			name  string
			probe *corev1.Probe
			path  string
		}{
			{"readiness", c.ReadinessProbe, "/readyz"},
			{"liveness", c.LivenessProbe, "/livez"},
			{"startup", c.StartupProbe, "/livez"},
		} {
			if p.probe == nil || p.probe.HTTPGet == nil {
				t.Errorf("%s probe %+v, want an HTTP GET", p.name, p.probe)
				continue
			}
			if p.probe.HTTPGet.Path != p.path || p.probe.HTTPGet.Port != intstr.FromString("admin") {
				t.Errorf("%s probe GET %s on %s, want %s on the admin port", p.name, p.probe.HTTPGet.Path, p.probe.HTTPGet.Port.String(), p.path)
			}
		}
	})

	t.Run("secret from a Secret", func(t *testing.T) {
		for _, name := range []string{"PUGUH_SECRET", "PUGUH_DATABASE_URL"} {
			e := env[name]
			if e.Value != "" || e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil {
				t.Errorf("%s is not read from a Secret: %+v", name, e)
				continue
			}
			ref := e.ValueFrom.SecretKeyRef
			if ref.Name != objs.secret.Name {
				t.Errorf("%s from Secret %q, want %q", name, ref.Name, objs.secret.Name)
			}
			if _, ok := objs.secret.StringData[ref.Key]; !ok {
				t.Errorf("%s from key %q, which the example Secret lacks", name, ref.Key)
			}
		}
		// A placeholder Puguh accepts could reach production; this one is
		// shorter than the 32 characters Puguh requires.
		if got := objs.secret.StringData["PUGUH_SECRET"]; len(got) >= 32 {
			t.Errorf("the example PUGUH_SECRET %q is long enough to be used", got)
		}
		if u, err := url.Parse(objs.secret.StringData["PUGUH_DATABASE_URL"]); err != nil || u.Scheme != "postgres" {
			t.Errorf("example PUGUH_DATABASE_URL %q", objs.secret.StringData["PUGUH_DATABASE_URL"])
		}
	})

	t.Run("trusted proxies", func(t *testing.T) {
		v := env["PUGUH_TRUSTED_PROXIES"].Value
		for _, item := range strings.Split(v, ",") {
			p, err := netip.ParsePrefix(strings.TrimSpace(item))
			if err != nil || p.Bits() == 0 {
				t.Errorf("PUGUH_TRUSTED_PROXIES item %q: %v (Puguh refuses /0)", item, err)
			}
		}
		if u, err := url.Parse(env["PUGUH_ISSUER"].Value); err != nil || u.Scheme != "https" {
			t.Errorf("PUGUH_ISSUER %q, want https", env["PUGUH_ISSUER"].Value)
		}
	})

	t.Run("resources", func(t *testing.T) {
		req, lim := c.Resources.Requests, c.Resources.Limits
		if req.Cpu().IsZero() || req.Memory().IsZero() {
			t.Errorf("requests %v, want cpu and memory", req)
		}
		// PUGUH_MEMORY_LIMIT=auto is 224 MiB at GOMAXPROCS 2 (the CPU
		// limit); the container's limit must leave room above it.
		if lim.Cpu().Cmp(resource.MustParse("2")) != 0 || lim.Memory().Cmp(resource.MustParse("384Mi")) < 0 {
			t.Errorf("limits %v, want cpu 2 and memory of at least 384Mi", lim)
		}
	})

	t.Run("non-root, read-only", func(t *testing.T) {
		psc, sc := pod.SecurityContext, c.SecurityContext
		if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.RunAsUser == nil || *psc.RunAsUser != 65532 {
			t.Errorf("pod securityContext %+v, want non-root as the image's nonroot user 65532", psc)
		}
		if sc == nil || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
			sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
			sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) {
			t.Errorf("container securityContext %+v", sc)
		}
		if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
			t.Errorf("the pod mounts a service account token it never uses")
		}
	})

	t.Run("graceful shutdown", func(t *testing.T) {
		pre := c.Lifecycle
		if pre == nil || pre.PreStop == nil || pre.PreStop.Sleep == nil || pre.PreStop.Sleep.Seconds <= 0 {
			t.Fatalf("preStop %+v, want a sleep (the image has no shell)", pre)
		}
		// The pause, then PUGUH_SHUTDOWN_TIMEOUT's 30s, within the grace period.
		if g := pod.TerminationGracePeriodSeconds; g == nil || *g <= pre.PreStop.Sleep.Seconds+30 {
			t.Errorf("terminationGracePeriodSeconds %v, want more than %d", g, pre.PreStop.Sleep.Seconds+30)
		}
	})

	t.Run("service and budget", func(t *testing.T) {
		s := objs.service
		if !labelSet(s.Spec.Selector).AsSelector().Matches(labelSet(d.Spec.Template.Labels)) || len(s.Spec.Selector) == 0 {
			t.Errorf("service selector %v does not select the pods", s.Spec.Selector)
		}
		if len(s.Spec.Ports) != 1 || s.Spec.Ports[0].TargetPort != intstr.FromString("http") {
			t.Errorf("service ports %+v, want the http port only (never admin)", s.Spec.Ports)
		}
		sel, err := metav1.LabelSelectorAsSelector(objs.pdb.Spec.Selector)
		if err != nil || !sel.Matches(labelSet(d.Spec.Template.Labels)) {
			t.Errorf("budget selector %v does not select the pods", objs.pdb.Spec.Selector)
		}
		if mu := objs.pdb.Spec.MaxUnavailable; mu == nil || mu.IntValue() != 1 {
			t.Errorf("budget maxUnavailable %v, want 1", mu)
		}
	})
}

func labelSet(m map[string]string) klabels.Set { return klabels.Set(m) }
