package kubelet

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"capstan/internal/agent"
	"capstan/internal/server"
	"capstan/test/e2e/framework"
)

// containerID is the runtime ID of a pod's first container, from its status.
func containerID(p *corev1.Pod) string {
	if len(p.Status.ContainerStatuses) == 0 {
		return ""
	}
	return p.Status.ContainerStatuses[0].ContainerID
}

func TestAgentRestartKeepsContainersAndCleansUp(t *testing.T) {
	n := startNode(t)
	ctx := context.Background()
	survivor := n.CreatePod(n.BusyboxPod("survivor", "sleep", "600"))
	victim := n.CreatePod(n.BusyboxPod("victim", "sleep", "600"))
	before := n.WaitForReady(survivor)
	n.WaitForReady(victim)

	n.StopAgentLeavingPods()
	// Deleted while the agent is away: nobody stops its containers now.
	zero := int64(0)
	if err := n.Client.CoreV1().Pods("default").Delete(ctx, "victim", metav1.DeleteOptions{GracePeriodSeconds: &zero}); err != nil {
		t.Fatal(err)
	}
	n.StartAgent()

	framework.Eventually(t, 60*time.Second, "the deleted pod's sandbox to be removed", func() (bool, error) {
		resp, err := n.Kubelet().Runtime().ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{Filter: &runtimeapi.PodSandboxFilter{
			LabelSelector: map[string]string{"io.kubernetes.pod.uid": string(victim.UID)},
		}})
		return err == nil && len(resp.Items) == 0, err
	})
	after := n.WaitForReady(survivor)
	if containerID(after) != containerID(before) || after.Status.ContainerStatuses[0].RestartCount != 0 {
		t.Fatalf("the agent restart restarted the container: before %s, after %s", framework.DescribePod(before), framework.DescribePod(after))
	}

	// A container stopped behind the kubelet's back is restarted by its policy.
	id := containerID(after)[len("containerd://"):]
	if _, err := n.Kubelet().Runtime().StopContainer(ctx, &runtimeapi.StopContainerRequest{ContainerId: id, Timeout: 0}); err != nil {
		t.Fatal(err)
	}
	n.WaitForPod(survivor, 60*time.Second, "a restart after the container was killed", func(p *corev1.Pod) bool {
		return len(p.Status.ContainerStatuses) > 0 && p.Status.ContainerStatuses[0].RestartCount == 1 && p.Status.ContainerStatuses[0].State.Running != nil
	})
}

