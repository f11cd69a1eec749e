// Package framework holds the scheduler's data model and plugin contract: the per-node view
// (NodeInfo) and the immutable per-cycle Snapshot of all of them, the per-pod facts computed
// once (PodInfo: effective requests, parsed affinity terms, host ports), the CycleState a
// cycle's plugins share, the Status a plugin answers with, the plugin interfaces of each
// extension point, and Framework, which runs one profile's plugins in order.
//
// It must not do I/O: nothing here talks to the API server. Plugins are pure functions of a
// pod and snapshot data; what they need from outside (namespace labels, volumes, disruption
// budgets, nominated pods) reaches them through the Handle interface, which the scheduler
// backs with informer caches and tests back with fixed data.
package framework
