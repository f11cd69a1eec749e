package kubelet

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

const manifest = `apiVersion: v1
kind: Pod
metadata:
  name: etcd
  namespace: kube-system
spec:
  hostNetwork: true
  containers:
  - name: etcd
    image: example/etcd:3
`

func TestStaticPods(t *testing.T) {
	t.Parallel()
	files := map[string][]byte{
		"etcd.yaml":    []byte(manifest),
		"bad.yaml":     []byte("kind: Deployment\napiVersion: apps/v1\nmetadata: {name: x}\n"),
		"noname.json":  []byte(`{"apiVersion":"v1","kind":"Pod","spec":{"containers":[{"name":"c","image":"i"}]}}`),
		"garbage.yaml": []byte("{{{"),
	}
	pods, errs := StaticPods(files, "Node-1", t0)
	if len(pods) != 1 || len(errs) != 3 {
		t.Fatalf("got %d pods and errors %v; want 1 pod and 3 errors", len(pods), errs)
	}
	p := pods[0]
	if p.Name != "etcd-node-1" || p.Namespace != "kube-system" || p.Spec.NodeName != "Node-1" {
		t.Fatalf("pod = %s/%s on %s", p.Namespace, p.Name, p.Spec.NodeName)
	}
	if p.Annotations[annotationConfigSource] != "file" || p.Annotations[annotationConfigHash] != string(p.UID) || len(p.UID) != 32 {
		t.Fatalf("annotations = %v, uid %s", p.Annotations, p.UID)
	}
	c := p.Spec.Containers[0]
	if c.ImagePullPolicy != corev1.PullIfNotPresent || c.TerminationMessagePath != "/dev/termination-log" || p.Spec.RestartPolicy != corev1.RestartPolicyAlways {
		t.Fatalf("defaults not applied: %+v %s", c, p.Spec.RestartPolicy)
	}
	last := p.Spec.Tolerations[len(p.Spec.Tolerations)-1]
	if last.Operator != corev1.TolerationOpExists || last.Effect != corev1.TaintEffectNoExecute {
		t.Fatalf("tolerations = %+v", p.Spec.Tolerations)
	}
	again, _ := StaticPods(map[string][]byte{"other-name.yaml": []byte(manifest)}, "Node-1", t0.Add(time.Hour))
	if again[0].UID != p.UID {
		t.Fatal("the same manifest got another UID")
	}
	changed, _ := StaticPods(map[string][]byte{"etcd.yaml": []byte(strings.Replace(manifest, "etcd:3", "etcd:4", 1))}, "Node-1", t0)
	if changed[0].UID == p.UID {
		t.Fatal("a changed manifest kept its UID")
	}
	elsewhere, _ := StaticPods(map[string][]byte{"etcd.yaml": []byte(manifest)}, "node-2", t0)
	if elsewhere[0].UID == p.UID {
		t.Fatal("the same manifest on another node has the same UID")
	}
	dup, errs := StaticPods(map[string][]byte{"a.yaml": []byte(manifest), "b.yaml": []byte(manifest + "\n")}, "n", t0)
	if len(dup) != 1 || len(errs) != 1 {
		t.Fatalf("two manifests of one pod: %d pods, errors %v", len(dup), errs)
	}
}

func TestMirrorPodFor(t *testing.T) {
	t.Parallel()
	pods, _ := StaticPods(map[string][]byte{"etcd.yaml": []byte(manifest)}, "n1", t0)
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1", UID: "node-uid"}}
	m := mirrorPodFor(pods[0], node)
	if m.UID != "" || m.Annotations[annotationConfigMirror] != string(pods[0].UID) {
		t.Fatalf("mirror = %+v", m.ObjectMeta)
	}
	if len(m.OwnerReferences) != 1 || m.OwnerReferences[0].UID != "node-uid" || m.OwnerReferences[0].Kind != "Node" {
		t.Fatalf("owners = %+v", m.OwnerReferences)
	}
	if !isMirror(m) || isStatic(&corev1.Pod{}) || !isStatic(pods[0]) {
		t.Fatal("isMirror/isStatic disagree")
	}
}

func TestCapacityAndAllocatable(t *testing.T) {
	t.Parallel()
	m := Machine{CPUs: 4, MemoryBytes: 8 << 30, EphemeralStorageBytes: 100 << 30}
	capacity := Capacity(m, 110)
	if capacity.Cpu().Value() != 4 || capacity.Memory().Value() != 8<<30 || capacity.Pods().Value() != 110 {
		t.Fatalf("capacity = %v", capacity)
	}
	reserved := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m"), corev1.ResourceMemory: resource.MustParse("1Gi")}
	alloc := Allocatable(capacity, reserved, corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m")})
	if got := alloc.Cpu().MilliValue(); got != 3000 {
		t.Errorf("allocatable cpu = %dm", got)
	}
	if got, want := alloc.Memory().Value(), int64(7<<30)-100<<20; got != want {
		t.Errorf("allocatable memory = %d; want %d (less the 100Mi eviction threshold)", got, want)
	}
	if got, want := alloc.StorageEphemeral().Value(), int64(90<<30); got != want {
		t.Errorf("allocatable ephemeral-storage = %d; want %d (less 10%%)", got, want)
	}
	tooMuch := Allocatable(capacity, corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("10")})
	if tooMuch.Cpu().Sign() != 0 {
		t.Errorf("over-reserved cpu = %v; want 0", tooMuch.Cpu())
	}
}

