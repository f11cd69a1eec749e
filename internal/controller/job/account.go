package job

import (
	"slices"
	"strconv"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"capstan/internal/controller/pods"
)

const finalizer = batchv1.JobTrackingFinalizer

// tally is what one sync finds among a job's pods.
type tally struct {
	// active pods run or wait to run: not finished, not being deleted.
	active      []*corev1.Pod
	ready       int
	terminating int
	// newSucceeded and newFailed finished since the last count (their finalizer is still
	// on and they are not in uncountedTerminatedPods yet); newIgnored failed but an Ignore
	// rule excuses them.
	newSucceeded, newFailed, newIgnored []*corev1.Pod
	// failJob is the message of the first FailJob rule a new failure matched.
	failJob string
	// Indexed jobs: the indexes succeeded and failed (status and new), and what each
	// index's failures so far were.
	succeeded, failed indexSet
	perIndex          map[int]indexHistory
}

// indexHistory is the failure history of one completion index.
type indexHistory struct {
	failures, ignored int
	// lastFailed is the most recent failed pod of the index.
	lastFailed *corev1.Pod
}

// counts is the status's view of pods already accounted for.
type counts struct {
	uncountedSucceeded, uncountedFailed map[types.UID]bool
	// released are pods whose finalizer this controller removed and that the cache still
	// shows with it.
	released map[types.UID]bool
}

func newCounts(job *batchv1.Job, released map[types.UID]bool) counts {
	c := counts{uncountedSucceeded: map[types.UID]bool{}, uncountedFailed: map[types.UID]bool{}, released: released}
	if u := job.Status.UncountedTerminatedPods; u != nil {
		for _, uid := range u.Succeeded {
			c.uncountedSucceeded[uid] = true
		}
		for _, uid := range u.Failed {
			c.uncountedFailed[uid] = true
		}
	}
	return c
}

// pending reports a pod that still has to be counted: finalizer on, not yet released.
func (c counts) pending(p *corev1.Pod) bool {
	return slices.Contains(p.Finalizers, finalizer) && !c.released[p.UID]
}

// classify sorts a job's pods into the tally.
func classify(job *batchv1.Job, all []*corev1.Pod, c counts) tally {
	t := tally{perIndex: map[int]indexHistory{}}
	indexed := isIndexed(job)
	completions := int(deref(job.Spec.Completions))
	if indexed {
		t.succeeded = parseIndexes(job.Status.CompletedIndexes, completions)
		t.failed = parseIndexes(deref(job.Status.FailedIndexes), completions)
	}
	for _, p := range all {
		terminal := pods.IsTerminal(p)
		switch {
		case !terminal && p.DeletionTimestamp == nil:
			t.active = append(t.active, p)
			if pods.IsReady(p) {
				t.ready++
			}
		case !terminal:
			t.terminating++
		}
		// A deleted pod may count as failed before it has stopped, unless the job's
		// suspension deleted it.
		finished := p.Status.Phase == corev1.PodSucceeded ||
			(podFailed(p, job) && !(suspended(job) && p.Status.Phase != corev1.PodFailed))
		ix := podIndex(p)
		if indexed && (ix < 0 || ix >= completions) {
			ix = -1
		}
		if indexed && ix >= 0 && podFailed(p, job) {
			t.recordIndexFailure(job, p, ix)
		}
		if !finished || !c.pending(p) {
			continue
		}
		switch {
		case p.Status.Phase == corev1.PodSucceeded:
			if indexed {
				if ix >= 0 && !t.succeeded.has(ix) {
					t.succeeded.add(ix)
					t.newSucceeded = append(t.newSucceeded, p)
				}
			} else if !c.uncountedSucceeded[p.UID] {
				t.newSucceeded = append(t.newSucceeded, p)
			}
		case !c.uncountedFailed[p.UID] && (!indexed || ix >= 0):
			t.classifyFailure(job, p)
		}
	}
	return t
}

// classifyFailure applies the pod failure policy to a new failure.
func (t *tally) classifyFailure(job *batchv1.Job, p *corev1.Pod) {
	action, msg := matchFailurePolicy(job.Spec.PodFailurePolicy, p)
	if action == nil {
		t.newFailed = append(t.newFailed, p)
		return
	}
	switch *action {
	case batchv1.PodFailurePolicyActionIgnore:
		t.newIgnored = append(t.newIgnored, p)
	case batchv1.PodFailurePolicyActionFailJob:
		t.newFailed = append(t.newFailed, p)
		if t.failJob == "" {
			t.failJob = msg
		}
	default: // Count, FailIndex (handled per index)
		t.newFailed = append(t.newFailed, p)
	}
}

// recordIndexFailure updates the failure history of index ix with a failed pod, and marks
// the index failed when its failures exceed backoffLimitPerIndex or a FailIndex rule
// matches.
func (t *tally) recordIndexFailure(job *batchv1.Job, p *corev1.Pod, ix int) {
	failures, ignored := annotationCount(p, failureCountAnnotation), annotationCount(p, ignoredCountAnnotation)
	action, _ := matchFailurePolicy(job.Spec.PodFailurePolicy, p)
	switch {
	case action != nil && *action == batchv1.PodFailurePolicyActionIgnore:
		ignored++
	default:
		failures++
	}
	h := t.perIndex[ix]
	if h.lastFailed == nil || failures+ignored > h.failures+h.ignored {
		h = indexHistory{failures: failures, ignored: ignored, lastFailed: p}
	}
	t.perIndex[ix] = h
	if limit := job.Spec.BackoffLimitPerIndex; limit != nil && !t.succeeded.has(ix) {
		if (action != nil && *action == batchv1.PodFailurePolicyActionFailIndex) || failures > int(*limit) {
			t.failed.add(ix)
		}
	}
}

func annotationCount(p *corev1.Pod, key string) int {
	n, err := strconv.Atoi(p.Annotations[key])
	if err != nil || n < 0 {
		return 0
	}
	return n
}

func isIndexed(job *batchv1.Job) bool {
	return job.Spec.CompletionMode != nil && *job.Spec.CompletionMode == batchv1.IndexedCompletion
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
