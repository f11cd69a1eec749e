package job

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"capstan/internal/controller/pods"
)

// maxGenerateName is the longest generateName prefix the API server keeps whole.
const maxGenerateName = 58

// manage creates and deletes pods so the job runs as many as it should: none while
// suspended or ending, else up to parallelism and the remaining completions, after the
// failure backoff.
func (c *Controller) manage(ctx context.Context, r *round) error {
	job := r.job
	if r.fin != nil || suspended(job) {
		return c.deletePods(ctx, r, r.t.active)
	}
	want := wantActive(job, r.t, c.succeededCount(r))
	if doomed := excessPods(job, r.t, want); len(doomed) > 0 {
		return c.deletePods(ctx, r, doomed)
	}
	n := want - r.active
	if onlyFailedReplaced(job) {
		n -= r.terminating
	}
	n = min(n, maxPodChangesPerSync)
	if n <= 0 {
		return nil
	}
	if job.Spec.BackoffLimitPerIndex == nil {
		if left := r.backoff.remaining(r.now); left > 0 {
			r.requeueIn(left)
			return nil
		}
	}
	var indexes []int
	if isIndexed(job) {
		if indexes = c.indexesToCreate(r, n); len(indexes) == 0 {
			return nil
		}
		n = len(indexes)
	}
	return c.createPods(ctx, r, n, indexes)
}

// wantActive is how many pods the job should run now.
func wantActive(job *batchv1.Job, t tally, succeeded int32) int {
	parallelism := int(deref(job.Spec.Parallelism))
	switch {
	case isIndexed(job):
		return max(min(int(deref(job.Spec.Completions))-len(t.succeeded)-len(t.failed), parallelism), 0)
	case job.Spec.Completions == nil:
		// Without completions, one success ends the job: let the running pods finish.
		if succeeded > 0 {
			return len(t.active)
		}
		return parallelism
	}
	return max(min(int(*job.Spec.Completions-succeeded), parallelism), 0)
}

// excessPods picks the active pods to delete: in Indexed mode those without a valid
// pending index or duplicating another pod's index, then, beyond want, the ones upstream
// deletes first.
func excessPods(job *batchv1.Job, t tally, want int) []*corev1.Pod {
	keep := slices.Clone(t.active)
	pods.SortForDeletion(keep, nil)
	var doomed []*corev1.Pod
	if isIndexed(job) {
		completions := int(deref(job.Spec.Completions))
		seen := indexSet{}
		var kept []*corev1.Pod
		// Walk from the pods to keep most, so a duplicate index keeps its best pod.
		for i := len(keep) - 1; i >= 0; i-- {
			p := keep[i]
			ix := podIndex(p)
			if ix < 0 || ix >= completions || t.succeeded.has(ix) || t.failed.has(ix) || seen.has(ix) {
				doomed = append(doomed, p)
				continue
			}
			seen.add(ix)
			kept = append(kept, p)
		}
		slices.Reverse(kept)
		keep = kept
	}
	if extra := len(keep) - want; extra > 0 {
		doomed = append(doomed, keep[:extra]...)
	}
	return doomed
}

// indexesToCreate returns up to n indexes to start: pending ones, not running, not
// waiting out their own backoff (with backoffLimitPerIndex).
func (c *Controller) indexesToCreate(r *round, n int) []int {
	job := r.job
	running := indexSet{}
	for _, p := range r.t.active {
		running.add(podIndex(p))
	}
	if onlyFailedReplaced(job) {
		for _, p := range r.pods {
			if p.DeletionTimestamp != nil && p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed {
				running.add(podIndex(p))
			}
		}
	}
	done := indexSet{}
	done.add(r.t.succeeded.sorted()...)
	done.add(r.t.failed.sorted()...)
	waiting := indexSet{}
	if job.Spec.BackoffLimitPerIndex != nil {
		for ix, h := range r.t.perIndex {
			if running.has(ix) || done.has(ix) || h.lastFailed == nil {
				continue
			}
			if left := backoffDelay(h.failures) - r.now.Sub(finishTime(h.lastFailed, r.now)); left > 0 {
				waiting.add(ix)
				r.requeueIn(left)
			}
		}
	}
	return pendingIndexes(int(deref(job.Spec.Completions)), n, done, running, waiting)
}

