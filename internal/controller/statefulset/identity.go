package statefulset

import (
	"regexp"
	"slices"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	"capstan/internal/controller/pods"
)

var (
	kind    = appsv1.SchemeGroupVersion.WithKind("StatefulSet")
	podKind = corev1.SchemeGroupVersion.WithKind("Pod")
)

// memberName splits a pod name "<set>-<ordinal>".
var memberName = regexp.MustCompile(`^(.*)-([0-9]+)$`)

// parentAndOrdinal returns the StatefulSet a pod's name says it belongs to and its ordinal;
// -1 when the name has no ordinal.
func parentAndOrdinal(podName string) (string, int) {
	m := memberName.FindStringSubmatch(podName)
	if m == nil {
		return "", -1
	}
	n, err := strconv.ParseInt(m[2], 10, 32)
	if err != nil {
		return m[1], -1
	}
	return m[1], int(n)
}

func ordinalOf(p *corev1.Pod) int {
	_, n := parentAndOrdinal(p.Name)
	return n
}

// isMember: a StatefulSet only manages pods named after it.
func isMember(set *appsv1.StatefulSet, p *corev1.Pod) bool {
	parent, n := parentAndOrdinal(p.Name)
	return parent == set.Name && n >= 0
}

func startOrdinal(set *appsv1.StatefulSet) int {
	if set.Spec.Ordinals != nil {
		return int(set.Spec.Ordinals.Start)
	}
	return 0
}

func replicasOf(set *appsv1.StatefulSet) int {
	if set.Spec.Replicas == nil {
		return 1
	}
	return int(*set.Spec.Replicas)
}

// inRange: the pod's ordinal is one the set keeps (it is not being scaled away).
func inRange(set *appsv1.StatefulSet, p *corev1.Pod) bool {
	n, start := ordinalOf(p), startOrdinal(set)
	return n >= start && n < start+replicasOf(set)
}

func podName(set *appsv1.StatefulSet, ordinal int) string {
	return set.Name + "-" + strconv.Itoa(ordinal)
}

func claimName(set *appsv1.StatefulSet, template string, ordinal int) string {
	return template + "-" + set.Name + "-" + strconv.Itoa(ordinal)
}

func revisionOf(p *corev1.Pod) string { return p.Labels[appsv1.ControllerRevisionHashLabelKey] }

// newPod builds the pod of ordinal from tmpl (the set at the revision the pod should run),
// labelled with revision.
func newPod(set, tmpl *appsv1.StatefulSet, ordinal int, revision string) *corev1.Pod {
	p := pods.FromTemplate(&tmpl.Spec.Template, set.Name, pods.NewControllerRef(set, kind))
	p.Name = podName(set, ordinal)
	p.Namespace = set.Namespace
	setIdentity(set, p)
	p.Spec.Hostname = p.Name
	p.Spec.Subdomain = set.Spec.ServiceName
	setStorage(set, p)
	p.Labels[appsv1.ControllerRevisionHashLabelKey] = revision
	return p
}

// setIdentity gives the pod its name-derived labels.
func setIdentity(set *appsv1.StatefulSet, p *corev1.Pod) {
	n := ordinalOf(p)
	p.Name = podName(set, n)
	p.Namespace = set.Namespace
	if p.Labels == nil {
		p.Labels = map[string]string{}
	}
	p.Labels[appsv1.StatefulSetPodNameLabel] = p.Name
	p.Labels[appsv1.PodIndexLabel] = strconv.Itoa(n)
}

func identityMatches(set *appsv1.StatefulSet, p *corev1.Pod) bool {
	parent, n := parentAndOrdinal(p.Name)
	return n >= 0 && parent == set.Name && p.Namespace == set.Namespace &&
		p.Labels[appsv1.StatefulSetPodNameLabel] == p.Name &&
		p.Labels[appsv1.PodIndexLabel] == strconv.Itoa(n)
}

// claimsFor returns the PVCs of the pod's ordinal, by volumeClaimTemplate name, in template
// order: each named <template>-<set>-<ordinal> and labelled with the set's selector labels.
func claimsFor(set *appsv1.StatefulSet, ordinal int) []corev1.PersistentVolumeClaim {
	out := make([]corev1.PersistentVolumeClaim, 0, len(set.Spec.VolumeClaimTemplates))
	for _, t := range set.Spec.VolumeClaimTemplates {
		c := *t.DeepCopy()
		c.Name = claimName(set, t.Name, ordinal)
		c.Namespace = set.Namespace
		if c.Labels == nil {
			c.Labels = map[string]string{}
		}
		if set.Spec.Selector != nil {
			for k, v := range set.Spec.Selector.MatchLabels {
				c.Labels[k] = v
			}
		}
		out = append(out, c)
	}
	return out
}

// setStorage points the pod's volumes named after volumeClaimTemplates at its PVCs,
// replacing template volumes of the same name and keeping the others.
func setStorage(set *appsv1.StatefulSet, p *corev1.Pod) {
	n := ordinalOf(p)
	var vols []corev1.Volume
	var names []string
	for _, t := range set.Spec.VolumeClaimTemplates {
		names = append(names, t.Name)
		vols = append(vols, corev1.Volume{Name: t.Name, VolumeSource: corev1.VolumeSource{
			PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: claimName(set, t.Name, n)},
		}})
	}
	for _, v := range p.Spec.Volumes {
		if !slices.Contains(names, v.Name) {
			vols = append(vols, v)
		}
	}
	p.Spec.Volumes = vols
}

func storageMatches(set *appsv1.StatefulSet, p *corev1.Pod) bool {
	n := ordinalOf(p)
	if n < 0 {
		return false
	}
	for _, t := range set.Spec.VolumeClaimTemplates {
		i := slices.IndexFunc(p.Spec.Volumes, func(v corev1.Volume) bool { return v.Name == t.Name })
		if i < 0 {
			return false
		}
		src := p.Spec.Volumes[i].PersistentVolumeClaim
		if src == nil || src.ClaimName != claimName(set, t.Name, n) {
			return false
		}
	}
	return true
}
