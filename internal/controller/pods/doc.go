// Package pods holds what every controller that owns pods (or other objects through a
// controller ownerReference) shares: building pods from a template with a controller
// reference, creating and deleting them with upstream's events, claiming (adopting and
// releasing) objects by selector (RefManager, for any metav1.Object), expectations that
// keep a controller from acting twice on a stale cache, pod informer events mapped to
// owner keys (PodEvents), slow-start batches, ControllerRevision helpers, and the pod
// predicates and deletion order of upstream's controllers.
//
// It holds no control loop and no informers: controllers call it from their sync.
package pods
