// Package scheduler is capstan's kube-scheduler: it watches pods without a node, picks a
// node for each with the configured profile's plugins, and binds it through the pods/binding
// subresource, like upstream.
//
// One goroutine runs scheduling cycles: pop the next pod (queue), bring the immutable
// snapshot up to date (cache), run PreFilter once, Filter over the nodes in parallel until
// enough feasible nodes are found (percentageOfNodesToScore), score them, and "assume" the
// pod on the winner in the cache so the next cycle already counts it. Binding then runs in
// its own goroutine; a failed bind forgets the assumption and requeues the pod. A pod that
// fits nowhere may preempt lower-priority pods (DefaultPreemption), and gets the upstream
// FailedScheduling event and PodScheduled=False condition.
//
// The package talks to the API server only through client-go (informers, the binding and
// status calls, events); plugins under plugins/ do no I/O.
package scheduler
