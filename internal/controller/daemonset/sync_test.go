package daemonset

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/flowcontrol"
	clocktesting "k8s.io/utils/clock/testing"
)

func TestFailedPodsAreReplacedWithBackoffPerNode(t *testing.T) {
	t.Parallel()
	clk := clocktesting.NewFakeClock(t0)
	rec := record.NewFakeRecorder(10)
	c := &Controller{opts: Options{Recorder: rec}, failedBackoff: flowcontrol.NewFakeBackOff(time.Second, 15*time.Minute, clk)}
	v := mkView(newDS(), nodes("a"), dpod{name: "fa", node: "a", phase: corev1.PodFailed})

	p := v.manage()
	if retry := c.admitFailed(v, &p); retry != 0 || len(p.remove) != 1 {
		t.Fatalf("first failure: retry %v, remove %v; want the pod deleted at once", retry, podNames(p.remove))
	}
	if e := <-rec.Events; !strings.Contains(e, "FailedDaemonPod") || !strings.Contains(e, "on node a") {
		t.Errorf("event %q", e)
	}

	// The replacement failed too, right away: it waits out the backoff.
	p = v.manage()
	if retry := c.admitFailed(v, &p); retry != time.Second || len(p.remove) != 0 {
		t.Fatalf("second failure within the backoff: retry %v, remove %v", retry, podNames(p.remove))
	}
	clk.Step(2 * time.Second)
	p = v.manage()
	if c.admitFailed(v, &p); len(p.remove) != 1 {
		t.Errorf("after the backoff: remove %v", podNames(p.remove))
	}
}

func TestPodTemplateAddsTolerationsAndRevisionLabels(t *testing.T) {
	t.Parallel()
	ds := newDS()
	tmpl := podTemplate(ds, "abc")
	if tmpl.Labels[hashLabel] != "abc" || tmpl.Labels[generationLabel] != "1" || tmpl.Labels["app"] != "agent" {
		t.Errorf("labels %v", tmpl.Labels)
	}
	if len(tmpl.Spec.Tolerations) != len(daemonTolerations) {
		t.Errorf("tolerations %v", tmpl.Spec.Tolerations)
	}
	if len(ds.Spec.Template.Spec.Tolerations) != 0 || ds.Spec.Template.Labels[hashLabel] != "" {
		t.Error("podTemplate changed the DaemonSet")
	}
}
