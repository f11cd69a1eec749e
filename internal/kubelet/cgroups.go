package kubelet

import (
	"os"
	"path/filepath"

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
