package kubelet

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"capstan/internal/agent"
	"capstan/test/e2e/framework"
)

// startNode starts a cluster for the node tests. They need no Service rules, and the
// service proxy has tests of its own: the node runs none.
func startNode(t *testing.T, options ...framework.Option) *framework.Cluster {
	t.Helper()
	noProxy := framework.WithAgent(func(o *agent.Options) { o.ProxyMode = "none" })
	return framework.Start(t, append([]framework.Option{noProxy}, options...)...)
}

func TestPodRunsToCompletionAndItsLogsShow(t *testing.T) {
	n := startNode(t)
	pod := n.BusyboxPod("hello", "sh", "-c", "echo hello from $(hostname); echo to stderr >&2")
	pod.Spec.RestartPolicy = corev1.RestartPolicyNever
	n.CreatePod(pod)
	done := n.WaitForPhase(pod, corev1.PodSucceeded)
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
	logs := n.ReadLog(done, "main", false)
	if !strings.Contains(logs, "hello from hello") || !strings.Contains(logs, "to stderr") {
		t.Fatalf("logs = %q", logs)
	}
}
