package integration

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"

	"capstan/internal/server"
	capstantesting "capstan/internal/testing"
)

func start(t *testing.T) *capstantesting.Server {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test")
	}
	return capstantesting.StartServer(t)
}

func TestIntegrationSystemObjects(t *testing.T) {
	s := start(t)
	ctx := t.Context()
	nss, err := s.Client.CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]corev1.NamespacePhase{}
	for _, ns := range nss.Items {
		got[ns.Name] = ns.Status.Phase
	}
	for _, want := range []string{"default", "kube-system", "kube-public", "kube-node-lease"} {
		if got[want] != corev1.NamespaceActive {
			t.Errorf("namespace %s: phase %q, want Active (have %v)", want, got[want], got)
		}
	}
	svc, err := s.Client.CoreV1().Services("default").Get(ctx, "kubernetes", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if svc.Spec.ClusterIP != "10.43.0.1" || svc.Spec.Ports[0].Port != 443 {
		t.Errorf("kubernetes service: clusterIP %s ports %v, want 10.43.0.1:443", svc.Spec.ClusterIP, svc.Spec.Ports)
	}
	ep, err := s.Client.CoreV1().Endpoints("default").Get(ctx, "kubernetes", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(ep.Subsets) != 1 || ep.Subsets[0].Addresses[0].IP != "127.0.0.1" {
		t.Errorf("kubernetes endpoints: %+v, want 127.0.0.1", ep.Subsets)
	}
	if _, err := s.Client.DiscoveryV1().EndpointSlices("default").Get(ctx, "kubernetes", metav1.GetOptions{}); err != nil {
		t.Errorf("kubernetes endpointslice: %v", err)
	}
	err = s.Client.CoreV1().Namespaces().Delete(ctx, "kube-system", metav1.DeleteOptions{})
	if !apierrors.IsForbidden(err) {
		t.Errorf("deleting kube-system: got %v, want Forbidden", err)
	}
}

func TestIntegrationCRUDAndConcurrency(t *testing.T) {
	s := start(t)
	ctx := t.Context()
	cms := s.Client.CoreV1().ConfigMaps("default")
	cm, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{GenerateName: "cfg-"}, Data: map[string]string{"a": "1"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(cm.Name) != len("cfg-")+5 || cm.UID == "" || cm.CreationTimestamp.IsZero() || cm.ResourceVersion == "" {
		t.Fatalf("create did not fill name/uid/timestamp/rv: %+v", cm.ObjectMeta)
	}

	stale := cm.DeepCopy()
	cm.Data["a"] = "2"
	if cm, err = cms.Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	stale.Data["a"] = "3"
	if _, err := cms.Update(ctx, stale, metav1.UpdateOptions{}); !apierrors.IsConflict(err) {
		t.Fatalf("update with stale resourceVersion: got %v, want Conflict", err)
	}
	if _, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: cm.Name}}, metav1.CreateOptions{}); !apierrors.IsAlreadyExists(err) {
		t.Fatalf("duplicate create: got %v, want AlreadyExists", err)
	}

	for _, tc := range []struct {
		name  string
		pt    types.PatchType
		patch string
		want  string
	}{
		{"json patch", types.JSONPatchType, `[{"op":"replace","path":"/data/a","value":"json"}]`, "json"},
		{"merge patch", types.MergePatchType, `{"data":{"a":"merge"}}`, "merge"},
		{"strategic merge patch", types.StrategicMergePatchType, `{"data":{"a":"smp"}}`, "smp"},
	} {
		t.Run(tc.name+" changes the object", func(t *testing.T) {
			got, err := cms.Patch(ctx, cm.Name, tc.pt, []byte(tc.patch), metav1.PatchOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if got.Data["a"] != tc.want {
				t.Errorf("after patch data.a = %q, want %q", got.Data["a"], tc.want)
			}
		})
	}

	// Ten writers increment a counter with read-modify-write retries: nothing is lost.
	var wg sync.WaitGroup
	for i := 0; i < 10; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				cur, err := cms.Get(ctx, cm.Name, metav1.GetOptions{})
				if err != nil {
					t.Error(err)
					return
				}
				n := 0
				fmt.Sscan(cur.Data["n"], &n)
				cur.Data["n"] = fmt.Sprint(n + 1)
				if _, err = cms.Update(ctx, cur, metav1.UpdateOptions{}); err == nil {
					return
				} else if !apierrors.IsConflict(err) {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	final, err := cms.Get(ctx, cm.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if final.Data["n"] != "10" {
		t.Errorf("counter = %s after 10 increments, want 10", final.Data["n"])
	}

	if err := cms.Delete(ctx, cm.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cms.Get(ctx, cm.Name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("get after delete: got %v, want NotFound", err)
	}
}

func TestIntegrationWatchAndPagination(t *testing.T) {
	s := start(t)
	ctx := t.Context()
	cms := s.Client.CoreV1().ConfigMaps("default")
	list, err := cms.List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	w, err := cms.Watch(ctx, metav1.ListOptions{ResourceVersion: list.ResourceVersion, LabelSelector: "watched=yes"})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	for i := 0; i < 25; i++ {
		labels := map[string]string{"watched": "yes"}
		if i%5 == 0 {
			labels["watched"] = "no"
		}
		if _, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("cm-%02d", i), Labels: labels}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := cms.Delete(ctx, "cm-01", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	want := 20 + 1 // 20 labelled creates and one delete
	var got []watch.EventType
	timeout := time.After(10 * time.Second)
	for len(got) < want {
		select {
		case ev := <-w.ResultChan():
			got = append(got, ev.Type)
		case <-timeout:
			t.Fatalf("got %d events %v, want %d", len(got), got, want)
		}
	}
	if got[want-1] != watch.Deleted {
		t.Errorf("last event %s, want DELETED", got[want-1])
	}

	// Pages of 7 see every object exactly once (the 24 left and the namespace's root CA).
	seen := map[string]int{}
	opts := metav1.ListOptions{Limit: 7}
	pages := 0
	for {
		page, err := cms.List(ctx, opts)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, cm := range page.Items {
			if strings.HasPrefix(cm.Name, "cm-") {
				seen[cm.Name]++
			}
		}
		if page.Continue == "" {
			break
		}
		opts.Continue = page.Continue
	}
	if len(seen) != 24 || pages < 4 {
		t.Errorf("paginated list saw %d of our objects in %d pages, want 24 in at least 4", len(seen), pages)
	}
	for name, n := range seen {
		if n != 1 {
			t.Errorf("%s seen %d times", name, n)
		}
	}
}

func TestIntegrationRestartKeepsObjects(t *testing.T) {
	s := start(t)
	ctx := t.Context()
	if _, err := s.Client.CoreV1().Secrets("default").Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "kept"}, StringData: map[string]string{"k": "v"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	svc, err := s.Client.CoreV1().Services("default").Create(ctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "kept"},
		Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 80}}}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s.Restart()
	sec, err := s.Client.CoreV1().Secrets("default").Get(ctx, "kept", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("secret after restart: %v", err)
	}
	if string(sec.Data["k"]) != "v" {
		t.Errorf("secret data after restart = %v", sec.Data)
	}
	// The restarted server still knows the allocated IP: asking for it again is refused.
	_, err = s.Client.CoreV1().Services("default").Create(ctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "again"},
		Spec: corev1.ServiceSpec{ClusterIP: svc.Spec.ClusterIP, Ports: []corev1.ServicePort{{Port: 80}}}}, metav1.CreateOptions{})
	if !apierrors.IsInvalid(err) {
		t.Errorf("reusing %s after restart: got %v, want Invalid", svc.Spec.ClusterIP, err)
	}
}

