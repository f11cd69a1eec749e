// Package queue is the scheduler's queue of pending pods: an active heap ordered by the
// profile's QueueSort (priority, then age), a backoff heap of pods waiting out their
// per-pod exponential backoff, and the unschedulable set of pods waiting for a cluster event
// that could help them (or for the 5 minute flush). It also keeps the nominator: pods
// preemption nominated to a node, which filtering accounts for.
//
// Events are matched against the plugins that rejected each pod (their EventsToRegister and
// queueing hints), so an unrelated change does not wake every pending pod. Events that happen
// while a pod is being scheduled are remembered and replayed when that attempt fails, so a
// pod never misses the event that would have let it fit.
package queue
