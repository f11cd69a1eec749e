package kubelet

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"capstan/internal/server"
	capstantesting "capstan/internal/testing"
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
	survivor := n.create(n.pod("survivor", "sleep", "600"))
	victim := n.create(n.pod("victim", "sleep", "600"))
	before := n.waitReady(survivor)
	n.waitReady(victim)

	n.stopPods.Store(false)
	n.stop()
	// Deleted while the agent is away: nobody stops its containers now.
	zero := int64(0)
	if err := n.client.CoreV1().Pods("default").Delete(ctx, "victim", metav1.DeleteOptions{GracePeriodSeconds: &zero}); err != nil {
		t.Fatal(err)
	}
	n.stopPods.Store(true)
	n.start()

	n.eventually(60*time.Second, "the deleted pod's sandbox to be removed", func() (bool, error) {
		resp, err := n.kubelet.Runtime().ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{Filter: &runtimeapi.PodSandboxFilter{
			LabelSelector: map[string]string{"io.kubernetes.pod.uid": string(victim.UID)},
		}})
		return err == nil && len(resp.Items) == 0, err
	})
	after := n.waitReady(survivor)
	if containerID(after) != containerID(before) || after.Status.ContainerStatuses[0].RestartCount != 0 {
		t.Fatalf("the agent restart restarted the container: before %s, after %s", describe(before), describe(after))
	}

	// A container stopped behind the kubelet's back is restarted by its policy.
	id := containerID(after)[len("containerd://"):]
	if _, err := n.kubelet.Runtime().StopContainer(ctx, &runtimeapi.StopContainerRequest{ContainerId: id, Timeout: 0}); err != nil {
		t.Fatal(err)
	}
	n.waitPod(survivor, 60*time.Second, "a restart after the container was killed", func(p *corev1.Pod) bool {
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
    image: ` + busyboxImage + `
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
	n := startNode(t, withServer(func(o *server.Options) { o.HTTPSPort = port }))
	ctx := context.Background()
	manifest := filepath.Join(n.opts.PodManifestPath, "web.yaml")
	if n.opts.PodManifestPath == "" {
		manifest = filepath.Join(n.dataDir, "agent", "pod-manifests", "web.yaml")
	}
	if err := os.WriteFile(manifest, []byte(staticManifest), 0o644); err != nil {
		t.Fatal(err)
	}
	mirrorRef := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "static-web-" + n.name, Namespace: "default"}}
	mirror := n.waitPod(mirrorRef, 60*time.Second, "a running mirror pod", func(p *corev1.Pod) bool {
		return p.Annotations["kubernetes.io/config.mirror"] != "" && podReady(p)
	})
	if mirror.Labels["tier"] != "static" || mirror.Spec.NodeName != n.name || len(mirror.OwnerReferences) != 1 || mirror.OwnerReferences[0].Kind != "Node" {
		t.Fatalf("mirror pod = %+v", mirror.ObjectMeta)
	}
	runningID := containerID(mirror)

	// Deleting the mirror pod does not stop the static pod: the mirror comes back.
	zero := int64(0)
	if err := n.client.CoreV1().Pods("default").Delete(ctx, mirror.Name, metav1.DeleteOptions{GracePeriodSeconds: &zero}); err != nil {
		t.Fatal(err)
	}
	again := n.waitPod(mirrorRef, 60*time.Second, "a new mirror pod", func(p *corev1.Pod) bool {
		return p.UID != mirror.UID && podReady(p)
	})
	if containerID(again) != runningID {
		t.Fatalf("the static pod restarted with its mirror: %s then %s", runningID, containerID(again))
	}

	// Without the API server the agent restarts and the static pod keeps running.
	n.server.Stop()
	n.restart()
	time.Sleep(3 * time.Second) // let the kubelet sync the pod while the API is away
	resp, err := n.kubelet.Runtime().ListContainers(ctx, &runtimeapi.ListContainersRequest{Filter: &runtimeapi.ContainerFilter{
		State: &runtimeapi.ContainerStateValue{State: runtimeapi.ContainerState_CONTAINER_RUNNING},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Containers) != 1 || "containerd://"+resp.Containers[0].Id != runningID {
		t.Fatalf("running containers without the API: %v; want only %s", resp.Containers, runningID)
	}
	n.server.Restart()
	n.client = n.server.Client

	// Removing the manifest stops the pod and removes its mirror.
	if err := os.Remove(manifest); err != nil {
		t.Fatal(err)
	}
	n.eventually(60*time.Second, "the mirror pod to go", func() (bool, error) {
		_, err := n.client.CoreV1().Pods("default").Get(ctx, mirrorRef.Name, metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	})
	n.eventually(30*time.Second, "the static pod's containers to go", func() (bool, error) {
		resp, err := n.kubelet.Runtime().ListContainers(ctx, &runtimeapi.ListContainersRequest{})
		return err == nil && len(resp.Containers) == 0, err
	})
}

var _ = capstantesting.Server{}
