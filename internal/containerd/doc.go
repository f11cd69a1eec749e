// Package containerd runs the node's own containerd: it renders the configuration (CRI
// plugin on, the built-in sandbox image, cgroupfs, overlayfs, restrict_oom_score_adj for
// hosts without CAP_SYS_RESOURCE, the CNI directories, registry mirrors), writes it under
// <data-dir>/agent/containerd, and supervises the process: starts it, restarts it when it
// dies, and stops it on shutdown.
//
// Containers live in containerd's shims, not in containerd itself, so stopping or
// restarting containerd leaves running pods alone. This package never talks CRI beyond
// asking whether the socket answers; pods are the kubelet's business.
package containerd
