package framework

import (
	"context"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// PodTimeout is how long the pod helpers wait by default: image import, sandbox and CNI
// on a loaded CI machine.
const PodTimeout = 90 * time.Second

// BusyboxPod is a pod of the busybox image on the cluster's node running command (the
// image's sh when empty), in namespace default, with a one-second grace period.
func (c *Cluster) BusyboxPod(name string, command ...string) *corev1.Pod {
	return c.pod(name, corev1.Container{Name: "main", Image: BusyboxImage, Command: command})
}

// AgnhostPod is a pod of the agnhost image on the cluster's node running agnhost with
// args (netexec when empty), serving HTTP on 8080 and UDP on 8081.
func (c *Cluster) AgnhostPod(name string, args ...string) *corev1.Pod {
	return c.pod(name, corev1.Container{Name: "main", Image: AgnhostImage, Args: args,
		Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}, {Name: "udp", ContainerPort: 8081, Protocol: corev1.ProtocolUDP}}})
}

func (c *Cluster) pod(name string, container corev1.Container) *corev1.Pod {
	grace := int64(1)
	container.ImagePullPolicy = corev1.PullIfNotPresent
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
		Spec: corev1.PodSpec{
			NodeName:                      c.NodeName,
			TerminationGracePeriodSeconds: &grace,
			Containers:                    []corev1.Container{container},
		},
	}
}

// CreatePod creates pod (in namespace default when it names none) and deletes it, without
// grace, when the test ends.
func (c *Cluster) CreatePod(pod *corev1.Pod) *corev1.Pod {
	c.t.Helper()
	if pod.Namespace == "" {
		pod.Namespace = "default"
	}
	created, err := c.Client.CoreV1().Pods(pod.Namespace).Create(context.Background(), pod, metav1.CreateOptions{})
	if err != nil {
		c.t.Fatalf("creating pod %s: %v", pod.Name, err)
	}
	c.t.Cleanup(func() {
		zero := int64(0)
		err := c.Client.CoreV1().Pods(created.Namespace).Delete(context.Background(), created.Name, metav1.DeleteOptions{GracePeriodSeconds: &zero})
		if err != nil && !apierrors.IsNotFound(err) {
			c.t.Logf("deleting pod %s: %v", created.Name, err)
		}
	})
	return created
}

// WaitForPod polls the pod until cond holds and returns it; the test fails after timeout
// with the pod's last status.
func (c *Cluster) WaitForPod(pod *corev1.Pod, timeout time.Duration, what string, cond func(*corev1.Pod) bool) *corev1.Pod {
	c.t.Helper()
	var last *corev1.Pod
	deadline := time.Now().Add(timeout)
	for {
		p, err := c.Client.CoreV1().Pods(pod.Namespace).Get(context.Background(), pod.Name, metav1.GetOptions{})
		if err == nil {
			last = p
			if cond(p) {
				return p
			}
		}
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	c.t.Fatalf("pod %s/%s: timed out after %s waiting for %s; status: %s", pod.Namespace, pod.Name, timeout, what, DescribePod(last))
	return nil
}

// WaitForPhase waits for the pod's phase.
func (c *Cluster) WaitForPhase(pod *corev1.Pod, phase corev1.PodPhase) *corev1.Pod {
	c.t.Helper()
	return c.WaitForPod(pod, PodTimeout, "phase "+string(phase), func(p *corev1.Pod) bool { return p.Status.Phase == phase })
}

// WaitForCondition waits for one of the pod's conditions to have status.
func (c *Cluster) WaitForCondition(pod *corev1.Pod, cond corev1.PodConditionType, status corev1.ConditionStatus) *corev1.Pod {
	c.t.Helper()
	return c.WaitForPod(pod, PodTimeout, fmt.Sprintf("condition %s=%s", cond, status), func(p *corev1.Pod) bool {
		return PodCondition(p, cond) == status
	})
}

// WaitForReady waits for the pod to be Ready.
func (c *Cluster) WaitForReady(pod *corev1.Pod) *corev1.Pod {
	c.t.Helper()
	return c.WaitForCondition(pod, corev1.PodReady, corev1.ConditionTrue)
}

// WaitForRestarts waits until the pod's first container restarted at least n times.
func (c *Cluster) WaitForRestarts(pod *corev1.Pod, n int32) *corev1.Pod {
	c.t.Helper()
	return c.WaitForPod(pod, PodTimeout, fmt.Sprintf("%d restarts", n), func(p *corev1.Pod) bool {
		return len(p.Status.ContainerStatuses) > 0 && p.Status.ContainerStatuses[0].RestartCount >= n
	})
}

// DeletePod deletes the pod with the given grace period (nil: the pod's), waits until it
// is gone, and returns how long that took.
func (c *Cluster) DeletePod(pod *corev1.Pod, grace *int64) time.Duration {
	c.t.Helper()
	start := time.Now()
	err := c.Client.CoreV1().Pods(pod.Namespace).Delete(context.Background(), pod.Name, metav1.DeleteOptions{GracePeriodSeconds: grace})
	if err != nil && !apierrors.IsNotFound(err) {
		c.t.Fatalf("deleting pod %s: %v", pod.Name, err)
	}
	Eventually(c.t, PodTimeout, "pod "+pod.Name+" to be gone", func() (bool, error) {
		_, err := c.Client.CoreV1().Pods(pod.Namespace).Get(context.Background(), pod.Name, metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	})
	return time.Since(start)
}

// PodReady tells whether the pod's Ready condition is True.
func PodReady(p *corev1.Pod) bool {
	return PodCondition(p, corev1.PodReady) == corev1.ConditionTrue
}

// PodCondition is the status of one of the pod's conditions ("" when it has none).
func PodCondition(p *corev1.Pod, t corev1.PodConditionType) corev1.ConditionStatus {
	for _, c := range p.Status.Conditions {
		if c.Type == t {
			return c.Status
		}
	}
	return ""
}

// DescribePod is a one-line summary of a pod's status for failure messages.
func DescribePod(p *corev1.Pod) string {
	if p == nil {
		return "<none>"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "phase=%s reason=%q", p.Status.Phase, p.Status.Reason)
	for _, c := range p.Status.Conditions {
		fmt.Fprintf(&b, " %s=%s", c.Type, c.Status)
	}
	for _, list := range [][]corev1.ContainerStatus{p.Status.InitContainerStatuses, p.Status.ContainerStatuses} {
		for _, cs := range list {
			fmt.Fprintf(&b, " [%s restarts=%d ready=%v %s]", cs.Name, cs.RestartCount, cs.Ready, stateString(cs.State))
		}
	}
	return b.String()
}

func stateString(s corev1.ContainerState) string {
	switch {
	case s.Running != nil:
		return "running"
	case s.Terminated != nil:
		return fmt.Sprintf("terminated(%d %s %q)", s.Terminated.ExitCode, s.Terminated.Reason, s.Terminated.Message)
	case s.Waiting != nil:
		return fmt.Sprintf("waiting(%s %q)", s.Waiting.Reason, s.Waiting.Message)
	}
	return "none"
}
