// Package server is the kubelet's HTTPS API on :10250, the endpoint the API server proxies
// pods/log, pods/exec, pods/attach, pods/portforward and nodes/proxy to.
//
// It serves /healthz, /pods, /containerLogs/{ns}/{pod}/{container} (reading the CRI log
// files under /var/log/pods), /exec, /attach and /portForward (asking the container runtime
// through CRI for a streaming URL and proxying the upgraded SPDY or websocket connection to
// it) and /stats/summary (from CRI stats and the node's cgroups).
//
// Only clients with a certificate from the cluster CA may use it, and of those only the API
// server's kubelet-client identity and members of system:masters.
//
// It owns no pod state: it reads the kubelet core's pods through the Pods interface and the
// runtime's state through CRI. It must not start, stop or change containers.
package server
