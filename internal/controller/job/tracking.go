package job

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// finalizerPatchWorkers bounds the finalizer removals in flight.
const finalizerPatchWorkers = 16

// heldPods returns, with backoffLimitPerIndex, the last failed pod of each index still
// to run whose replacement does not run yet: its annotations carry the index's failure
// count, so it keeps its finalizer until then.
func heldPods(job *batchv1.Job, t tally) map[types.UID]bool {
	held := map[types.UID]bool{}
	if job.Spec.BackoffLimitPerIndex == nil {
		return held
	}
	running := indexSet{}
	for _, p := range t.active {
		running.add(podIndex(p))
	}
	for ix, h := range t.perIndex {
		if h.lastFailed != nil && !running.has(ix) && !t.succeeded.has(ix) && !t.failed.has(ix) {
			held[h.lastFailed.UID] = true
		}
	}
	return held
}

// settle picks the pods whose finalizer can go now and the uids to add to the uncounted
// lists. Finished pods go (unless held); when the job ends or is deleted every pod goes,
// and when it fails the pods that had not finished count as failed; pods deleted because
// the job is suspended go without counting.
func settle(job *batchv1.Job, all []*corev1.Pod, t tally, c counts, fin *finish, held map[types.UID]bool) (release []*corev1.Pod, succeeded, failed []types.UID) {
	newS, newF, ignored := uidSet(t.newSucceeded), uidSet(t.newFailed), uidSet(t.newIgnored)
	ending := fin != nil || job.DeletionTimestamp != nil
	for _, p := range all {
		if !c.pending(p) {
			continue
		}
		switch {
		case held[p.UID] && !ending:
			continue
		case ending, p.Status.Phase == corev1.PodSucceeded, ignored[p.UID], podFailed(p, job):
		case suspended(job) && p.DeletionTimestamp != nil:
		default:
			continue
		}
		release = append(release, p)
		switch {
		case newS[p.UID]:
			if !isIndexed(job) {
				succeeded = append(succeeded, p.UID)
			}
		case newF[p.UID]:
			failed = append(failed, p.UID)
		case fin.failed() && !ignored[p.UID] && !c.uncountedFailed[p.UID] && !c.uncountedSucceeded[p.UID] &&
			p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed:
			failed = append(failed, p.UID)
		}
	}
	return release, succeeded, failed
}

// track counts finished pods exactly once: their uids go to uncountedTerminatedPods
// (stored first), then their finalizers are removed, then they move to the counters.
// It then writes the counts and conditions.
func (c *Controller) track(ctx context.Context, r *round) error {
	job := r.job
	release, addS, addF := settle(job, r.pods, r.t, newCounts(job, c.releasedOf(r.key, r.pods)), r.fin, r.held)
	u := uncounted(job)
	u.Succeeded = append(u.Succeeded, addS...)
	u.Failed = append(u.Failed, addF...)
	job.Status.UncountedTerminatedPods = &u
	if isIndexed(job) {
		job.Status.CompletedIndexes = r.t.succeeded.String()
		job.Status.Succeeded = int32(len(r.t.succeeded))
		if job.Spec.BackoffLimitPerIndex != nil {
			failedIx := r.t.failed.String()
			job.Status.FailedIndexes = &failedIx
		}
	}
	if len(addS)+len(addF) > 0 || job.Status.CompletedIndexes != r.before.CompletedIndexes ||
		deref(job.Status.FailedIndexes) != deref(r.before.FailedIndexes) {
		stored, err := c.writeStatus(ctx, job, r.before)
		if err != nil {
			return err
		}
		r.job, r.before = stored, stored.Status.DeepCopy()
	}
	removed, releaseErr := c.removeFinalizers(ctx, release)
	c.markReleased(r.key, removed)
	c.count(r, removed)
	c.finishStatus(r)
	stored, err := c.writeStatus(ctx, r.job, r.before)
	if err != nil {
		return errors.Join(releaseErr, err)
	}
	r.job = stored
	c.setBackoff(r.key, r.backoff)
	return releaseErr
}

