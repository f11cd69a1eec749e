package quota

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/utils/ptr"
)

var (
	podsGR     = schema.GroupResource{Resource: "pods"}
	servicesGR = schema.GroupResource{Resource: "services"}
	now        = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
)

func rl(kv ...string) corev1.ResourceList {
	out := corev1.ResourceList{}
	for i := 0; i < len(kv); i += 2 {
		out[corev1.ResourceName(kv[i])] = resource.MustParse(kv[i+1])
	}
	return out
}

func container(name string, requests, limits corev1.ResourceList) corev1.Container {
	return corev1.Container{Name: name, Resources: corev1.ResourceRequirements{Requests: requests, Limits: limits}}
}

func podWith(cs ...corev1.Container) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"}, Spec: corev1.PodSpec{Containers: cs}}
}

func TestUsage(t *testing.T) {
	t.Parallel()
	deleted := metav1.NewTime(now.Add(-time.Minute))
	tests := []struct {
		name string
		gr   schema.GroupResource
		obj  runtime.Object
		want string
	}{
		{name: "a pod charges its count and compute resources", gr: podsGR,
			obj:  podWith(container("a", rl("cpu", "100m", "memory", "64Mi"), rl("cpu", "200m")), container("b", rl("cpu", "50m"), nil)),
			want: "count/pods=1,cpu=150m,limits.cpu=200m,memory=64Mi,pods=1,requests.cpu=150m,requests.memory=64Mi"},
		{name: "a finished pod charges only its count", gr: podsGR,
			obj: func() *corev1.Pod {
				p := podWith(container("a", rl("cpu", "1"), nil))
				p.Status.Phase = corev1.PodSucceeded
				return p
			}(),
			want: "count/pods=1"},
		{name: "a pod past its deletion grace charges only its count", gr: podsGR,
			obj: func() *corev1.Pod {
				p := podWith(container("a", nil, nil))
				p.DeletionTimestamp, p.DeletionGracePeriodSeconds = &deleted, ptr.To[int64](30)
				return p
			}(),
			want: "count/pods=1"},
		{name: "hugepages and extended resources", gr: podsGR,
			obj:  podWith(container("a", rl("hugepages-2Mi", "4Mi", "example.com/gpu", "1"), nil)),
			want: "count/pods=1,hugepages-2Mi=4Mi,pods=1,requests.example.com/gpu=1,requests.hugepages-2Mi=4Mi"},
		{name: "a NodePort service charges its ports", gr: servicesGR,
			obj:  &corev1.Service{Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort, Ports: []corev1.ServicePort{{Port: 1}, {Port: 2}}}},
			want: "count/services=1,services=1,services.nodeports=2"},
		{name: "a LoadBalancer service", gr: servicesGR,
			obj:  &corev1.Service{Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, Ports: []corev1.ServicePort{{Port: 1}}}},
			want: "count/services=1,services=1,services.loadbalancers=1,services.nodeports=1"},
		{name: "a claim charges its storage by class", gr: schema.GroupResource{Resource: "persistentvolumeclaims"},
			obj: &corev1.PersistentVolumeClaim{Spec: corev1.PersistentVolumeClaimSpec{StorageClassName: ptr.To("fast"),
				Resources: corev1.VolumeResourceRequirements{Requests: rl("storage", "1Gi")}}},
			want: "count/persistentvolumeclaims=1,fast.storageclass.storage.k8s.io/persistentvolumeclaims=1,fast.storageclass.storage.k8s.io/requests.storage=1Gi,persistentvolumeclaims=1,requests.storage=1Gi"},
		{name: "any other kind charges its count", gr: schema.GroupResource{Group: "apps", Resource: "deployments"},
			obj: &corev1.ConfigMap{}, want: "count/deployments.apps=1"},
		{name: "config maps have a legacy name", gr: schema.GroupResource{Resource: "configmaps"},
			obj: &corev1.ConfigMap{}, want: "configmaps=1,count/configmaps=1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Format(Usage(tt.gr, tt.obj, now)); got != tt.want {
				t.Errorf("usage\n got %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestPodRequestsWithInitContainersSidecarsAndOverhead(t *testing.T) {
	t.Parallel()
	p := podWith(container("app", rl("cpu", "100m"), nil))
	p.Spec.InitContainers = []corev1.Container{
		{Name: "sidecar", RestartPolicy: ptr.To(corev1.ContainerRestartPolicyAlways), Resources: corev1.ResourceRequirements{Requests: rl("cpu", "50m")}},
		container("setup", rl("cpu", "500m"), nil),
	}
	p.Spec.Overhead = rl("cpu", "10m", "memory", "1Mi")
	if got := Format(PodRequests(p)); got != "cpu=560m,memory=1Mi" {
		t.Errorf("requests %s, want the init container with the sidecar running (550m) plus overhead", got)
	}
	if got := Format(PodLimits(p)); got != "" {
		t.Errorf("limits %s, want none: overhead applies only to limits that are set", got)
	}
}

func TestApplies(t *testing.T) {
	t.Parallel()
	quota := func(scopes ...corev1.ResourceQuotaScope) *corev1.ResourceQuota {
		return &corev1.ResourceQuota{Spec: corev1.ResourceQuotaSpec{Scopes: scopes}}
	}
	bestEffort := podWith(container("a", nil, nil))
	burstable := podWith(container("a", rl("cpu", "1"), nil))
	terminating := podWith(container("a", nil, nil))
	terminating.Spec.ActiveDeadlineSeconds = ptr.To[int64](10)
	high := podWith(container("a", nil, nil))
	high.Spec.PriorityClassName = "high"
	prio := &corev1.ResourceQuota{Spec: corev1.ResourceQuotaSpec{ScopeSelector: &corev1.ScopeSelector{MatchExpressions: []corev1.ScopedResourceSelectorRequirement{
		{ScopeName: corev1.ResourceQuotaScopePriorityClass, Operator: corev1.ScopeSelectorOpIn, Values: []string{"high"}}}}}}
	tests := []struct {
		name string
		q    *corev1.ResourceQuota
		hard corev1.ResourceList
		gr   schema.GroupResource
		obj  runtime.Object
		want bool
	}{
		{name: "a pod quota covers a pod", q: quota(), hard: rl("pods", "2"), gr: podsGR, obj: burstable, want: true},
		{name: "a pod quota does not cover a service", q: quota(), hard: rl("pods", "2"), gr: servicesGR, obj: &corev1.Service{}},
		{name: "BestEffort covers a pod without requests", q: quota(corev1.ResourceQuotaScopeBestEffort), hard: rl("pods", "2"), gr: podsGR, obj: bestEffort, want: true},
		{name: "BestEffort does not cover a burstable pod", q: quota(corev1.ResourceQuotaScopeBestEffort), hard: rl("pods", "2"), gr: podsGR, obj: burstable},
		{name: "NotBestEffort covers a burstable pod", q: quota(corev1.ResourceQuotaScopeNotBestEffort), hard: rl("pods", "2"), gr: podsGR, obj: burstable, want: true},
		{name: "Terminating covers a pod with a deadline", q: quota(corev1.ResourceQuotaScopeTerminating), hard: rl("pods", "2"), gr: podsGR, obj: terminating, want: true},
		{name: "NotTerminating does not", q: quota(corev1.ResourceQuotaScopeNotTerminating), hard: rl("pods", "2"), gr: podsGR, obj: terminating},
		{name: "a priority class selector matches its class", q: prio, hard: rl("pods", "2"), gr: podsGR, obj: high, want: true},
		{name: "a priority class selector skips others", q: prio, hard: rl("pods", "2"), gr: podsGR, obj: bestEffort},
		{name: "a scoped quota never covers other kinds", q: quota(corev1.ResourceQuotaScopeBestEffort), hard: rl("count/services", "2"), gr: servicesGR, obj: &corev1.Service{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Applies(tt.q, tt.hard, tt.gr, tt.obj)
			if err != nil || got != tt.want {
				t.Errorf("Applies = %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

func TestConstraints(t *testing.T) {
	t.Parallel()
	p := podWith(container("app", rl("cpu", "1"), nil), container("side", nil, nil))
	err := Constraints(podsGR, []corev1.ResourceName{"pods", "requests.cpu", "limits.memory"}, p)
	want := "must specify limits.memory for: app,side; requests.cpu for: side"
	if err == nil || err.Error() != want {
		t.Errorf("Constraints = %v, want %q", err, want)
	}
	if err := Constraints(podsGR, []corev1.ResourceName{"pods", "requests.storage"}, p); err != nil {
		t.Errorf("a quota without cpu or memory asked for requests: %v", err)
	}
}

func TestLessThanOrEqualAndFormat(t *testing.T) {
	t.Parallel()
	ok, exceeded := LessThanOrEqual(rl("pods", "3", "cpu", "1"), rl("pods", "2", "cpu", "2", "memory", "1Gi"))
	if ok || len(exceeded) != 1 || exceeded[0] != "pods" {
		t.Errorf("LessThanOrEqual = %v %v", ok, exceeded)
	}
	if got := Format(Add(rl("cpu", "500m"), rl("cpu", "500m", "pods", "1"))); got != "cpu=1,pods=1" {
		t.Errorf("Format(Add) = %s", got)
	}
}
