package integration

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/util/retry"

	capstantesting "capstan/internal/testing"
)

// Helpers of the node, endpoint, quota and disruption tests (prefix nd).

// ndEventually polls check until it returns nil, failing the test with its last error
// after timeout.
func ndEventually(t *testing.T, timeout time.Duration, check func(ctx context.Context) error) {
	t.Helper()
	var last error
	err := wait.PollUntilContextTimeout(t.Context(), 20*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		last = check(ctx)
		return last == nil, nil
	})
	if err != nil {
		t.Fatalf("not true after %s: %v", timeout, last)
	}
}

// ndNode creates a Node that reports Ready, as a kubelet would.
func ndNode(t *testing.T, s *capstantesting.Server, name string, labels map[string]string) *corev1.Node {
	t.Helper()
	ctx := t.Context()
	n, err := s.Client.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// The node controllers (IPAM, lifecycle) may write the new node meanwhile: retry on the
	// latest version.
	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cur, err := s.Client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		now := metav1.Now()
		cur.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady",
			Message: "kubelet is posting ready status", LastHeartbeatTime: now, LastTransitionTime: now}}
		cur.Status.Capacity = corev1.ResourceList{corev1.ResourcePods: resource.MustParse("110")}
		n, err = s.Client.CoreV1().Nodes().UpdateStatus(ctx, cur, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// ndPod creates a pod with labels on node (none: unscheduled) and, when ip is set, marks
// it Running with that IP and Ready as ready says, as a kubelet would.
func ndPod(t *testing.T, s *capstantesting.Server, ns, name, node, ip string, ready bool, labels map[string]string, mutate ...func(*corev1.Pod)) *corev1.Pod {
	t.Helper()
	ctx := t.Context()
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: labels},
		Spec: corev1.PodSpec{NodeName: node, Containers: []corev1.Container{{Name: "app", Image: "app:1",
			Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}}}}},
	}
	for _, m := range mutate {
		m(pod)
	}
	pod, err := s.Client.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if ip == "" {
		return pod
	}
	return ndSetPodStatus(t, s, pod, ip, ready)
}

// ndSetPodStatus marks pod Running with ip and its Ready condition.
func ndSetPodStatus(t *testing.T, s *capstantesting.Server, pod *corev1.Pod, ip string, ready bool) *corev1.Pod {
	t.Helper()
	status := corev1.ConditionFalse
	if ready {
		status = corev1.ConditionTrue
	}
	now := metav1.Now()
	pod.Status.Phase = corev1.PodRunning
	pod.Status.PodIP, pod.Status.PodIPs = ip, []corev1.PodIP{{IP: ip}}
	pod.Status.Conditions = []corev1.PodCondition{
		{Type: corev1.PodReady, Status: status, LastTransitionTime: now},
		{Type: corev1.ContainersReady, Status: status, LastTransitionTime: now},
	}
	out, err := s.Client.CoreV1().Pods(pod.Namespace).UpdateStatus(t.Context(), pod, metav1.UpdateOptions{})
	if err != nil {
		t.Fatalf("marking pod %s running: %v", pod.Name, err)
	}
	return out
}

func ndNamespace(t *testing.T, s *capstantesting.Server, name string) {
	t.Helper()
	if _, err := s.Client.CoreV1().Namespaces().Create(t.Context(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	capstantesting.WaitForDefaultServiceAccount(t, s.Client, name)
}
