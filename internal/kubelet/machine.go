package kubelet

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// Machine is what the node reports about its host.
type Machine struct {
	CPUs                    int
	MemoryBytes             int64
	EphemeralStorageBytes   int64
	MachineID, SystemUUID   string
	BootID, KernelVersion   string
	OSImage, Architecture   string
	EphemeralAvailableBytes int64
	MemoryAvailableBytes    int64
	// HugePages2Mi and HugePages1Gi are the reserved huge pages of each size.
	HugePages2Mi, HugePages1Gi int64
}

// readMachine reads the host's facts; rootDir's file system is the ephemeral storage.
func readMachine(rootDir string) Machine {
	m := Machine{CPUs: runtime.NumCPU(), Architecture: runtime.GOARCH}
	if mem, avail := meminfo(); mem > 0 {
		m.MemoryBytes, m.MemoryAvailableBytes = mem, avail
	}
	var st syscall.Statfs_t
	if syscall.Statfs(rootDir, &st) == nil {
		m.EphemeralStorageBytes = int64(st.Blocks) * st.Bsize
		m.EphemeralAvailableBytes = int64(st.Bavail) * st.Bsize
	}
	m.MachineID = firstLine("/etc/machine-id", "/var/lib/dbus/machine-id")
	m.SystemUUID = strings.ToUpper(firstLine("/sys/class/dmi/id/product_uuid"))
	if m.SystemUUID == "" {
		m.SystemUUID = m.MachineID
	}
	m.BootID = firstLine("/proc/sys/kernel/random/boot_id")
	m.KernelVersion = firstLine("/proc/sys/kernel/osrelease")
	m.OSImage = osImage()
	m.HugePages2Mi, m.HugePages1Gi = hugePages(2048), hugePages(1048576)
	return m
}

func firstLine(paths ...string) string {
	for _, p := range paths {
		if data, err := os.ReadFile(p); err == nil {
			if line := strings.TrimSpace(strings.SplitN(string(data), "\n", 2)[0]); line != "" {
				return line
			}
		}
	}
	return ""
}

func meminfo() (total, available int64) {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0, 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 2 {
			continue
		}
		v, _ := strconv.ParseInt(fields[1], 10, 64)
		switch fields[0] {
		case "MemTotal:":
			total = v * 1024
		case "MemAvailable:":
			available = v * 1024
		}
	}
	return total, available
}

func osImage() string {
	data, err := os.ReadFile("/etc/os-release")
	if err != nil {
		return "Linux"
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "PRETTY_NAME="); ok {
			return strings.Trim(v, `"`)
		}
	}
	return "Linux"
}

// Eviction thresholds upstream's kubelet subtracts from allocatable by default.
var (
	evictionMemory       = resource.MustParse("100Mi")
	evictionDiskFraction = 0.10
)

// Capacity is the node's capacity from its machine facts.
func Capacity(m Machine, maxPods int) corev1.ResourceList {
	return corev1.ResourceList{
		corev1.ResourceCPU:              *resource.NewQuantity(int64(m.CPUs), resource.DecimalSI),
		corev1.ResourceMemory:           *resource.NewQuantity(m.MemoryBytes/1024*1024, resource.BinarySI),
		corev1.ResourceEphemeralStorage: *resource.NewQuantity(m.EphemeralStorageBytes/1024*1024, resource.BinarySI),
		corev1.ResourcePods:             *resource.NewQuantity(int64(maxPods), resource.DecimalSI),
		"hugepages-1Gi":                 *resource.NewQuantity(m.HugePages1Gi<<30, resource.BinarySI),
		"hugepages-2Mi":                 *resource.NewQuantity(m.HugePages2Mi<<21, resource.BinarySI),
	}
}

// hugePages reads how many huge pages of a size (in kB) the kernel has reserved.
func hugePages(kB int) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/sys/kernel/mm/hugepages/hugepages-%dkB/nr_hugepages", kB))
	if err != nil {
		return 0
	}
	n, _ := strconv.ParseInt(strings.TrimSpace(string(data)), 10, 64)
	return n
}

// Allocatable is capacity less the reservations and the hard eviction thresholds.
func Allocatable(capacity corev1.ResourceList, reserved ...corev1.ResourceList) corev1.ResourceList {
	out := corev1.ResourceList{}
	for name, q := range capacity {
		out[name] = q.DeepCopy()
	}
	sub := func(name corev1.ResourceName, q resource.Quantity) {
		cur, ok := out[name]
		if !ok {
			return
		}
		cur.Sub(q)
		if cur.Sign() < 0 {
			cur = *resource.NewQuantity(0, cur.Format)
		}
		out[name] = cur
	}
	for _, r := range reserved {
		for name, q := range r {
			sub(name, q)
		}
	}
	sub(corev1.ResourceMemory, evictionMemory)
	// Memory reserved as huge pages is not there for ordinary allocations.
	for _, hp := range []corev1.ResourceName{"hugepages-2Mi", "hugepages-1Gi"} {
		if q, ok := capacity[hp]; ok {
			sub(corev1.ResourceMemory, q)
		}
	}
	if eph, ok := capacity[corev1.ResourceEphemeralStorage]; ok {
		sub(corev1.ResourceEphemeralStorage, *resource.NewQuantity(int64(float64(eph.Value())*evictionDiskFraction), resource.BinarySI))
	}
	return out
}
