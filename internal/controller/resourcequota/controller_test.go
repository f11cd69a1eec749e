package resourcequota

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	clocktesting "k8s.io/utils/clock/testing"

	"capstan/internal/quota"
)

func rl(kv ...string) corev1.ResourceList {
	out := corev1.ResourceList{}
	for i := 0; i < len(kv); i += 2 {
		out[corev1.ResourceName(kv[i])] = resource.MustParse(kv[i+1])
	}
	return out
}

func pod(name string, phase corev1.PodPhase, requests corev1.ResourceList) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns"},
		Spec:   corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Resources: corev1.ResourceRequirements{Requests: requests}}}},
		Status: corev1.PodStatus{Phase: phase}}
}

func rq(name string, hard corev1.ResourceList, scopes ...corev1.ResourceQuotaScope) *corev1.ResourceQuota {
	return &corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns"}, Spec: corev1.ResourceQuotaSpec{Hard: hard, Scopes: scopes}}
}

// syncAll fills the caches from objs and syncs every quota, returning their statuses.
func syncAll(t *testing.T, objs ...runtime.Object) map[string]corev1.ResourceQuotaStatus {
	t.Helper()
	client := fake.NewClientset(objs...)
	factory := informers.NewSharedInformerFactory(client, 0)
	c, err := New(Options{Client: client, Informers: factory, Clock: clocktesting.NewFakeClock(time.Now())})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		var err error
		switch o.(type) {
		case *corev1.Pod:
			err = factory.Core().V1().Pods().Informer().GetIndexer().Add(o)
		case *corev1.ResourceQuota:
			err = factory.Core().V1().ResourceQuotas().Informer().GetIndexer().Add(o)
		case *corev1.Service:
			err = factory.Core().V1().Services().Informer().GetIndexer().Add(o)
		case *corev1.ConfigMap:
			err = factory.Core().V1().ConfigMaps().Informer().GetIndexer().Add(o)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	out := map[string]corev1.ResourceQuotaStatus{}
	for _, o := range objs {
		if q, ok := o.(*corev1.ResourceQuota); ok {
			if err := c.sync(t.Context(), "ns/"+q.Name); err != nil {
				t.Fatal(err)
			}
			got, err := client.CoreV1().ResourceQuotas("ns").Get(t.Context(), q.Name, metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			out[q.Name] = got.Status
		}
	}
	return out
}

func TestUsageIsCountedPerQuota(t *testing.T) {
	t.Parallel()
	st := syncAll(t,
		rq("compute", rl("pods", "5", "requests.cpu", "2", "configmaps", "3", "services.nodeports", "1")),
		rq("besteffort", rl("pods", "5"), corev1.ResourceQuotaScopeBestEffort),
		pod("sized", corev1.PodRunning, rl("cpu", "500m")),
		pod("plain", corev1.PodPending, nil),
		pod("done", corev1.PodSucceeded, rl("cpu", "1")),
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cm", Namespace: "ns"}},
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "elsewhere", Namespace: "other"}},
		&corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "np", Namespace: "ns"}, Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort, Ports: []corev1.ServicePort{{Port: 80}}}},
	)
	if got := quota.Format(st["compute"].Used); got != "configmaps=1,pods=2,requests.cpu=500m,services.nodeports=1" {
		t.Errorf("compute quota used %s", got)
	}
	if got := quota.Format(st["compute"].Hard); got != "configmaps=3,pods=5,requests.cpu=2,services.nodeports=1" {
		t.Errorf("compute quota hard %s, want spec.hard", got)
	}
	if got := quota.Format(st["besteffort"].Used); got != "pods=1" {
		t.Errorf("BestEffort quota used %s, want only the pod without requests", got)
	}
}

func TestLowersUsage(t *testing.T) {
	t.Parallel()
	now := time.Now()
	running := pod("p", corev1.PodRunning, nil)
	finished := pod("p", corev1.PodSucceeded, nil)
	if !lowersUsage(running, finished, now) {
		t.Error("a pod that finished does not trigger a recount")
	}
	relabelled := running.DeepCopy()
	relabelled.Labels = map[string]string{"a": "b"}
	if lowersUsage(running, relabelled, now) {
		t.Error("a label change triggers a recount")
	}
}