// createPods creates n pods (for indexes, when Indexed) in slow-start batches.
func (c *Controller) createPods(ctx context.Context, r *round, n int, indexes []int) error {
	c.exp.ExpectCreations(r.key, n)
	created, err := pods.SlowStartBatch(n, 1, func(i int) error {
		ix := -1
		if indexes != nil {
			ix = indexes[i]
		}
		_, err := c.control.Create(ctx, c.newPod(r, ix), r.job)
		if apierrors.IsTimeout(err) {
			// The pod may well exist: its informer event settles the expectation.
			return nil
		}
		return err
	})
	if skipped := n - created; skipped > 0 {
		c.exp.LowerCreations(r.key, skipped)
	}
	r.active += created
	if err != nil {
		return fmt.Errorf("creating pods of job %s: %w", r.key, err)
	}
	return nil
}

// newPod builds a pod of the job: the template with the tracking finalizer and, for an
// index, its annotation and label, hostname, JOB_COMPLETION_INDEX and failure counts.
func (c *Controller) newPod(r *round, ix int) *corev1.Pod {
	job := r.job
	p := pods.FromTemplate(&job.Spec.Template, job.Name, pods.NewControllerRef(job, kind))
	p.Namespace = job.Namespace
	p.Finalizers = append(p.Finalizers, finalizer)
	if ix < 0 {
		return p
	}
	suffix := "-" + strconv.Itoa(ix) + "-"
	name := job.Name
	if len(name)+len(suffix) > maxGenerateName {
		name = name[:maxGenerateName-len(suffix)]
	}
	p.GenerateName = name + suffix
	if p.Annotations == nil {
		p.Annotations = map[string]string{}
	}
	if p.Labels == nil {
		p.Labels = map[string]string{}
	}
	p.Annotations[indexAnnotation] = strconv.Itoa(ix)
	p.Labels[indexAnnotation] = strconv.Itoa(ix)
	p.Spec.Hostname = fmt.Sprintf("%s-%d", job.Name, ix)
	if job.Spec.BackoffLimitPerIndex != nil {
		h := r.t.perIndex[ix]
		p.Annotations[failureCountAnnotation] = strconv.Itoa(h.failures)
		if h.ignored > 0 {
			p.Annotations[ignoredCountAnnotation] = strconv.Itoa(h.ignored)
		}
	}
	env := corev1.EnvVar{Name: "JOB_COMPLETION_INDEX", ValueFrom: &corev1.EnvVarSource{
		FieldRef: &corev1.ObjectFieldSelector{FieldPath: fmt.Sprintf("metadata.annotations['%s']", indexAnnotation)}}}
	for _, list := range [][]corev1.Container{p.Spec.InitContainers, p.Spec.Containers} {
		for i := range list {
			if !slices.ContainsFunc(list[i].Env, func(e corev1.EnvVar) bool { return e.Name == env.Name }) {
				list[i].Env = append(list[i].Env, env)
			}
		}
	}
	return p
}

// deletePods deletes pods of the job; they count as terminating until they are gone.
func (c *Controller) deletePods(ctx context.Context, r *round, doomed []*corev1.Pod) error {
	if len(doomed) == 0 {
		return nil
	}
	doomed = doomed[:min(len(doomed), maxPodChangesPerSync)]
	keys := make([]string, len(doomed))
	for i, p := range doomed {
		keys[i] = pods.Key(p)
	}
	c.exp.ExpectDeletions(r.key, keys)
	var errs []error
	for _, p := range doomed {
		err := c.control.Delete(ctx, p.Namespace, p.Name, r.job)
		if err != nil {
			// No event will come for it.
			c.exp.DeletionObserved(r.key, pods.Key(p))
		}
		switch {
		case err == nil:
			r.active--
			r.terminating++
		case apierrors.IsNotFound(err):
			r.active--
		default:
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
