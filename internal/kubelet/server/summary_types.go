package server

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// The types below are the JSON shape of the kubelet's stats/v1alpha1 Summary, which
// metrics-server and `kubectl get --raw .../proxy/stats/summary` read. Absent values are
// left out, as upstream does.

// Summary is /stats/summary's answer.
type Summary struct {
	Node NodeSummary  `json:"node"`
	Pods []PodSummary `json:"pods"`
}

// NodeSummary is the node's usage.
type NodeSummary struct {
	NodeName         string             `json:"nodeName"`
	SystemContainers []ContainerSummary `json:"systemContainers,omitempty"`
	StartTime        metav1.Time        `json:"startTime"`
	CPU              *CPUStats          `json:"cpu,omitempty"`
	Memory           *MemoryStats       `json:"memory,omitempty"`
	Network          *NetworkStats      `json:"network,omitempty"`
	Fs               *FsStats           `json:"fs,omitempty"`
	Runtime          *RuntimeStats      `json:"runtime,omitempty"`
	Rlimit           *RlimitStats       `json:"rlimit,omitempty"`
}

// RuntimeStats are the container runtime's file systems.
type RuntimeStats struct {
	ImageFs     *FsStats `json:"imageFs,omitempty"`
	ContainerFs *FsStats `json:"containerFs,omitempty"`
}

// RlimitStats are the node's process limits.
type RlimitStats struct {
	Time                  metav1.Time `json:"time"`
	MaxPID                *int64      `json:"maxpid,omitempty"`
	NumOfRunningProcesses *int64      `json:"curproc,omitempty"`
}

// PodSummary is one pod's usage.
type PodSummary struct {
	PodRef           PodReference       `json:"podRef"`
	StartTime        metav1.Time        `json:"startTime"`
	Containers       []ContainerSummary `json:"containers"`
	CPU              *CPUStats          `json:"cpu,omitempty"`
	Memory           *MemoryStats       `json:"memory,omitempty"`
	Network          *NetworkStats      `json:"network,omitempty"`
	VolumeStats      []VolumeStats      `json:"volume,omitempty"`
	EphemeralStorage *FsStats           `json:"ephemeral-storage,omitempty"`
	ProcessStats     *ProcessStats      `json:"process_stats,omitempty"`
}

// PodReference names a pod.
type PodReference struct {
	Name      string `json:"name"`
	Namespace string `json:"namespace"`
	UID       string `json:"uid"`
}

// ContainerSummary is one container's usage.
type ContainerSummary struct {
	Name      string       `json:"name"`
	StartTime metav1.Time  `json:"startTime"`
	CPU       *CPUStats    `json:"cpu,omitempty"`
	Memory    *MemoryStats `json:"memory,omitempty"`
	Rootfs    *FsStats     `json:"rootfs,omitempty"`
	Logs      *FsStats     `json:"logs,omitempty"`
}

// CPUStats is CPU usage: cumulative and as a rate over the last sample.
type CPUStats struct {
	Time                 metav1.Time `json:"time"`
	UsageNanoCores       *uint64     `json:"usageNanoCores,omitempty"`
	UsageCoreNanoSeconds *uint64     `json:"usageCoreNanoSeconds,omitempty"`
}

// MemoryStats is memory usage.
type MemoryStats struct {
	Time            metav1.Time `json:"time"`
	AvailableBytes  *uint64     `json:"availableBytes,omitempty"`
	UsageBytes      *uint64     `json:"usageBytes,omitempty"`
	WorkingSetBytes *uint64     `json:"workingSetBytes,omitempty"`
	RSSBytes        *uint64     `json:"rssBytes,omitempty"`
	PageFaults      *uint64     `json:"pageFaults,omitempty"`
	MajorPageFaults *uint64     `json:"majorPageFaults,omitempty"`
}

// NetworkStats are a network namespace's interface counters; the first interface's are
// inlined.
type NetworkStats struct {
	Time           metav1.Time `json:"time"`
	InterfaceStats `json:",inline"`
	Interfaces     []InterfaceStats `json:"interfaces,omitempty"`
}

// InterfaceStats are one interface's counters.
type InterfaceStats struct {
	Name     string  `json:"name"`
	RxBytes  *uint64 `json:"rxBytes,omitempty"`
	RxErrors *uint64 `json:"rxErrors,omitempty"`
	TxBytes  *uint64 `json:"txBytes,omitempty"`
	TxErrors *uint64 `json:"txErrors,omitempty"`
}

// FsStats is a file system's (or a part of one's) usage.
type FsStats struct {
	Time           metav1.Time `json:"time"`
	AvailableBytes *uint64     `json:"availableBytes,omitempty"`
	CapacityBytes  *uint64     `json:"capacityBytes,omitempty"`
	UsedBytes      *uint64     `json:"usedBytes,omitempty"`
	InodesFree     *uint64     `json:"inodesFree,omitempty"`
	Inodes         *uint64     `json:"inodes,omitempty"`
	InodesUsed     *uint64     `json:"inodesUsed,omitempty"`
}

// VolumeStats is one volume's usage.
type VolumeStats struct {
	FsStats `json:",inline"`
	Name    string `json:"name"`
}

// ProcessStats counts a pod's processes.
type ProcessStats struct {
	ProcessCount *uint64 `json:"process_count,omitempty"`
}
