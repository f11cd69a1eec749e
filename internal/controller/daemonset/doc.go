// Package daemonset is the DaemonSet controller ("daemonset-controller"): it keeps one pod of
// each DaemonSet on every node the pod may run on (node name, nodeSelector, required node
// affinity, taints against the pod's tolerations plus the automatic daemon tolerations),
// creating pods pinned to their node through required node affinity on metadata.name so the
// scheduler binds them, and deleting pods from nodes they no longer fit. It rolls template
// changes out with RollingUpdate (maxUnavailable, maxSurge) or leaves them to the user with
// OnDelete, records the template history as ControllerRevisions, and reports the counts in
// status. The placement and rollout arithmetic is pure (placement.go, plan.go, rollout.go);
// controller.go and sync.go do the API calls. It never binds pods itself and never touches
// pods it does not own.
package daemonset