func TestIntegrationServiceAllocation(t *testing.T) {
	s := start(t)
	ctx := t.Context()
	svcs := s.Client.CoreV1().Services("default")
	newSvc := func(name, typ string, ip string, nodePort int32) *corev1.Service {
		return &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.ServiceSpec{
			Type: corev1.ServiceType(typ), ClusterIP: ip,
			Ports: []corev1.ServicePort{{Port: 80, NodePort: nodePort}}}}
	}
	// Concurrent creates never share an IP or a node port.
	var mu sync.Mutex
	ips, ports := map[string]string{}, map[int32]string{}
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			svc, err := svcs.Create(ctx, newSvc(fmt.Sprintf("np-%d", i), "NodePort", "", 0), metav1.CreateOptions{})
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if other, dup := ips[svc.Spec.ClusterIP]; dup {
				t.Errorf("%s and %s share %s", svc.Name, other, svc.Spec.ClusterIP)
			}
			ips[svc.Spec.ClusterIP] = svc.Name
			p := svc.Spec.Ports[0].NodePort
			if p < 30000 || p > 32767 {
				t.Errorf("%s got node port %d outside 30000-32767", svc.Name, p)
			}
			if other, dup := ports[p]; dup {
				t.Errorf("%s and %s share node port %d", svc.Name, other, p)
			}
			ports[p] = svc.Name
		}(i)
	}
	wg.Wait()

	cases := []struct {
		name string
		svc  *corev1.Service
		ok   bool
	}{
		{"a free requested IP is honoured", newSvc("req-ip", "ClusterIP", "10.43.200.200", 0), true},
		{"a taken IP is refused", newSvc("dup-ip", "ClusterIP", "10.43.200.200", 0), false},
		{"an IP outside the range is refused", newSvc("out-ip", "ClusterIP", "10.99.0.5", 0), false},
		{"a free requested node port is honoured", newSvc("req-np", "NodePort", "", 31999), true},
		{"a taken node port is refused", newSvc("dup-np", "NodePort", "", 31999), false},
		{"a node port outside the range is refused", newSvc("out-np", "NodePort", "", 80), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := svcs.Create(ctx, tc.svc, metav1.CreateOptions{})
			if tc.ok && err != nil {
				t.Fatalf("got %v, want success", err)
			}
			if !tc.ok && !apierrors.IsInvalid(err) {
				t.Fatalf("got %v, want 422 Invalid", err)
			}
		})
	}
	// Deleting frees the IP and the port.
	if err := svcs.Delete(ctx, "req-ip", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := svcs.Create(ctx, newSvc("reuse-ip", "ClusterIP", "10.43.200.200", 0), metav1.CreateOptions{}); err != nil {
		t.Errorf("IP not freed on delete: %v", err)
	}
}

