// Package nodelifecycle holds two controllers that act on node health.
//
// The node lifecycle controller ("node-lifecycle-controller") watches each Node's Ready
// condition heartbeat and its Lease in kube-node-lease. A node silent for longer than the
// grace period gets its Ready, MemoryPressure, DiskPressure and PIDPressure conditions set
// to Unknown and its pods marked not ready. It keeps the controller's NoSchedule taints in
// step with the node's conditions and adds the NoExecute taints node.kubernetes.io/
// unreachable or not-ready to unhealthy nodes at a rate limited per zone, pausing when a
// whole cluster seems down (that is more likely the control plane's view than the nodes).
//
// The taint eviction controller ("taint-eviction-controller") deletes the pods on nodes
// with NoExecute taints they do not tolerate, and tolerating pods once their
// tolerationSeconds have passed.
//
// Neither deletes the pods of deleted nodes: that is pod GC's job.
package nodelifecycle
