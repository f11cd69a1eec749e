// Package garbagecollector is the garbage-collector-controller. It watches every resource
// that supports list, watch and delete (found through discovery and looked at again
// periodically; built-in ones through the controller-manager's shared informers, the rest
// through metadata informers) and keeps a graph of ownerReferences. From it:
//
//   - background: a dependent whose owners are all gone is deleted, once a live GET has
//     confirmed each owner's absence (by name and uid);
//   - foreground: an owner with the foregroundDeletion finalizer has its dependents
//     deleted first; it waits for those that block it (blockOwnerDeletion) to be gone, then
//     the finalizer is removed and the API server deletes it;
//   - orphan: an owner with the orphan finalizer has its reference removed from each
//     dependent, then the finalizer is removed.
//
// Owners resolve like upstream: a namespaced owner only in the dependent's namespace (one
// found elsewhere is absent, and an OwnerRefInvalidNamespace event says so), and a
// cluster-scoped dependent cannot have a namespaced owner (reported, never collected).
// The graph is built by one goroutine from informer events (graph.go, builder.go);
// decisions are pure (decide.go); workers on the base loop carry them out (delete.go).
package garbagecollector
