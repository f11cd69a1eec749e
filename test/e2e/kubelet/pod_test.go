package kubelet

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"capstan/test/e2e/framework"
)

func TestPodRunsToCompletionAndItsLogsShow(t *testing.T) {
	n := startNode(t)
	pod := n.pod("hello", "sh", "-c", "echo hello from $(hostname); echo to stderr >&2")
	pod.Spec.RestartPolicy = corev1.RestartPolicyNever
	n.create(pod)
	done := n.waitPhase(pod, corev1.PodSucceeded)
	cs := done.Status.ContainerStatuses[0]
	if cs.State.Terminated == nil || cs.State.Terminated.ExitCode != 0 || cs.State.Terminated.Reason != "Completed" {
		t.Fatalf("container status = %+v", cs)
	}
	if !strings.HasPrefix(cs.ContainerID, "containerd://") || cs.ImageID == "" {
		t.Errorf("containerID %q imageID %q", cs.ContainerID, cs.ImageID)
	}
	if done.Status.PodIP == "" || done.Status.HostIP == "" || done.Status.StartTime == nil || done.Status.QOSClass != corev1.PodQOSBestEffort {
		t.Errorf("status = %s", framework.DescribePod(done))
	}
	logs := n.logs(done, "main", false)
	if !strings.Contains(logs, "hello from hello") || !strings.Contains(logs, "to stderr") {
		t.Fatalf("logs = %q", logs)
	}
}