func TestNodeStatus(t *testing.T) {
	t.Parallel()
	in := NodeStatusInput{
		Machine:        Machine{CPUs: 2, MemoryBytes: 4 << 30, MemoryAvailableBytes: 2 << 30, EphemeralStorageBytes: 10 << 30, EphemeralAvailableBytes: 5 << 30, Architecture: "amd64"},
		Addresses:      []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "192.0.2.2"}},
		RuntimeVersion: "containerd://1.6.20", KubeletVersion: "v1.37.2", Port: 10250,
		RuntimeReady: true, NetworkReady: true,
		Old: corev1.NodeStatus{Conditions: []corev1.NodeCondition{
			{Type: corev1.NodeReady, Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(t0)},
			{Type: "NetworkUnavailable", Status: corev1.ConditionFalse},
		}},
		Now: metav1.NewTime(t0.Add(time.Hour)),
	}
	s := NodeStatus(in)
	want := []corev1.NodeConditionType{corev1.NodeMemoryPressure, corev1.NodeDiskPressure, corev1.NodePIDPressure, corev1.NodeReady, "NetworkUnavailable"}
	if len(s.Conditions) != len(want) {
		t.Fatalf("conditions = %+v", s.Conditions)
	}
	for i, c := range s.Conditions {
		if c.Type != want[i] {
			t.Fatalf("condition %d = %s; want %s", i, c.Type, want[i])
		}
	}
	ready := s.Conditions[3]
	if ready.Status != corev1.ConditionTrue || ready.Reason != "KubeletReady" || !ready.LastTransitionTime.Equal(&in.Old.Conditions[0].LastTransitionTime) || !ready.LastHeartbeatTime.Equal(&in.Now) {
		t.Fatalf("Ready = %+v", ready)
	}
	if s.DaemonEndpoints.KubeletEndpoint.Port != 10250 || s.NodeInfo.ContainerRuntimeVersion != "containerd://1.6.20" || s.NodeInfo.KubeletVersion != "v1.37.2" {
		t.Fatalf("status = %+v", s)
	}
	in.NetworkReady, in.NotReadyMessage = false, "container runtime network not ready: NetworkReady=false"
	notReady := NodeStatus(in).Conditions[3]
	if notReady.Status != corev1.ConditionFalse || notReady.Reason != "KubeletNotReady" || notReady.Message != in.NotReadyMessage || !notReady.LastTransitionTime.Equal(&in.Now) {
		t.Fatalf("not ready = %+v", notReady)
	}
	later := in
	later.NetworkReady = true
	later.Old = s
	later.Now = metav1.NewTime(t0.Add(2 * time.Hour))
	if !sameNodeStatus(s, NodeStatus(later)) {
		t.Fatal("a status that differs only in heartbeats counts as changed")
	}
	in.Machine.MemoryAvailableBytes = 50 << 20
	if c := NodeStatus(in).Conditions[0]; c.Status != corev1.ConditionTrue || c.Reason != "KubeletHasInsufficientMemory" {
		t.Fatalf("memory pressure = %+v", c)
	}
}

func TestStatusPatchNullsRemovedFields(t *testing.T) {
	t.Parallel()
	old := corev1.PodStatus{Phase: corev1.PodRunning, Message: "m", Reason: "r", PodIP: "10.0.0.1"}
	now := corev1.PodStatus{Phase: corev1.PodFailed, PodIP: "10.0.0.1"}
	p := statusPatch(old, now)
	if v, ok := p["message"]; !ok || v != nil {
		t.Fatalf("patch = %v; want message: null", p)
	}
	if p["phase"] != "Failed" || p["podIP"] != "10.0.0.1" {
		t.Fatalf("patch = %v", p)
	}
	a := corev1.PodStatus{StartTime: &metav1.Time{Time: t0.Add(300 * time.Millisecond)}}
	b := corev1.PodStatus{StartTime: &metav1.Time{Time: t0}}
	if !sameStatus(a, b) {
		t.Fatal("statuses equal to the second differ")
	}
}

func TestRegistryOf(t *testing.T) {
	t.Parallel()
	for image, want := range map[string]string{
		"busybox":                      "docker.io",
		"library/busybox:1":            "docker.io",
		"registry.k8s.io/pause:3.10":   "registry.k8s.io",
		"localhost:5000/app":           "localhost:5000",
		"localhost/app":                "localhost",
		"index.docker.io/library/x":    "docker.io",
		"myreg.example:443/team/app@x": "myreg.example:443",
	} {
		if got := registryOf(image); got != want {
			t.Errorf("registryOf(%q) = %q; want %q", image, got, want)
		}
	}
}

func TestLogTail(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "0.log")
	var b strings.Builder
	for i := 0; i < 100; i++ {
		b.WriteString("2026-01-02T03:04:05.000000000Z stdout F line" + string(rune('0'+i%10)) + "\n")
	}
	b.WriteString("2026-01-02T03:04:05.000000000Z stderr P part-\n2026-01-02T03:04:05.000000000Z stderr F end\n")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	got := logTail(path, 3, 2048)
	if got != "line8\nline9\npart-end" {
		t.Fatalf("tail = %q", got)
	}
	if got := logTail(path, 80, 10); len(got) != 10 || !strings.HasSuffix(got, "part-end") {
		t.Fatalf("byte-limited tail = %q", got)
	}
}