const staticManifest = `apiVersion: v1
kind: Pod
metadata:
  name: static-web
  labels:
    tier: static
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: ` + framework.BusyboxImage + `
    command: ["sleep", "600"]
`

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func TestStaticPodRunsWithAMirrorPodAndWithoutTheAPI(t *testing.T) {
	port := freePort(t)
	n := startNode(t, framework.WithServer(func(o *server.Options) { o.HTTPSPort = port }))
	ctx := context.Background()
	manifest := filepath.Join(n.AgentOptions().PodManifestPath, "web.yaml")
	if err := os.WriteFile(manifest, []byte(staticManifest), 0o644); err != nil {
		t.Fatal(err)
	}
	mirrorRef := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "static-web-" + n.NodeName, Namespace: "default"}}
	mirror := n.WaitForPod(mirrorRef, 60*time.Second, "a running mirror pod", func(p *corev1.Pod) bool {
		return p.Annotations["kubernetes.io/config.mirror"] != "" && framework.PodReady(p)
	})
	if mirror.Labels["tier"] != "static" || mirror.Spec.NodeName != n.NodeName || len(mirror.OwnerReferences) != 1 || mirror.OwnerReferences[0].Kind != "Node" {
		t.Fatalf("mirror pod = %+v", mirror.ObjectMeta)
	}
	runningID := containerID(mirror)

	// Deleting the mirror pod does not stop the static pod: the mirror comes back.
	zero := int64(0)
	if err := n.Client.CoreV1().Pods("default").Delete(ctx, mirror.Name, metav1.DeleteOptions{GracePeriodSeconds: &zero}); err != nil {
		t.Fatal(err)
	}
	again := n.WaitForPod(mirrorRef, 60*time.Second, "a new mirror pod", func(p *corev1.Pod) bool {
		return p.UID != mirror.UID && framework.PodReady(p)
	})
	if containerID(again) != runningID {
		t.Fatalf("the static pod restarted with its mirror: %s then %s", runningID, containerID(again))
	}

	// Without the API server the agent restarts and the static pod keeps running.
	n.Server.Stop()
	n.RestartAgent()
	time.Sleep(3 * time.Second) // let the kubelet sync the pod while the API is away
	resp, err := n.Kubelet().Runtime().ListContainers(ctx, &runtimeapi.ListContainersRequest{Filter: &runtimeapi.ContainerFilter{
		State: &runtimeapi.ContainerStateValue{State: runtimeapi.ContainerState_CONTAINER_RUNNING},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Containers) != 1 || "containerd://"+resp.Containers[0].Id != runningID {
		t.Fatalf("running containers without the API: %v; want only %s", resp.Containers, runningID)
	}
	n.Server.Restart()
	// The restarted server has a new admin client.
	n.Client = n.Server.Client

	// Removing the manifest stops the pod and removes its mirror.
	if err := os.Remove(manifest); err != nil {
		t.Fatal(err)
	}
	framework.Eventually(t, 60*time.Second, "the mirror pod to go", func() (bool, error) {
		_, err := n.Client.CoreV1().Pods("default").Get(ctx, mirrorRef.Name, metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	})
	framework.Eventually(t, 30*time.Second, "the static pod's containers to go", func() (bool, error) {
		resp, err := n.Kubelet().Runtime().ListContainers(ctx, &runtimeapi.ListContainersRequest{})
		return err == nil && len(resp.Containers) == 0, err
	})
}

func TestNodeRegistrationAndLease(t *testing.T) {
	n := startNode(t, framework.WithAgent(func(o *agent.Options) {
		o.KubeReserved, o.SystemReserved = "cpu=100m,memory=100Mi", "memory=50Mi"
		o.NodeLabels = map[string]string{"example.com/zone": "a"}
	}))
	ctx := context.Background()
	node, err := n.Client.CoreV1().Nodes().Get(ctx, n.NodeName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{"kubernetes.io/hostname": n.NodeName, "kubernetes.io/os": "linux", "example.com/zone": "a"} {
		if node.Labels[k] != v {
			t.Errorf("label %s = %q; want %q", k, node.Labels[k], v)
		}
	}
	types := map[corev1.NodeAddressType]bool{}
	for _, a := range node.Status.Addresses {
		types[a.Type] = true
	}
	if !types[corev1.NodeInternalIP] || !types[corev1.NodeHostName] {
		t.Errorf("addresses = %+v", node.Status.Addresses)
	}
	capacity, alloc := node.Status.Capacity, node.Status.Allocatable
	if capacity.Pods().Value() != 110 || capacity.Cpu().IsZero() || capacity.Memory().IsZero() || capacity.StorageEphemeral().IsZero() {
		t.Errorf("capacity = %v", capacity)
	}
	if got, want := alloc.Cpu().MilliValue(), capacity.Cpu().MilliValue()-100; got != want {
		t.Errorf("allocatable cpu = %dm; want %dm", got, want)
	}
	if got, want := alloc.Memory().Value(), capacity.Memory().Value()-250<<20; got != want {
		t.Errorf("allocatable memory = %d; want %d (less 150Mi reserved and the 100Mi eviction threshold)", got, want)
	}
	info := node.Status.NodeInfo
	if info.MachineID == "" || info.BootID == "" || info.KernelVersion == "" || info.OSImage == "" || !strings.HasPrefix(info.ContainerRuntimeVersion, "containerd://") || info.KubeletVersion == "" {
		t.Errorf("nodeInfo = %+v", info)
	}
	if node.Status.DaemonEndpoints.KubeletEndpoint.Port == 0 {
		t.Error("no kubelet port in daemonEndpoints")
	}
	conditions := map[corev1.NodeConditionType]corev1.ConditionStatus{}
	for _, c := range node.Status.Conditions {
		conditions[c.Type] = c.Status
	}
	for typ, want := range map[corev1.NodeConditionType]corev1.ConditionStatus{
		corev1.NodeReady: corev1.ConditionTrue, corev1.NodeMemoryPressure: corev1.ConditionFalse,
		corev1.NodeDiskPressure: corev1.ConditionFalse, corev1.NodePIDPressure: corev1.ConditionFalse,
	} {
		if conditions[typ] != want {
			t.Errorf("condition %s = %s; want %s", typ, conditions[typ], want)
		}
	}

	var first time.Time
	framework.Eventually(t, 30*time.Second, "a renewed lease", func() (bool, error) {
		lease, err := n.Client.CoordinationV1().Leases("kube-node-lease").Get(ctx, n.NodeName, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		if lease.Spec.HolderIdentity == nil || *lease.Spec.HolderIdentity != n.NodeName || lease.Spec.RenewTime == nil {
			return false, nil
		}
		if first.IsZero() {
			first = lease.Spec.RenewTime.Time
			return false, nil
		}
		return lease.Spec.RenewTime.After(first), nil
	})

	pod := n.CreatePod(n.BusyboxPod("described", "sleep", "600"))
	n.WaitForReady(pod)
	out, stderr, err := n.Server.Kubectl("", "describe", "node", n.NodeName)
	if err != nil {
		t.Fatalf("kubectl describe node: %v: %s", err, stderr)
	}
	for _, want := range []string{"System Info:", "Container Runtime Version:  containerd://", "Non-terminated Pods:", "default                     described"} {
		if !strings.Contains(out, want) {
			t.Errorf("describe node lacks %q:\n%s", want, out)
		}
	}
}
