package job

import (
	"context"
	"fmt"
	"slices"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"

	"capstan/internal/controller/base"
	"capstan/internal/controller/pods"
)

// round is the state of one sync of one job.
type round struct {
	key  string
	job  *batchv1.Job
	pods []*corev1.Pod
	now  time.Time
	t    tally
	fin  *finish
	// active and terminating after this sync's deletions.
	active, terminating int
	// requeue is when to look again (deadline, backoff); 0: no timer.
	requeue time.Duration
	// backoff is the failure record including this sync's new finished pods.
	backoff backoffRecord
	// held are failed pods kept (finalizer on) to remember their index's failures until
	// a replacement runs.
	held map[types.UID]bool
	// before is the status as read, to write only changes.
	before *batchv1.JobStatus
}

func (r *round) requeueIn(d time.Duration) {
	if d > 0 && (r.requeue == 0 || d < r.requeue) {
		r.requeue = d
	}
}

func (c *Controller) sync(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	cached, err := c.jobs.Jobs(ns).Get(name)
	if apierrors.IsNotFound(err) {
		c.forget(key)
		return c.releaseAll(ctx, ns, name, "")
	}
	if err != nil {
		return err
	}
	if m := cached.Spec.ManagedBy; m != nil && *m != batchv1.JobControllerName {
		return nil
	}
	if finished(cached) {
		c.forget(key)
		return c.releaseAll(ctx, ns, name, cached.UID)
	}
	// Read the expectations before the pods, so pods created meanwhile are not missed.
	satisfied := c.exp.Satisfied(key)
	job := cached.DeepCopy()
	claimed, err := c.claimPods(ctx, job)
	if err != nil {
		return err
	}
	r := &round{key: key, job: job, pods: claimed, now: c.opts.Clock.Now(), before: cached.Status.DeepCopy()}
	r.t = classify(job, claimed, newCounts(job, c.releasedOf(key, claimed)))
	r.active, r.terminating = len(r.t.active), r.t.terminating
	r.held = heldPods(job, r.t)
	r.backoff = c.backoffOf(key).update(r.t.newSucceeded, without(r.t.newFailed, r.held), r.now)
	if job.Status.StartTime == nil && !suspended(job) {
		job.Status.StartTime = &metav1.Time{Time: r.now}
	}
	failed := job.Status.Failed + int32(len(uncounted(job).Failed)+len(r.t.newFailed))
	r.fin = decideFinish(job, r.t, failed, r.now)
	if r.fin == nil {
		if left, ok := deadlineLeft(job, r.now); ok {
			r.requeueIn(left)
		}
		c.suspendConditions(r)
	}
	var manageErr error
	if satisfied && job.DeletionTimestamp == nil {
		manageErr = c.manage(ctx, r)
	}
	if r.fin == nil && completionsReached(job, c.succeededCount(r), r.active) {
		r.fin = &finish{interim: batchv1.JobSuccessCriteriaMet, reason: batchv1.JobReasonCompletionsReached, message: msgCompletionsReached}
	}
	if err := c.track(ctx, r); err != nil {
		return err
	}
	if manageErr != nil {
		return manageErr
	}
	if r.requeue > 0 {
		return base.RequeueAfter(r.requeue)
	}
	return nil
}

// suspendConditions records suspension and resumption (which restarts the clock of
// activeDeadlineSeconds).
func (c *Controller) suspendConditions(r *round) {
	job := r.job
	if suspended(job) {
		if setCondition(job, batchv1.JobSuspended, corev1.ConditionTrue, "JobSuspended", "Job suspended", r.now) {
			c.opts.Recorder.Event(job, corev1.EventTypeNormal, "Suspended", "Job suspended")
		}
		return
	}
	if cond := findCondition(job, batchv1.JobSuspended); cond != nil && cond.Status == corev1.ConditionTrue {
		setCondition(job, batchv1.JobSuspended, corev1.ConditionFalse, "JobResumed", "Job resumed", r.now)
		c.opts.Recorder.Event(job, corev1.EventTypeNormal, "Resumed", "Job resumed")
		job.Status.StartTime = &metav1.Time{Time: r.now}
	}
}

// succeededCount is the job's successes including those counted in this sync.
func (c *Controller) succeededCount(r *round) int32 {
	if isIndexed(r.job) {
		return int32(len(r.t.succeeded))
	}
	return r.job.Status.Succeeded + int32(len(uncounted(r.job).Succeeded)+len(r.t.newSucceeded))
}

// claimPods returns the pods the job controls, adopting orphans that match its selector
// and releasing its pods that no longer do.
func (c *Controller) claimPods(ctx context.Context, job *batchv1.Job) ([]*corev1.Pod, error) {
	selector, err := metav1.LabelSelectorAsSelector(job.Spec.Selector)
	if err != nil {
		return nil, fmt.Errorf("job %s/%s: selector: %w", job.Namespace, job.Name, err)
	}
	all, err := c.pods.Pods(job.Namespace).List(labels.Everything())
	if err != nil {
		return nil, err
	}
	recheck := pods.RecheckOwner(job.UID, func(ctx context.Context) (metav1.Object, error) {
		return c.opts.Client.BatchV1().Jobs(job.Namespace).Get(ctx, job.Name, metav1.GetOptions{})
	})
	m := pods.PodRefManager(c.opts.Client, job, kind, selector, recheck)
	return m.Claim(ctx, all)
}

// releaseAll removes the tracking finalizer from the pods of a job that is gone (uid "")
// or finished.
func (c *Controller) releaseAll(ctx context.Context, ns, name string, uid types.UID) error {
	all, err := c.pods.Pods(ns).List(labels.Everything())
	if err != nil {
		return err
	}
	var held []*corev1.Pod
	for _, p := range all {
		ref := metav1.GetControllerOfNoCopy(p)
		if ref == nil || ref.Kind != kind.Kind || ref.Name != name || !slices.Contains(p.Finalizers, finalizer) {
			continue
		}
		if uid == "" || ref.UID == uid {
			held = append(held, p)
		}
	}
	_, err = c.removeFinalizers(ctx, held)
	return err
}

// writeStatus stores the job's status when it changed and returns the job as stored.
func (c *Controller) writeStatus(ctx context.Context, job *batchv1.Job, before *batchv1.JobStatus) (*batchv1.Job, error) {
	if apiequality.Semantic.DeepEqual(&job.Status, before) {
		return job, nil
	}
	out, err := c.opts.Client.BatchV1().Jobs(job.Namespace).UpdateStatus(ctx, job, metav1.UpdateOptions{})
	if err != nil {
		return nil, fmt.Errorf("updating status of job %s/%s: %w", job.Namespace, job.Name, err)
	}
	return out, nil
}

func uncounted(job *batchv1.Job) batchv1.UncountedTerminatedPods {
	if u := job.Status.UncountedTerminatedPods; u != nil {
		return *u
	}
	return batchv1.UncountedTerminatedPods{}
}
