package daemonset

import (
	"slices"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	"capstan/internal/controller/pods"
)

// Labels daemon pods carry so the controller can tell their template: the ControllerRevision
// hash, and (for pods of old clients) the template generation.
const (
	hashLabel       = appsv1.DefaultDaemonSetUniqueLabelKey
	generationLabel = "pod-template-generation"
)

// view is what one sync of a DaemonSet decides from: the nodes, the pods the DaemonSet
// controls grouped by the node they belong to, and the current template's hash.
type view struct {
	ds *appsv1.DaemonSet
	// hash of the current revision; pods labelled with it run the current template.
	hash string
	// nodes sorted by name, with where the DaemonSet's pod belongs.
	nodes  []*corev1.Node
	places map[string]placement
	// pods by target node (spec.nodeName or the node they are pinned to).
	pods map[string][]*corev1.Pod
	now  time.Time
}

func newView(ds *appsv1.DaemonSet, hash string, nodes []*corev1.Node, owned []*corev1.Pod, now time.Time) *view {
	v := &view{ds: ds, hash: hash, places: map[string]placement{}, pods: map[string][]*corev1.Pod{}, now: now}
	v.nodes = slices.Clone(nodes)
	slices.SortFunc(v.nodes, func(a, b *corev1.Node) int { return strings.Compare(a.Name, b.Name) })
	for _, n := range v.nodes {
		v.places[n.Name] = placeOn(ds, n)
	}
	for _, p := range owned {
		if node := targetNode(p); node != "" {
			v.pods[node] = append(v.pods[node], p)
		}
	}
	for _, ps := range v.pods {
		sortOldestFirst(ps)
	}
	return v
}

// sortOldestFirst orders pods bound to a node before unbound ones, then by creation time
// and name: the first pod is the one a node keeps.
func sortOldestFirst(ps []*corev1.Pod) {
	slices.SortStableFunc(ps, func(a, b *corev1.Pod) int {
		if (a.Spec.NodeName == "") != (b.Spec.NodeName == "") {
			if a.Spec.NodeName != "" {
				return -1
			}
			return 1
		}
		if c := a.CreationTimestamp.Compare(b.CreationTimestamp.Time); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
}

// updated reports whether pod runs the DaemonSet's current template: it carries the
// current hash, or the current template generation.
func (v *view) updated(pod *corev1.Pod) bool {
	if v.hash != "" && pod.Labels[hashLabel] == v.hash {
		return true
	}
	gen, ok := v.ds.Annotations[appsv1.DeprecatedTemplateGeneration]
	return ok && pod.Labels[generationLabel] == gen
}

func (v *view) available(pod *corev1.Pod) bool {
	return pods.IsAvailable(pod, v.ds.Spec.MinReadySeconds, v.now)
}

// plan is what a sync does: create a pod on each node of createOn, delete the pods of
// remove, and delete the failed pods of failed once their node's backoff allows.
type plan struct {
	createOn []string
	remove   []*corev1.Pod
	failed   []*corev1.Pod
}

// manage plans the pods each node needs: a pod where one should run and none is, none where
// none may stay, one where several are (two while surging), and a fresh one in place of a
// failed or succeeded one. Unbound pods pinned to a node that no longer exists go too.
func (v *view) manage() plan {
	var p plan
	surge := allowsSurge(v.ds)
	for _, n := range v.nodes {
		place, onNode := v.places[n.Name], v.pods[n.Name]
		switch {
		case place.run && len(onNode) == 0:
			p.createOn = append(p.createOn, n.Name)
		case place.keep:
			v.pruneNode(&p, n.Name, onNode, place.run, surge)
		default:
			for _, pod := range onNode {
				if pod.DeletionTimestamp == nil {
					p.remove = append(p.remove, pod)
				}
			}
		}
	}
	known := map[string]bool{}
	for _, n := range v.nodes {
		known[n.Name] = true
	}
	for _, name := range sortedKeys(v.pods) {
		if known[name] {
			continue
		}
		for _, pod := range v.pods[name] {
			if pod.Spec.NodeName == "" && pod.DeletionTimestamp == nil {
				p.remove = append(p.remove, pod)
			}
		}
	}
	return p
}

// pruneNode plans a node whose pods may stay.
func (v *view) pruneNode(p *plan, node string, onNode []*corev1.Pod, run, surge bool) {
	var running []*corev1.Pod
	for _, pod := range onNode {
		switch {
		case pod.DeletionTimestamp != nil:
		case pod.Status.Phase == corev1.PodFailed:
			p.failed = append(p.failed, pod)
		case pod.Status.Phase == corev1.PodSucceeded:
			p.remove = append(p.remove, pod)
		default:
			running = append(running, pod)
		}
	}
	if !surge {
		// Keep the oldest only.
		if len(running) > 1 {
			p.remove = append(p.remove, running[1:]...)
		}
		return
	}
	if len(running) == 0 {
		if run {
			p.createOn = append(p.createOn, node)
		}
		return
	}
	// While surging a node keeps at most the oldest new pod and the oldest old one, and the
	// old one only while it is ready and the new one is not yet available.
	var newest, oldest *corev1.Pod
	for _, pod := range running {
		switch {
		case v.updated(pod) && newest == nil:
			newest = pod
		case !v.updated(pod) && oldest == nil:
			oldest = pod
		default:
			p.remove = append(p.remove, pod)
		}
	}
	if newest != nil && oldest != nil && (!pods.IsReady(oldest) || v.available(newest)) {
		p.remove = append(p.remove, oldest)
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// statusCounts computes the DaemonSet's status counts (observedGeneration and the rest are
// the caller's).
func (v *view) statusCounts() appsv1.DaemonSetStatus {
	var st appsv1.DaemonSetStatus
	for _, n := range v.nodes {
		onNode := v.pods[n.Name]
		if !v.places[n.Name].run {
			if len(onNode) > 0 {
				st.NumberMisscheduled++
			}
			continue
		}
		st.DesiredNumberScheduled++
		if len(onNode) == 0 {
			continue
		}
		st.CurrentNumberScheduled++
		pod := onNode[0]
		if pods.IsReady(pod) {
			st.NumberReady++
			if v.available(pod) {
				st.NumberAvailable++
			}
		}
		if v.updated(pod) {
			st.UpdatedNumberScheduled++
		}
	}
	st.NumberUnavailable = st.DesiredNumberScheduled - st.NumberAvailable
	return st
}
