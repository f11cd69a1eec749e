package integration

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/kubernetes"
)

// Helpers of the scheduler tests. There is no kubelet: nodes are objects created through the
// API with status.allocatable and a Ready condition; pods are only bound, never run.

// schPoll polls cond every 20 ms until it returns nil or timeout passes.
func schPoll(t *testing.T, timeout time.Duration, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s: %v", timeout, what, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// schNodeSpec describes a test node.
type schNodeSpec struct {
	name          string
	cpu, memory   string
	pods          string
	labels        map[string]string
	taints        []corev1.Taint
	unschedulable bool
	extra         corev1.ResourceList
	images        []corev1.ContainerImage
}

// schNode creates a Ready node with the spec's allocatable (default 4 cpu, 8Gi, 110 pods).
func schNode(t *testing.T, c kubernetes.Interface, spec schNodeSpec) *corev1.Node {
	t.Helper()
	ctx := t.Context()
	if spec.cpu == "" {
		spec.cpu = "4"
	}
	if spec.memory == "" {
		spec.memory = "8Gi"
	}
	if spec.pods == "" {
		spec.pods = "110"
	}
	lbls := map[string]string{corev1.LabelHostname: spec.name}
	for k, v := range spec.labels {
		lbls[k] = v
	}
	alloc := corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse(spec.cpu),
		corev1.ResourceMemory: resource.MustParse(spec.memory),
		corev1.ResourcePods:   resource.MustParse(spec.pods),
	}
	for k, v := range spec.extra {
		alloc[k] = v
	}
	now := metav1.Now()
	// The API server keeps the status a node is created with, as a kubelet registering does.
	n := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: spec.name, Labels: lbls},
		Spec:       corev1.NodeSpec{Taints: spec.taints, Unschedulable: spec.unschedulable},
		Status: corev1.NodeStatus{
			Capacity: alloc, Allocatable: alloc, Images: spec.images,
			Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady",
				LastHeartbeatTime: now, LastTransitionTime: now}},
		},
	}
	created, err := c.CoreV1().Nodes().Create(ctx, n, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("creating node %s: %v", spec.name, err)
	}
	return created
}

// schPod returns a pod with one container requesting cpu and memory ("" for none).
func schPod(name, cpu, memory string) *corev1.Pod {
	req := corev1.ResourceList{}
	if cpu != "" {
		req[corev1.ResourceCPU] = resource.MustParse(cpu)
	}
	if memory != "" {
		req[corev1.ResourceMemory] = resource.MustParse(memory)
	}
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app": name}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{
			Name: "c", Image: "pause", Resources: corev1.ResourceRequirements{Requests: req},
		}}},
	}
}

func schCreate(t *testing.T, c kubernetes.Interface, ns string, pod *corev1.Pod) *corev1.Pod {
	t.Helper()
	p, err := c.CoreV1().Pods(ns).Create(t.Context(), pod, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("creating pod %s: %v", pod.Name, err)
	}
	return p
}

// schWaitBound waits until the pod is bound and returns its node.
func schWaitBound(t *testing.T, c kubernetes.Interface, ns, name string) string {
	t.Helper()
	var node string
	schPoll(t, 20*time.Second, "pod "+name+" bound", func() error {
		p, err := c.CoreV1().Pods(ns).Get(t.Context(), name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if p.Spec.NodeName == "" {
			return fmt.Errorf("not bound; conditions %+v", p.Status.Conditions)
		}
		node = p.Spec.NodeName
		return nil
	})
	return node
}

// schWaitUnschedulable waits for PodScheduled=False/Unschedulable and returns its message.
func schWaitUnschedulable(t *testing.T, c kubernetes.Interface, ns, name string) string {
	t.Helper()
	var msg string
	schPoll(t, 20*time.Second, "pod "+name+" unschedulable", func() error {
		p, err := c.CoreV1().Pods(ns).Get(t.Context(), name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if p.Spec.NodeName != "" {
			return fmt.Errorf("bound to %s", p.Spec.NodeName)
		}
		for _, cnd := range p.Status.Conditions {
			if cnd.Type == corev1.PodScheduled && cnd.Status == corev1.ConditionFalse && cnd.Reason == corev1.PodReasonUnschedulable {
				msg = cnd.Message
				return nil
			}
		}
		return fmt.Errorf("no PodScheduled=False condition: %+v", p.Status.Conditions)
	})
	return msg
}

// schStaysPending checks that the pod stays unbound for d.
func schStaysPending(t *testing.T, c kubernetes.Interface, ns, name string, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		p, err := c.CoreV1().Pods(ns).Get(t.Context(), name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if p.Spec.NodeName != "" {
			t.Fatalf("pod %s bound to %s, want pending", name, p.Spec.NodeName)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// schEvents returns the events of the object with the reason, as "reason: message".
func schEvents(ctx context.Context, c kubernetes.Interface, ns, name, reason string) ([]string, error) {
	sel := fields.Set{"involvedObject.name": name, "reason": reason}.AsSelector().String()
	list, err := c.CoreV1().Events(ns).List(ctx, metav1.ListOptions{FieldSelector: sel})
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range list.Items {
		out = append(out, e.Reason+": "+e.Message)
	}
	return out, nil
}

// schWaitEvent waits for an event of the object whose message contains want.
func schWaitEvent(t *testing.T, c kubernetes.Interface, ns, name, reason, want string) string {
	t.Helper()
	var got string
	schPoll(t, 20*time.Second, reason+" event of "+name, func() error {
		evs, err := schEvents(t.Context(), c, ns, name, reason)
		if err != nil {
			return err
		}
		for _, e := range evs {
			if strings.Contains(e, want) {
				got = e
				return nil
			}
		}
		return fmt.Errorf("events %q", evs)
	})
	return got
}
