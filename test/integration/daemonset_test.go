package integration

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
)

// dssPoll polls cond every 20 ms until it returns nil, failing after 30 s with its last error.
func dssPoll(t *testing.T, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s: %v", what, err)
		}
		<-tick.C
	}
}

func dssNode(t *testing.T, c kubernetes.Interface, name string, lbls map[string]string, taints ...corev1.Taint) {
	t.Helper()
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: lbls}, Spec: corev1.NodeSpec{Taints: taints}}
	if _, err := c.CoreV1().Nodes().Create(t.Context(), n, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func dssListPods(ctx context.Context, c kubernetes.Interface, ns string, sel map[string]string) ([]corev1.Pod, error) {
	l, err := c.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: labels.SelectorFromSet(sel).String()})
	if err != nil {
		return nil, err
	}
	return l.Items, nil
}

// dssPinnedNode is the node a daemon pod is pinned to by its required node affinity.
func dssPinnedNode(p *corev1.Pod) string {
	if p.Spec.NodeName != "" {
		return p.Spec.NodeName
	}
	a := p.Spec.Affinity
	if a == nil || a.NodeAffinity == nil || a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution == nil {
		return ""
	}
	for _, term := range a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms {
		for _, f := range term.MatchFields {
			if f.Key == "metadata.name" && len(f.Values) == 1 {
				return f.Values[0]
			}
		}
	}
	return ""
}

func dssReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// dssKubelet does, once, what the scheduler and the kubelets would: binds pods pinned to a
// node, reports bound pods Running and Ready, and finishes the deletion of terminating pods.
func dssKubelet(ctx context.Context, c kubernetes.Interface, ps []corev1.Pod) error {
	for i := range ps {
		p := &ps[i]
		switch {
		case p.DeletionTimestamp != nil:
			err := c.CoreV1().Pods(p.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)})
			if err != nil && !apierrors.IsNotFound(err) {
				return err
			}
		case p.Spec.NodeName == "":
			node := dssPinnedNode(p)
			if node == "" {
				continue
			}
			b := &corev1.Binding{ObjectMeta: metav1.ObjectMeta{Name: p.Name}, Target: corev1.ObjectReference{Kind: "Node", Name: node}}
			if err := c.CoreV1().Pods(p.Namespace).Bind(ctx, b, metav1.CreateOptions{}); err != nil && !apierrors.IsConflict(err) && !apierrors.IsNotFound(err) {
				return err
			}
		case !dssReady(p):
			if err := dssMarkReady(ctx, c, p); err != nil && !apierrors.IsConflict(err) && !apierrors.IsNotFound(err) {
				return err
			}
		}
	}
	return nil
}

func dssMarkReady(ctx context.Context, c kubernetes.Interface, p *corev1.Pod) error {
	p = p.DeepCopy()
	now := metav1.Now()
	p.Status.Phase = corev1.PodRunning
	p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: now}}
	_, err := c.CoreV1().Pods(p.Namespace).UpdateStatus(ctx, p, metav1.UpdateOptions{})
	return err
}

func dssDaemonSet(name string) *appsv1.DaemonSet {
	lbls := map[string]string{"app": name}
	return &appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.DaemonSetSpec{
			Selector: &metav1.LabelSelector{MatchLabels: lbls},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: lbls},
				Spec: corev1.PodSpec{
					NodeSelector: map[string]string{"role": "worker"},
					Containers:   []corev1.Container{{Name: "agent", Image: "agent:v1"}},
				},
			},
		},
	}
}

// dssNodesOf maps each daemon pod's node to its pods.
func dssNodesOf(ps []corev1.Pod) map[string][]corev1.Pod {
	out := map[string][]corev1.Pod{}
	for _, p := range ps {
		out[dssPinnedNode(&p)] = append(out[dssPinnedNode(&p)], p)
	}
	return out
}

func dssImage(p corev1.Pod) string { return p.Spec.Containers[0].Image }

