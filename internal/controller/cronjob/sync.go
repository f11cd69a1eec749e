package cronjob

import (
	"context"
	"fmt"
	"maps"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"capstan/internal/apiserver/registry/batch"
	"capstan/internal/controller/pods"
)

// scheduledTimestampAnnotation records on each Job the start time it was created for.
const scheduledTimestampAnnotation = "batch.kubernetes.io/cronjob-scheduled-timestamp"

// syncCronJob reconciles the active list with the jobs that exist, then starts the job
// that is due, if any. It returns when to look again and whether the status changed.
func (c *Controller) syncCronJob(ctx context.Context, cj *batchv1.CronJob, jobs []*batchv1.Job) (time.Duration, bool, error) {
	changed := c.reconcileActive(ctx, cj, jobs)
	if cj.DeletionTimestamp != nil {
		return 0, changed, nil
	}
	if cj.Spec.TimeZone != nil {
		if _, err := time.LoadLocation(*cj.Spec.TimeZone); err != nil {
			c.opts.Recorder.Eventf(cj, corev1.EventTypeWarning, "UnknownTimeZone", "invalid timeZone: %q: %s", *cj.Spec.TimeZone, err)
			return 0, changed, nil
		}
	}
	if cj.Spec.Suspend != nil && *cj.Spec.Suspend {
		return 0, changed, nil
	}
	if cj.Spec.TimeZone != nil && containsTZ(cj.Spec.Schedule) {
		c.opts.Recorder.Eventf(cj, corev1.EventTypeWarning, "UnsupportedSchedule", "CRON_TZ or TZ used in schedule %q is not officially supported", cj.Spec.Schedule)
	}
	sched, err := batch.ParseSchedule(scheduleSpec(cj))
	if err != nil {
		c.opts.Recorder.Eventf(cj, corev1.EventTypeWarning, "UnparseableSchedule", "unparseable schedule: %q : %s", cj.Spec.Schedule, err)
		return 0, changed, nil
	}
	now := c.opts.Clock.Now()
	next := func() time.Duration {
		d, _ := untilNext(cj, sched, now)
		return d
	}
	scheduled, missed := mostRecent(sched, earliest(cj, now), now)
	if missed > tooManyMissed {
		c.opts.Recorder.Eventf(cj, corev1.EventTypeWarning, "TooManyMissedTimes",
			"too many missed start times: %d. Set or decrease .spec.startingDeadlineSeconds or check clock skew", missed)
	}
	if scheduled == nil {
		return next(), changed, nil
	}
	if d := cj.Spec.StartingDeadlineSeconds; d != nil && scheduled.Add(time.Duration(*d)*time.Second).Before(now) {
		c.opts.Recorder.Eventf(cj, corev1.EventTypeWarning, "MissSchedule", "Missed scheduled time to start a job: %s", scheduled.UTC().Format(time.RFC1123Z))
		return next(), changed, nil
	}
	name := jobName(cj, *scheduled)
	if activeByName(cj, name) || (cj.Status.LastScheduleTime != nil && cj.Status.LastScheduleTime.Time.Equal(*scheduled)) {
		return next(), changed, nil
	}
	switch cj.Spec.ConcurrencyPolicy {
	case batchv1.ForbidConcurrent:
		if len(cj.Status.Active) > 0 {
			c.opts.Recorder.Eventf(cj, corev1.EventTypeNormal, "JobAlreadyActive", "Not starting job because prior execution is running and concurrency policy is Forbid")
			return next(), changed, nil
		}
	case batchv1.ReplaceConcurrent:
		for _, ref := range cj.Status.Active {
			if err := c.deleteJob(ctx, cj, ref.Name, ref.UID); err != nil {
				return 0, changed, err
			}
			changed = true
		}
	}
	created, err := c.createJob(ctx, cj, name, *scheduled)
	if err != nil {
		return 0, changed, err
	}
	if created != nil {
		cj.Status.Active = append(cj.Status.Active, corev1.ObjectReference{
			APIVersion: "batch/v1", Kind: "Job", Namespace: created.Namespace, Name: created.Name,
			UID: created.UID, ResourceVersion: created.ResourceVersion,
		})
		cj.Status.LastScheduleTime = &metav1.Time{Time: *scheduled}
		changed = true
	}
	return next(), changed, nil
}

// reconcileActive drops finished and vanished jobs from the active list and records the
// last successful time. It reports whether the status changed.
func (c *Controller) reconcileActive(ctx context.Context, cj *batchv1.CronJob, jobs []*batchv1.Job) bool {
	changed := false
	seen := map[types.UID]bool{}
	for _, j := range jobs {
		seen[j.UID] = true
		finished := finishedAs(j)
		active := inActive(cj, j.UID)
		switch {
		case !active && finished == "":
			c.opts.Recorder.Eventf(cj, corev1.EventTypeWarning, "UnexpectedJob", "Saw a job that the controller did not create or forgot: %s", j.Name)
		case active && finished != "":
			removeActive(cj, j.UID)
			c.opts.Recorder.Eventf(cj, corev1.EventTypeNormal, "SawCompletedJob", "Saw completed job: %s, condition: %v", j.Name, finished)
			changed = true
		}
		if finished == batchv1.JobComplete && j.Status.CompletionTime != nil {
			if last := cj.Status.LastSuccessfulTime; last == nil || j.Status.CompletionTime.After(last.Time) {
				cj.Status.LastSuccessfulTime = j.Status.CompletionTime.DeepCopy()
				changed = true
			}
		}
	}
	for _, ref := range append([]corev1.ObjectReference(nil), cj.Status.Active...) {
		if seen[ref.UID] {
			continue
		}
		// The cache may not show a job created a moment ago: ask the API server.
		if j, err := c.opts.Client.BatchV1().Jobs(ref.Namespace).Get(ctx, ref.Name, metav1.GetOptions{}); (err == nil && j.UID == ref.UID) || (err != nil && !apierrors.IsNotFound(err)) {
			continue
		}
		c.opts.Recorder.Eventf(cj, corev1.EventTypeNormal, "MissingJob", "Active job went missing: %v", ref.Name)
		removeActive(cj, ref.UID)
		changed = true
	}
	return changed
}

