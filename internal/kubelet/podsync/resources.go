package podsync

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// QOSClass is the pod's quality of service class, by upstream's rules: Guaranteed when
// every container limits cpu and memory and requests what it limits, BestEffort when no
// container requests or limits either, Burstable otherwise.
func QOSClass(pod *corev1.Pod) corev1.PodQOSClass {
	requests, limits := corev1.ResourceList{}, corev1.ResourceList{}
	zeroLimits := map[corev1.ResourceName]bool{}
	guaranteed := true
	all := append(append([]corev1.Container{}, pod.Spec.InitContainers...), pod.Spec.Containers...)
	for _, c := range all {
		for name, q := range c.Resources.Requests {
			if !qosResource(name) || q.Sign() == 0 {
				continue
			}
			add(requests, name, q)
		}
		seen := map[corev1.ResourceName]bool{}
		for name, q := range c.Resources.Limits {
			if !qosResource(name) {
				continue
			}
			if q.Sign() == 0 {
				zeroLimits[name] = true
				continue
			}
			seen[name] = true
			add(limits, name, q)
		}
		if !seen[corev1.ResourceCPU] || !seen[corev1.ResourceMemory] {
			guaranteed = false
		}
	}
	if len(requests) == 0 && len(limits) == 0 {
		return corev1.PodQOSBestEffort
	}
	if guaranteed {
		for name, r := range requests {
			if l, ok := limits[name]; !ok || l.Cmp(r) != 0 {
				guaranteed = false
			}
		}
	}
	if guaranteed && len(requests) == len(limits) {
		return corev1.PodQOSGuaranteed
	}
	return corev1.PodQOSBurstable
}

func qosResource(name corev1.ResourceName) bool {
	return name == corev1.ResourceCPU || name == corev1.ResourceMemory
}

func add(list corev1.ResourceList, name corev1.ResourceName, q resource.Quantity) {
	if cur, ok := list[name]; ok {
		cur.Add(q)
		list[name] = cur
		return
	}
	list[name] = q.DeepCopy()
}

// Linux CPU and OOM constants of the cgroupfs driver, as upstream uses them.
const (
	minShares     = 2
	sharesPerCPU  = 1024
	quotaPeriod   = 100000 // µs
	minQuota      = 1000   // µs
	guaranteedOOM = -997
	besteffortOOM = 1000
)

// CPUShares turns a cpu request into cgroup v1 cpu.shares (at least 2).
func CPUShares(request *resource.Quantity) int64 {
	if request == nil || request.IsZero() {
		return minShares
	}
	shares := request.MilliValue() * sharesPerCPU / 1000
	return max(shares, minShares)
}

// CPUQuota turns a cpu limit into a CFS quota for the default period; 0 means unlimited.
func CPUQuota(limit *resource.Quantity) (quota, period int64) {
	if limit == nil || limit.IsZero() {
		return 0, 0
	}
	quota = limit.MilliValue() * quotaPeriod / 1000
	return max(quota, minQuota), quotaPeriod
}

// OOMScoreAdj is the container's oom_score_adj: Guaranteed pods are killed last,
// BestEffort first, Burstable in between by their share of the node's memory.
func OOMScoreAdj(pod *corev1.Pod, c *corev1.Container, memoryCapacity int64) int64 {
	switch QOSClass(pod) {
	case corev1.PodQOSGuaranteed:
		return guaranteedOOM
	case corev1.PodQOSBestEffort:
		return besteffortOOM
	}
	if memoryCapacity <= 0 {
		return 999
	}
	req := c.Resources.Requests.Memory().Value()
	adj := 1000 - (1000*req)/memoryCapacity
	if adj < 2 {
		adj = 2
	}
	if adj >= besteffortOOM {
		adj = 999
	}
	return adj
}

// CgroupParent is the pod's cgroup under the cgroupfs driver:
// /kubepods[/burstable|/besteffort]/pod<uid>.
func CgroupParent(pod *corev1.Pod, qos corev1.PodQOSClass) string {
	switch qos {
	case corev1.PodQOSGuaranteed:
		return "/kubepods/pod" + string(pod.UID)
	case corev1.PodQOSBestEffort:
		return "/kubepods/besteffort/pod" + string(pod.UID)
	}
	return "/kubepods/burstable/pod" + string(pod.UID)
}
