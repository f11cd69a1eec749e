// Package kubelet is the node agent's pod half: it runs the pods bound to its node (and the
// static pods of its manifest directory) as CRI sandboxes and containers, and reports their
// status, the node's status and the node's Lease to the API server.
//
// The kubelet is level-triggered: one worker per pod compares the pod's spec with what the
// container runtime reports and converges, on every change and on a timer. The decisions
// (what to start, kill or report) are pure functions of that snapshot, tested with tables;
// the CRI, the API and the file system are reached through small interfaces.
//
// It owns nothing of the :10250 HTTPS API (package kubelet/server) beyond the Provider it
// gives that server, and it never talks to etcd or to other components except through the
// API server.
package kubelet
