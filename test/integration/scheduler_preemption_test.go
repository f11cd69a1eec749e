package integration

import (
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

func schPriorityClass(t *testing.T, c kubernetes.Interface, name string, value int32) {
	t.Helper()
	if _, err := c.SchedulingV1().PriorityClasses().Create(t.Context(), &schedulingv1.PriorityClass{
		ObjectMeta: metav1.ObjectMeta{Name: name}, Value: value,
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// schPlayKubelet force-deletes pods that are terminating (there is no kubelet to finish
// them) until stop is closed.
func schPlayKubelet(t *testing.T, c kubernetes.Interface, ns string, stop <-chan struct{}) {
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
			list, err := c.CoreV1().Pods(ns).List(t.Context(), metav1.ListOptions{})
			if err != nil {
				continue
			}
			for _, p := range list.Items {
				if p.DeletionTimestamp != nil {
					_ = c.CoreV1().Pods(ns).Delete(t.Context(), p.Name, metav1.DeleteOptions{GracePeriodSeconds: new(int64)})
				}
			}
		}
	}()
}

func TestIntegrationSchedulerPreemption(t *testing.T) {
	s := start(t)
	c := s.Client
	schPriorityClass(t, c, "low", 10)
	schPriorityClass(t, c, "mid", 100)
	schPriorityClass(t, c, "high", 1000)
	schNode(t, c, schNodeSpec{name: "n1", cpu: "2"})

	for _, name := range []string{"low-1", "low-2"} {
		p := schPod(name, "1", "")
		p.Spec.PriorityClassName = "low"
		schCreate(t, c, "default", p)
		schWaitBound(t, c, "default", name)
	}

	// preemptionPolicy Never: the pod waits, it evicts nobody.
	never := schPod("never", "1", "")
	never.Spec.PriorityClassName = "high"
	pn := corev1.PreemptNever
	never.Spec.PreemptionPolicy = &pn
	schCreate(t, c, "default", never)
	msg := schWaitUnschedulable(t, c, "default", "never")
	if want := "0/1 nodes are available: 1 Insufficient cpu. preemption: not eligible due to preemptionPolicy=Never."; msg != want {
		t.Errorf("never: message %q, want %q", msg, want)
	}

	// It would take the room preemption makes below: it goes.
	if err := c.CoreV1().Pods("default").Delete(t.Context(), "never", metav1.DeleteOptions{GracePeriodSeconds: new(int64)}); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	defer close(stop)
	schPlayKubelet(t, c, "default", stop)

	high := schPod("high", "1", "")
	high.Spec.PriorityClassName = "mid"
	schCreate(t, c, "default", high)
	if node := schWaitBound(t, c, "default", "high"); node != "n1" {
		t.Fatalf("high on %s", node)
	}
	// Exactly one victim, evicted with a DisruptionTarget condition and a Preempted event.
	var gone []string
	for _, name := range []string{"low-1", "low-2"} {
		if _, err := c.CoreV1().Pods("default").Get(t.Context(), name, metav1.GetOptions{}); err != nil {
			gone = append(gone, name)
		}
	}
	if len(gone) != 1 {
		t.Fatalf("victims %v, want exactly one of low-1, low-2", gone)
	}
	ev := schWaitEvent(t, c, "default", gone[0], "Preempted", "Preempted by pod")
	if !strings.Contains(ev, "on node n1") {
		t.Errorf("event %q", ev)
	}
}

func TestIntegrationSchedulerPreemptionPicksLowestVictims(t *testing.T) {
	s := start(t)
	c := s.Client
	schPriorityClass(t, c, "p10", 10)
	schPriorityClass(t, c, "p20", 20)
	schPriorityClass(t, c, "p1000", 1000)
	// n1 holds a priority-20 pod, n2 a priority-10 pod: preempting on n2 costs less.
	schNode(t, c, schNodeSpec{name: "n1", cpu: "1"})
	schNode(t, c, schNodeSpec{name: "n2", cpu: "1"})
	for node, prio := range map[string]string{"n1": "p20", "n2": "p10"} {
		p := schPod("on-"+node, "1", "")
		p.Spec.PriorityClassName = prio
		p.Spec.NodeSelector = map[string]string{corev1.LabelHostname: node}
		schCreate(t, c, "default", p)
		schWaitBound(t, c, "default", p.Name)
	}
	stop := make(chan struct{})
	defer close(stop)
	schPlayKubelet(t, c, "default", stop)
	p := schPod("important", "1", "")
	p.Spec.PriorityClassName = "p1000"
	schCreate(t, c, "default", p)
	var nominated string
	schPoll(t, 20*time.Second, "nomination", func() error {
		got, err := c.CoreV1().Pods("default").Get(t.Context(), "important", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if got.Status.NominatedNodeName == "" && got.Spec.NodeName == "" {
			return fmt.Errorf("not nominated yet")
		}
		nominated = got.Status.NominatedNodeName
		return nil
	})
	if node := schWaitBound(t, c, "default", "important"); node != "n2" {
		t.Errorf("important on %s (nominated %q), want n2 where the victim has the lower priority", node, nominated)
	}
	if _, err := c.CoreV1().Pods("default").Get(t.Context(), "on-n1", metav1.GetOptions{}); err != nil {
		t.Errorf("on-n1 (priority 20) was evicted: %v", err)
	}
}
