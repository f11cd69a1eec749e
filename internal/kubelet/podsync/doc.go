// Package podsync holds the kubelet's pure decisions about one pod: from the pod's spec,
// a snapshot of its sandboxes and containers in the runtime, the probe results and the
// crash back-off, it computes what to do (create a sandbox, start, kill or leave
// containers waiting) and the pod status to report, field for field as upstream's kubelet
// fills it. Nothing here does I/O or reads a clock: time is a parameter.
package podsync
