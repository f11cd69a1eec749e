package envvars

import (
	"context"
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func TestExpand(t *testing.T) {
	t.Parallel()
	vars := map[string]string{"A": "alpha", "B": "$(A)"}
	lookup := func(n string) (string, bool) { v, ok := vars[n]; return v, ok }
	for in, want := range map[string]string{
		"plain":          "plain",
		"$(A)-x":         "alpha-x",
		"$(MISSING)":     "$(MISSING)",
		"$$(A)":          "$(A)",
		"a$$b":           "a$b",
		"$(B)":           "$(A)", // no recursion
		"$(A":            "$(A",
		"$A $":           "$A $",
		"$()":            "$()",
		"$(A)$(A)":       "alphaalpha",
		"x $$$(A) y":     "x $alpha y",
		"trailing $":     "trailing $",
		"$(A)$$(A)$(A)x": "alpha$(A)alphax",
	} {
		if got := Expand(in, lookup); got != want {
			t.Errorf("Expand(%q) = %q; want %q", in, got, want)
		}
	}
}

func TestServiceVars(t *testing.T) {
	t.Parallel()
	svc := func(ns, name, ip string, ports ...corev1.ServicePort) *corev1.Service {
		return &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: corev1.ServiceSpec{ClusterIP: ip, Ports: ports}}
	}
	services := []*corev1.Service{
		svc("default", "kubernetes", "10.43.0.1", corev1.ServicePort{Name: "https", Port: 443, Protocol: corev1.ProtocolTCP}),
		svc("app", "my-db", "10.43.0.20", corev1.ServicePort{Port: 5432, Protocol: corev1.ProtocolTCP}, corev1.ServicePort{Name: "metrics", Port: 9090, Protocol: corev1.ProtocolUDP}),
		svc("app", "headless", "None"),
		svc("other", "elsewhere", "10.43.0.30", corev1.ServicePort{Port: 80}),
	}
	got := ServiceVars(services, "app", true)
	want := []Var{
		{"KUBERNETES_PORT", "tcp://10.43.0.1:443"},
		{"KUBERNETES_PORT_443_TCP", "tcp://10.43.0.1:443"},
		{"KUBERNETES_PORT_443_TCP_ADDR", "10.43.0.1"},
		{"KUBERNETES_PORT_443_TCP_PORT", "443"},
		{"KUBERNETES_PORT_443_TCP_PROTO", "tcp"},
		{"KUBERNETES_SERVICE_HOST", "10.43.0.1"},
		{"KUBERNETES_SERVICE_PORT", "443"},
		{"KUBERNETES_SERVICE_PORT_HTTPS", "443"},
		{"MY_DB_PORT", "tcp://10.43.0.20:5432"},
		{"MY_DB_PORT_5432_TCP", "tcp://10.43.0.20:5432"},
		{"MY_DB_PORT_5432_TCP_ADDR", "10.43.0.20"},
		{"MY_DB_PORT_5432_TCP_PORT", "5432"},
		{"MY_DB_PORT_5432_TCP_PROTO", "tcp"},
		{"MY_DB_PORT_9090_UDP", "udp://10.43.0.20:9090"},
		{"MY_DB_PORT_9090_UDP_ADDR", "10.43.0.20"},
		{"MY_DB_PORT_9090_UDP_PORT", "9090"},
		{"MY_DB_PORT_9090_UDP_PROTO", "udp"},
		{"MY_DB_SERVICE_HOST", "10.43.0.20"},
		{"MY_DB_SERVICE_PORT", "5432"},
		{"MY_DB_SERVICE_PORT_METRICS", "9090"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v\nwant %v", got, want)
	}
	if got := ServiceVars(services, "app", false); len(got) != 8 {
		t.Fatalf("with enableServiceLinks false only the kubernetes service should remain, got %v", got)
	}
}

type fakeSources struct {
	cms     map[string]*corev1.ConfigMap
	secrets map[string]*corev1.Secret
}

func (f fakeSources) ConfigMap(_ context.Context, ns, name string) (*corev1.ConfigMap, error) {
	if cm, ok := f.cms[ns+"/"+name]; ok {
		return cm, nil
	}
	return nil, apierrors.NewNotFound(schema.GroupResource{Resource: "configmaps"}, name)
}

func (f fakeSources) Secret(_ context.Context, ns, name string) (*corev1.Secret, error) {
	if s, ok := f.secrets[ns+"/"+name]; ok {
		return s, nil
	}
	return nil, apierrors.NewNotFound(schema.GroupResource{Resource: "secrets"}, name)
}

func TestResolve(t *testing.T) {
	t.Parallel()
	yes := true
	src := fakeSources{
		cms:     map[string]*corev1.ConfigMap{"app/cfg": {Data: map[string]string{"mode": "fast", "level": "3"}}},
		secrets: map[string]*corev1.Secret{"app/creds": {Data: map[string][]byte{"password": []byte("s3cret")}}},
	}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "app", UID: "u1", Labels: map[string]string{"tier": "front"}},
		Spec:       corev1.PodSpec{NodeName: "node1", ServiceAccountName: "default", EnableServiceLinks: new(bool)},
	}
	c := &corev1.Container{
		Name: "main",
		Resources: corev1.ResourceRequirements{
			Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("250m")},
			Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("64Mi")},
		},
		EnvFrom: []corev1.EnvFromSource{{Prefix: "CFG_", ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}}}},
		Env: []corev1.EnvVar{
			{Name: "GREETING", Value: "hello $(CFG_mode) $(NOPE)"},
			{Name: "PASSWORD", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "creds"}, Key: "password"}}},
			{Name: "MAYBE", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "absent"}, Key: "k", Optional: &yes}}},
			{Name: "POD_NAME", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
			{Name: "TIER", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.labels['tier']"}}},
			{Name: "POD_IP", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "status.podIP"}}},
			{Name: "NODE", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "spec.nodeName"}}},
			{Name: "CPU_REQ_MILLI", ValueFrom: &corev1.EnvVarSource{ResourceFieldRef: &corev1.ResourceFieldSelector{Resource: "requests.cpu", Divisor: resource.MustParse("1m")}}},
			{Name: "CPU_LIMIT", ValueFrom: &corev1.EnvVarSource{ResourceFieldRef: &corev1.ResourceFieldSelector{Resource: "limits.cpu"}}},
			{Name: "MEM_LIMIT_MI", ValueFrom: &corev1.EnvVarSource{ResourceFieldRef: &corev1.ResourceFieldSelector{Resource: "limits.memory", Divisor: resource.MustParse("1Mi")}}},
		},
	}
	info := PodInfo{PodIPs: []string{"10.42.0.9"}, HostIPs: []string{"192.0.2.2"}, Allocatable: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2")}}
	got, err := Resolve(t.Context(), src, pod, c, info)
	if err != nil {
		t.Fatal(err)
	}
	want := []Var{
		{"CFG_level", "3"}, {"CFG_mode", "fast"},
		{"GREETING", "hello fast $(NOPE)"}, {"PASSWORD", "s3cret"}, {"POD_NAME", "web"}, {"TIER", "front"},
		{"POD_IP", "10.42.0.9"}, {"NODE", "node1"}, {"CPU_REQ_MILLI", "250"}, {"CPU_LIMIT", "2"}, {"MEM_LIMIT_MI", "64"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %v\nwant %v", got, want)
	}
}

func TestResolveReportsMissingReferences(t *testing.T) {
	t.Parallel()
	src := fakeSources{cms: map[string]*corev1.ConfigMap{"ns/cfg": {Data: map[string]string{}}}}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns"}}
	ref := func(name, key string) []corev1.EnvVar {
		return []corev1.EnvVar{{Name: "X", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: name}, Key: key}}}}
	}
	for _, tc := range []struct {
		env  []corev1.EnvVar
		want string
	}{
		{ref("gone", "k"), `configmap "gone" not found`},
		{ref("cfg", "k"), "couldn't find key k in ConfigMap ns/cfg"},
		{[]corev1.EnvVar{{Name: "S", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "s"}, Key: "k"}}}}, `secret "s" not found`},
	} {
		_, err := Resolve(context.Background(), src, pod, &corev1.Container{Env: tc.env}, PodInfo{})
		var ce *ConfigError
		if err == nil || !asConfigError(err, &ce) || ce.Message != tc.want {
			t.Errorf("error = %v; want config error %q", err, tc.want)
		}
	}
}

func asConfigError(err error, target **ConfigError) bool {
	ce, ok := err.(*ConfigError)
	*target = ce
	return ok
}
