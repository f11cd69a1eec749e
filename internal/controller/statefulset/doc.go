// Package statefulset is the StatefulSet controller ("statefulset-controller"): it gives
// each replica a stable identity (pod <set>-<ordinal> counting from spec.ordinals.start,
// hostname and subdomain from serviceName, the pod-name and pod-index labels) and stable
// storage (a PVC <claim>-<set>-<ordinal> per volumeClaimTemplate, kept or deleted per
// persistentVolumeClaimRetentionPolicy through ownerReferences). With OrderedReady it
// creates pods in ordinal order, each after its predecessors are Running and Ready, and
// removes them in reverse; with Parallel it acts on all at once. Template changes roll out
// highest ordinal first down to the partition (RollingUpdate) or wait for the user to delete
// pods (OnDelete), tracked by ControllerRevisions (currentRevision, updateRevision).
//
// identity.go, claims.go and plan.go are pure: they decide; controller.go, sync.go and
// history.go read the caches and make the API calls. The controller never deletes PVCs
// itself: the garbage collector follows the ownerReferences it sets.
package statefulset
