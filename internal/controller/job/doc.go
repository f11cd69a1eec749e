// Package job is the job-controller. It runs a Job's pods to completion: it creates pods
// from the template (each with the batch.kubernetes.io/job-tracking finalizer and, in
// Indexed mode, its completion index and hostname) up to parallelism, replaces failed
// ones with an exponential backoff (10 s doubling, at most 6 min), and counts finished
// pods exactly once through status.uncountedTerminatedPods before removing their
// finalizer. It applies backoffLimit, backoffLimitPerIndex, activeDeadlineSeconds,
// podFailurePolicy, successPolicy and suspend, and reports upstream's conditions
// (FailureTarget and SuccessCriteriaMet first, then Failed or Complete once no pod is
// left running) and counts.
//
// The arithmetic is pure and table-tested: index sets (indexes.go), policies and backoff
// (policy.go), the classification of pods (account.go) and the finishing decision
// (conditions.go). sync.go, manage.go and tracking.go do the I/O.
package job