// dssSettle runs the fake kubelet until every eligible node runs one ready pod of image and
// the DaemonSet's status says so; check runs on every snapshot first.
func dssSettle(t *testing.T, c kubernetes.Interface, ns, name string, nodes []string, image string, check func([]corev1.Pod) error) {
	t.Helper()
	ctx := t.Context()
	dssPoll(t, fmt.Sprintf("%s on %v with image %s", name, nodes, image), func() error {
		ps, err := dssListPods(ctx, c, ns, map[string]string{"app": name})
		if err != nil {
			return err
		}
		if check != nil {
			if err := check(ps); err != nil {
				t.Fatal(err)
			}
		}
		if err := dssKubelet(ctx, c, ps); err != nil {
			return err
		}
		byNode := dssNodesOf(ps)
		if got := sortedKeys(byNode); !slices.Equal(got, nodes) {
			return fmt.Errorf("pods on %v", got)
		}
		for node, onNode := range byNode {
			if len(onNode) != 1 || !dssReady(&onNode[0]) || dssImage(onNode[0]) != image {
				return fmt.Errorf("node %s: %d pods, first ready=%v image %s", node, len(onNode), dssReady(&onNode[0]), dssImage(onNode[0]))
			}
		}
		ds, err := c.AppsV1().DaemonSets(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		n := int32(len(nodes))
		st := ds.Status
		if st.ObservedGeneration != ds.Generation || st.DesiredNumberScheduled != n || st.CurrentNumberScheduled != n ||
			st.NumberReady != n || st.NumberAvailable != n || st.UpdatedNumberScheduled != n || st.NumberUnavailable != 0 {
			return fmt.Errorf("status %+v (generation %d)", st, ds.Generation)
		}
		return nil
	})
}

func sortedKeys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func TestIntegrationDaemonSet(t *testing.T) {
	s := start(t)
	ctx := t.Context()
	c := s.Client
	worker := map[string]string{"role": "worker"}
	dssNode(t, c, "n1", worker)
	dssNode(t, c, "n2", worker)
	dssNode(t, c, "tainted", worker, corev1.Taint{Key: "dedicated", Value: "db", Effect: corev1.TaintEffectNoSchedule})
	dssNode(t, c, "other", map[string]string{"role": "db"})
	// A cordoned node keeps its daemon pods: they tolerate node.kubernetes.io/unschedulable.
	dssNode(t, c, "cordoned", worker, corev1.Taint{Key: corev1.TaintNodeUnschedulable, Effect: corev1.TaintEffectNoSchedule})

	if _, err := c.AppsV1().DaemonSets("default").Create(ctx, dssDaemonSet("agent"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	dssSettle(t, c, "default", "agent", []string{"cordoned", "n1", "n2"}, "agent:v1", nil)

	ps, err := dssListPods(ctx, c, "default", map[string]string{"app": "agent"})
	if err != nil {
		t.Fatal(err)
	}
	p := ps[0]
	if ref := metav1.GetControllerOf(&p); ref == nil || ref.Kind != "DaemonSet" || ref.Name != "agent" || !ptr.Deref(ref.BlockOwnerDeletion, false) {
		t.Errorf("owner reference %+v", p.OwnerReferences)
	}
	if p.Labels[appsv1.ControllerRevisionHashLabelKey] == "" || p.Labels["pod-template-generation"] != "1" {
		t.Errorf("pod labels %v: want the revision hash and template generation 1", p.Labels)
	}
	var tolerated []string
	for _, tol := range p.Spec.Tolerations {
		tolerated = append(tolerated, tol.Key+":"+string(tol.Effect))
	}
	for _, want := range []string{"node.kubernetes.io/not-ready:NoExecute", "node.kubernetes.io/unreachable:NoExecute", "node.kubernetes.io/unschedulable:NoSchedule", "node.kubernetes.io/disk-pressure:NoSchedule"} {
		if !slices.Contains(tolerated, want) {
			t.Errorf("tolerations %v lack %s", tolerated, want)
		}
	}

	// A new eligible node gets a pod.
	dssNode(t, c, "n3", worker)
	dssSettle(t, c, "default", "agent", []string{"cordoned", "n1", "n2", "n3"}, "agent:v1", nil)

	// A template change rolls out with at most maxUnavailable (1) node without an available pod.
	ds, err := c.AppsV1().DaemonSets("default").Get(ctx, "agent", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ds.Spec.Template.Spec.Containers[0].Image = "agent:v2"
	if _, err := c.AppsV1().DaemonSets("default").Update(ctx, ds, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	nodes := []string{"cordoned", "n1", "n2", "n3"}
	atMostOneDown := func(ps []corev1.Pod) error {
		up := 0
		for _, onNode := range dssNodesOf(ps) {
			for _, p := range onNode {
				if p.DeletionTimestamp == nil && dssReady(&p) {
					up++
					break
				}
			}
		}
		if up < len(nodes)-1 {
			return fmt.Errorf("only %d of %d nodes have an available pod during the rollout (maxUnavailable 1)", up, len(nodes))
		}
		return nil
	}
	dssSettle(t, c, "default", "agent", nodes, "agent:v2", atMostOneDown)

	out, stderr, err := s.Kubectl("", "rollout", "status", "daemonset/agent", "--timeout=20s")
	if err != nil || !strings.Contains(out, `daemon set "agent" successfully rolled out`) {
		t.Errorf("rollout status: %v\n%s%s", err, out, stderr)
	}
	out, stderr, err = s.Kubectl("", "rollout", "history", "daemonset/agent")
	if err != nil || !strings.Contains(out, "REVISION") || !strings.Contains(out, "\n1 ") || !strings.Contains(out, "\n2 ") {
		t.Errorf("rollout history: %v\n%s%s", err, out, stderr)
	}
	out, stderr, err = s.Kubectl("", "rollout", "history", "daemonset/agent", "--revision=2")
	if err != nil || !strings.Contains(out, "agent:v2") {
		t.Errorf("rollout history --revision=2: %v\n%s%s", err, out, stderr)
	}
	out, stderr, err = s.Kubectl("", "rollout", "undo", "daemonset/agent")
	if err != nil || !strings.Contains(out, "rolled back") {
		t.Fatalf("rollout undo: %v\n%s%s", err, out, stderr)
	}
	dssSettle(t, c, "default", "agent", nodes, "agent:v1", atMostOneDown)
	revs, err := c.AppsV1().ControllerRevisions("default").List(ctx, metav1.ListOptions{LabelSelector: "app=agent"})
	if err != nil {
		t.Fatal(err)
	}
	var numbers []int64
	for _, r := range revs.Items {
		numbers = append(numbers, r.Revision)
	}
	slices.Sort(numbers)
	if !slices.Equal(numbers, []int64{2, 3}) {
		t.Errorf("revisions after undo: %v, want [2 3] (the undone-to template renumbered)", numbers)
	}

	// Tainting a node NoExecute evicts the daemon pod; labelling a node out removes it too.
	n1, err := c.CoreV1().Nodes().Get(ctx, "n1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	n1.Spec.Taints = []corev1.Taint{{Key: "maintenance", Effect: corev1.TaintEffectNoExecute}}
	if _, err := c.CoreV1().Nodes().Update(ctx, n1, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	n2, err := c.CoreV1().Nodes().Get(ctx, "n2", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	n2.Labels["role"] = "db"
	if _, err := c.CoreV1().Nodes().Update(ctx, n2, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	dssSettle(t, c, "default", "agent", []string{"cordoned", "n3"}, "agent:v1", nil)
}

func TestIntegrationDaemonSetSurgeAndOnDelete(t *testing.T) {
	s := start(t)
	ctx := t.Context()
	c := s.Client
	worker := map[string]string{"role": "worker"}
	nodes := []string{"n1", "n2", "n3"}
	for _, n := range nodes {
		dssNode(t, c, n, worker)
	}
	surge := dssDaemonSet("surge")
	surge.Spec.UpdateStrategy = appsv1.DaemonSetUpdateStrategy{
		Type:          appsv1.RollingUpdateDaemonSetStrategyType,
		RollingUpdate: &appsv1.RollingUpdateDaemonSet{MaxSurge: ptr.To(intstr.FromInt32(1)), MaxUnavailable: ptr.To(intstr.FromInt32(0))},
	}
	manual := dssDaemonSet("manual")
	manual.Spec.UpdateStrategy = appsv1.DaemonSetUpdateStrategy{Type: appsv1.OnDeleteDaemonSetStrategyType}
	for _, ds := range []*appsv1.DaemonSet{surge, manual} {
		if _, err := c.AppsV1().DaemonSets("default").Create(ctx, ds, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	dssSettle(t, c, "default", "surge", nodes, "agent:v1", nil)
	dssSettle(t, c, "default", "manual", nodes, "agent:v1", nil)
	for _, name := range []string{"surge", "manual"} {
		ds, err := c.AppsV1().DaemonSets("default").Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		ds.Spec.Template.Spec.Containers[0].Image = "agent:v2"
		if _, err := c.AppsV1().DaemonSets("default").Update(ctx, ds, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}

	// maxSurge 1, maxUnavailable 0: every node keeps an available pod, one node at a time
	// runs two.
	neverDown := func(ps []corev1.Pod) error {
		live := 0
		for node, onNode := range dssNodesOf(ps) {
			up := false
			for _, p := range onNode {
				if p.DeletionTimestamp == nil {
					live++
					up = up || dssReady(&p)
				}
			}
			if !up {
				return fmt.Errorf("node %s has no available pod during a surge rollout", node)
			}
		}
		if live > len(nodes)+1 {
			return fmt.Errorf("%d live pods on %d nodes with maxSurge 1", live, len(nodes))
		}
		return nil
	}
	dssSettle(t, c, "default", "surge", nodes, "agent:v2", neverDown)

	// OnDelete: nothing changes until a pod is deleted; its replacement runs the new template.
	dssPoll(t, "the OnDelete DaemonSet to observe its new template", func() error {
		ds, err := c.AppsV1().DaemonSets("default").Get(ctx, "manual", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if ds.Status.ObservedGeneration != ds.Generation || ds.Status.UpdatedNumberScheduled != 0 {
			return fmt.Errorf("status %+v", ds.Status)
		}
		return nil
	})
	ps, err := dssListPods(ctx, c, "default", map[string]string{"app": "manual"})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ps {
		if dssImage(p) != "agent:v1" {
			t.Errorf("OnDelete replaced %s on its own", p.Name)
		}
	}
	victim := dssNodesOf(ps)["n2"][0]
	if err := c.CoreV1().Pods("default").Delete(ctx, victim.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	dssPoll(t, "n2's pod replaced at the new template", func() error {
		ps, err := dssListPods(ctx, c, "default", map[string]string{"app": "manual"})
		if err != nil {
			return err
		}
		if err := dssKubelet(ctx, c, ps); err != nil {
			return err
		}
		byNode := dssNodesOf(ps)
		if len(byNode["n2"]) != 1 || dssImage(byNode["n2"][0]) != "agent:v2" || dssImage(byNode["n1"][0]) != "agent:v1" {
			return fmt.Errorf("pods %v", byNode)
		}
		return nil
	})
}
