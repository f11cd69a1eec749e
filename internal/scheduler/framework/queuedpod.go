package framework

import (
	"time"

	"k8s.io/apimachinery/pkg/util/sets"
)

// QueuedPodInfo is a pending pod with its scheduling-queue bookkeeping.
type QueuedPodInfo struct {
	*PodInfo
	// Timestamp is when the pod last entered the queue; it breaks priority ties.
	Timestamp time.Time
	// Attempts counts scheduling attempts (for backoff).
	Attempts int
	// InitialAttemptTimestamp is when the pod was first popped (zero before).
	InitialAttemptTimestamp time.Time
	// UnschedulablePlugins and PendingPlugins are the plugins that rejected the pod in its
	// last attempt; only events these plugins care about move it back to the active queue.
	UnschedulablePlugins sets.Set[string]
	PendingPlugins       sets.Set[string]
	// GatedBy names the PreEnqueue plugin keeping the pod out of the active queue.
	GatedBy string
	// ConsecutiveErrors counts attempts that failed with an error rather than a verdict.
	ConsecutiveErrors int
}