func TestIntegrationGracefulPodDeletion(t *testing.T) {
	s := start(t)
	ctx := t.Context()
	pods := s.Client.CoreV1().Pods("default")
	pod := func(name, node string) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.PodSpec{NodeName: node,
			Containers: []corev1.Container{{Name: "c", Image: "pause"}}}}
	}
	for _, p := range []*corev1.Pod{pod("unscheduled", ""), pod("scheduled", "node-1")} {
		if _, err := pods.Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := pods.Delete(ctx, "unscheduled", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := pods.Get(ctx, "unscheduled", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("unscheduled pod after delete: %v, want NotFound", err)
	}
	if err := pods.Delete(ctx, "scheduled", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	got, err := pods.Get(ctx, "scheduled", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("scheduled pod should wait for its kubelet: %v", err)
	}
	if got.DeletionTimestamp == nil || got.DeletionGracePeriodSeconds == nil || *got.DeletionGracePeriodSeconds != 30 {
		t.Errorf("scheduled pod: deletionTimestamp %v grace %v, want set and 30", got.DeletionTimestamp, got.DeletionGracePeriodSeconds)
	}
	zero := int64(0)
	if err := pods.Delete(ctx, "scheduled", metav1.DeleteOptions{GracePeriodSeconds: &zero}); err != nil {
		t.Fatal(err)
	}
	if _, err := pods.Get(ctx, "scheduled", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("pod after grace 0 delete: %v, want NotFound", err)
	}
}

func TestIntegrationFinalizersAndPropagation(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	// Without the garbage collector, which would act on the orphan finalizer at once: this
	// test is about what the API server records.
	s := capstantesting.StartServerWith(t, func(o *server.Options) {
		o.Controllers = []string{"*", "-garbage-collector-controller"}
	})
	ctx := t.Context()
	cms := s.Client.CoreV1().ConfigMaps("default")
	if _, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "held", Finalizers: []string{"example.com/hold"}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	orphan := metav1.DeletePropagationOrphan
	if err := cms.Delete(ctx, "held", metav1.DeleteOptions{PropagationPolicy: &orphan}); err != nil {
		t.Fatal(err)
	}
	held, err := cms.Get(ctx, "held", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("object with finalizers vanished: %v", err)
	}
	if held.DeletionTimestamp == nil {
		t.Error("no deletionTimestamp on an object being deleted")
	}
	if !contains(held.Finalizers, metav1.FinalizerOrphanDependents) {
		t.Errorf("finalizers %v, want the orphan finalizer recorded", held.Finalizers)
	}
	held.Finalizers = append(held.Finalizers, "example.com/new")
	if _, err := cms.Update(ctx, held, metav1.UpdateOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("adding a finalizer while deleting: got %v, want Forbidden", err)
	}
	held.Finalizers = nil
	if _, err := cms.Update(ctx, held, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cms.Get(ctx, "held", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("after removing the last finalizer: %v, want NotFound", err)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

var _ kubernetes.Interface
var _ = context.Background
