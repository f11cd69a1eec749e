package kubelet

import (
	"os"
	"path/filepath"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/types"
)

// cgroupRoot is where the cgroup v1 hierarchies are mounted.
const cgroupRoot = "/sys/fs/cgroup"

// removeCgroups removes the (empty) cgroups of a removed pod from every hierarchy; runc
// removes the containers' own cgroups but not their pod-level parent.
func removeCgroups(uid types.UID) { RemovePodCgroups(string(uid)) }

// RemovePodCgroups removes the empty pod-level cgroups of the pod with this UID.
func RemovePodCgroups(uid string) {
	controllers, err := os.ReadDir(cgroupRoot)
	if err != nil {
		return
	}
	pod := "pod" + uid
	for _, c := range controllers {
		for _, parent := range []string{"kubepods", "kubepods/burstable", "kubepods/besteffort"} {
			_ = os.Remove(filepath.Join(cgroupRoot, c.Name(), parent, pod))
		}
	}
}

// podCgroups lists the pod UIDs that have a pod-level cgroup (in the memory hierarchy).
func podCgroups() []string {
	var out []string
	for _, parent := range []string{"kubepods", "kubepods/burstable", "kubepods/besteffort"} {
		entries, err := os.ReadDir(filepath.Join(cgroupRoot, "memory", parent))
		if err != nil {
			continue
		}
		for _, e := range entries {
			if uid, ok := strings.CutPrefix(e.Name(), "pod"); ok && e.IsDir() {
				out = append(out, uid)
			}
		}
	}
	return out
}

// sweepCgroups removes the pod cgroups of pods the kubelet neither runs nor still cleans
// up: a removal that failed because the runtime had not yet removed the containers'
// cgroups is retried here.
func (k *Kubelet) sweepCgroups() {
	for _, uid := range podCgroups() {
		k.mu.Lock()
		_, desired := k.pods[types.UID(uid)]
		_, working := k.workers[types.UID(uid)]
		k.mu.Unlock()
		if !desired && !working {
			RemovePodCgroups(uid)
		}
	}
}

// RemoveAllPodCgroups removes every empty pod cgroup, waiting up to timeout for the
// runtime to remove the containers' cgroups inside them; non-empty ones (pods of another
// kubelet on the host) stay.
func RemoveAllPodCgroups(timeout time.Duration) {
	deadline := time.Now().Add(timeout)
	for {
		for _, uid := range podCgroups() {
			RemovePodCgroups(uid)
		}
		if len(podCgroups()) == 0 || time.Now().After(deadline) {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}