// count moves the uncounted pods that no longer hold the finalizer to the counters.
func (c *Controller) count(r *round, removed []types.UID) {
	holding := map[types.UID]bool{}
	released := c.releasedOf(r.key, r.pods)
	for _, p := range r.pods {
		if slices.Contains(p.Finalizers, finalizer) && !released[p.UID] && !slices.Contains(removed, p.UID) {
			holding[p.UID] = true
		}
	}
	st := &r.job.Status
	u := uncounted(r.job)
	keep := func(uids []types.UID, counter *int32) []types.UID {
		var still []types.UID
		for _, uid := range uids {
			if holding[uid] {
				still = append(still, uid)
			} else {
				*counter++
			}
		}
		return still
	}
	var ignored int32
	succeeded := &st.Succeeded
	if isIndexed(r.job) {
		// Indexed successes are counted by index.
		succeeded = &ignored
	}
	u.Succeeded = keep(u.Succeeded, succeeded)
	u.Failed = keep(u.Failed, &st.Failed)
	st.UncountedTerminatedPods = &u
}

// finishStatus sets the counts and the conditions of the job's end.
func (c *Controller) finishStatus(r *round) {
	job := r.job
	st := &job.Status
	ready := int32(r.t.ready)
	terminating := int32(r.terminating)
	st.Active = int32(max(r.active, 0))
	ready = min(ready, st.Active)
	st.Ready, st.Terminating = &ready, &terminating
	if r.fin == nil {
		return
	}
	setCondition(job, r.fin.interim, corev1.ConditionTrue, r.fin.reason, r.fin.message, r.now)
	u := uncounted(job)
	if st.Active > 0 || terminating > 0 || len(u.Succeeded)+len(u.Failed) > 0 {
		return
	}
	terminal := r.fin.terminal()
	if !setCondition(job, terminal, corev1.ConditionTrue, r.fin.reason, r.fin.message, r.now) {
		return
	}
	if terminal == batchv1.JobComplete {
		if st.CompletionTime == nil {
			st.CompletionTime = &metav1.Time{Time: r.now}
		}
		c.opts.Recorder.Event(job, corev1.EventTypeNormal, "Completed", "Job completed")
		return
	}
	c.opts.Recorder.Event(job, corev1.EventTypeWarning, r.fin.reason, r.fin.message)
}

// removeFinalizers removes the tracking finalizer from pods, in parallel. It returns the
// pods that no longer hold it (including those already gone).
func (c *Controller) removeFinalizers(ctx context.Context, ps []*corev1.Pod) ([]types.UID, error) {
	var mu sync.Mutex
	var done []types.UID
	var errs []error
	sem := make(chan struct{}, finalizerPatchWorkers)
	var wg sync.WaitGroup
	for _, p := range ps {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			err := c.removeFinalizer(ctx, p)
			mu.Lock()
			defer mu.Unlock()
			if err != nil && !apierrors.IsNotFound(err) {
				errs = append(errs, fmt.Errorf("removing the finalizer of pod %s/%s: %w", p.Namespace, p.Name, err))
				return
			}
			done = append(done, p.UID)
		}()
	}
	wg.Wait()
	return done, errors.Join(errs...)
}

func (c *Controller) removeFinalizer(ctx context.Context, p *corev1.Pod) error {
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{
		"$deleteFromPrimitiveList/finalizers": []string{finalizer},
		"uid":                                 p.UID,
	}})
	if err != nil {
		return err
	}
	_, err = c.opts.Client.CoreV1().Pods(p.Namespace).Patch(ctx, p.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{})
	return err
}

func uidSet(ps []*corev1.Pod) map[types.UID]bool {
	out := make(map[types.UID]bool, len(ps))
	for _, p := range ps {
		out[p.UID] = true
	}
	return out
}

// without returns the pods not in drop.
func without(ps []*corev1.Pod, drop map[types.UID]bool) []*corev1.Pod {
	return slices.DeleteFunc(slices.Clone(ps), func(p *corev1.Pod) bool { return drop[p.UID] })
}