// createJob creates the Job for the start time scheduled. A Job of that name that exists
// already was created by an earlier sync whose status update was lost: nothing to do.
func (c *Controller) createJob(ctx context.Context, cj *batchv1.CronJob, name string, scheduled time.Time) (*batchv1.Job, error) {
	annotations := maps.Clone(cj.Spec.JobTemplate.Annotations)
	if annotations == nil {
		annotations = map[string]string{}
	}
	loc := time.UTC
	if cj.Spec.TimeZone != nil {
		if l, err := time.LoadLocation(*cj.Spec.TimeZone); err == nil {
			loc = l
		}
	}
	annotations[scheduledTimestampAnnotation] = scheduled.In(loc).Format(time.RFC3339)
	job := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: cj.Namespace,
			Labels: maps.Clone(cj.Spec.JobTemplate.Labels), Annotations: annotations,
			OwnerReferences: []metav1.OwnerReference{*pods.NewControllerRef(cj, kind)},
		},
		Spec: *cj.Spec.JobTemplate.Spec.DeepCopy(),
	}
	created, err := c.opts.Client.BatchV1().Jobs(cj.Namespace).Create(ctx, job, metav1.CreateOptions{})
	switch {
	case apierrors.IsAlreadyExists(err):
		c.log.Info("job already exists", "cronjob", cj.Namespace+"/"+cj.Name, "job", name)
		return nil, nil
	case apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) || (apierrors.IsForbidden(err) && containsTerminating(err)):
		return nil, nil
	case err != nil:
		c.opts.Recorder.Eventf(cj, corev1.EventTypeWarning, "FailedCreate", "Error creating job: %v", err)
		return nil, fmt.Errorf("creating job %s/%s: %w", cj.Namespace, name, err)
	}
	c.opts.Recorder.Eventf(cj, corev1.EventTypeNormal, "SuccessfulCreate", "Created job %v", created.Name)
	return created, nil
}

// deleteJob deletes a job of the CronJob (background propagation) and drops it from the
// active list.
func (c *Controller) deleteJob(ctx context.Context, cj *batchv1.CronJob, name string, uid types.UID) error {
	policy := metav1.DeletePropagationBackground
	err := c.opts.Client.BatchV1().Jobs(cj.Namespace).Delete(ctx, name, metav1.DeleteOptions{
		PropagationPolicy: &policy, Preconditions: &metav1.Preconditions{UID: &uid}})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		c.opts.Recorder.Eventf(cj, corev1.EventTypeWarning, "FailedDelete", "Deleted job: %v", err)
		return fmt.Errorf("deleting job %s/%s: %w", cj.Namespace, name, err)
	}
	if err == nil {
		c.opts.Recorder.Eventf(cj, corev1.EventTypeNormal, "SuccessfulDelete", "Deleted job %v", name)
	}
	removeActive(cj, uid)
	return nil
}

// cleanupHistory deletes finished jobs beyond the history limits. It reports whether the
// active list changed.
func (c *Controller) cleanupHistory(ctx context.Context, cj *batchv1.CronJob, jobs []*batchv1.Job) bool {
	if cj.Spec.SuccessfulJobsHistoryLimit == nil && cj.Spec.FailedJobsHistoryLimit == nil {
		return false
	}
	var succeeded, failed []*batchv1.Job
	for _, j := range jobs {
		switch finishedAs(j) {
		case batchv1.JobComplete:
			succeeded = append(succeeded, j)
		case batchv1.JobFailed:
			failed = append(failed, j)
		}
	}
	var doomed []*batchv1.Job
	if l := cj.Spec.SuccessfulJobsHistoryLimit; l != nil {
		doomed = append(doomed, beyondLimit(succeeded, *l)...)
	}
	if l := cj.Spec.FailedJobsHistoryLimit; l != nil {
		doomed = append(doomed, beyondLimit(failed, *l)...)
	}
	changed := false
	for _, j := range doomed {
		was := inActive(cj, j.UID)
		if err := c.deleteJob(ctx, cj, j.Name, j.UID); err != nil {
			c.log.Warn("deleting old job", "job", j.Namespace+"/"+j.Name, "err", err)
			continue
		}
		changed = changed || was
	}
	return changed
}

func activeByName(cj *batchv1.CronJob, name string) bool {
	for _, r := range cj.Status.Active {
		if r.Name == name {
			return true
		}
	}
	return false
}
