package ttlafterfinished

import (
	"fmt"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
)

// finishTime is when the job finished; ok is false for a job still running.
func finishTime(j *batchv1.Job) (t time.Time, ok bool, err error) {
	for _, c := range j.Status.Conditions {
		if (c.Type == batchv1.JobComplete || c.Type == batchv1.JobFailed) && c.Status == corev1.ConditionTrue {
			if c.LastTransitionTime.IsZero() {
				return time.Time{}, true, fmt.Errorf("job %s/%s: condition %s has no lastTransitionTime", j.Namespace, j.Name, c.Type)
			}
			return c.LastTransitionTime.Time, true, nil
		}
	}
	return time.Time{}, false, nil
}

// needsCleanup reports a finished job with a TTL that is not already being deleted.
func needsCleanup(j *batchv1.Job) bool {
	if j.Spec.TTLSecondsAfterFinished == nil || j.DeletionTimestamp != nil {
		return false
	}
	_, done, _ := finishTime(j)
	return done
}

// timeLeft is how long until the job expires (zero or less: it has); ok is false when
// the job is not due for cleanup at all.
func timeLeft(j *batchv1.Job, now time.Time) (left time.Duration, ok bool, err error) {
	if !needsCleanup(j) {
		return 0, false, nil
	}
	finished, _, err := finishTime(j)
	if err != nil {
		return 0, false, err
	}
	expireAt := finished.Add(time.Duration(*j.Spec.TTLSecondsAfterFinished) * time.Second)
	return expireAt.Sub(now), true, nil
}
