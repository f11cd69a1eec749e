package cronjob

import (
	"slices"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

// finishedAs is the condition a Job finished with (Complete or Failed), or "".
func finishedAs(j *batchv1.Job) batchv1.JobConditionType {
	for _, c := range j.Status.Conditions {
		if (c.Type == batchv1.JobComplete || c.Type == batchv1.JobFailed) && c.Status == corev1.ConditionTrue {
			return c.Type
		}
	}
	return ""
}

// beyondLimit returns the oldest jobs (by start time; never-started last, then by name)
// that exceed limit.
func beyondLimit(jobs []*batchv1.Job, limit int32) []*batchv1.Job {
	n := len(jobs) - int(max(limit, 0))
	if n <= 0 {
		return nil
	}
	sorted := slices.Clone(jobs)
	slices.SortStableFunc(sorted, func(a, b *batchv1.Job) int {
		switch {
		case a.Status.StartTime == nil && b.Status.StartTime != nil:
			return 1
		case a.Status.StartTime != nil && b.Status.StartTime == nil:
			return -1
		case a.Status.StartTime != nil && !a.Status.StartTime.Equal(b.Status.StartTime):
			return a.Status.StartTime.Compare(b.Status.StartTime.Time)
		}
		return strings.Compare(a.Name, b.Name)
	})
	return sorted[:n]
}

// inActive reports whether the job with uid is in the CronJob's active list.
func inActive(cj *batchv1.CronJob, uid types.UID) bool {
	return slices.ContainsFunc(cj.Status.Active, func(r corev1.ObjectReference) bool { return r.UID == uid })
}

// removeActive drops the job with uid from the active list.
func removeActive(cj *batchv1.CronJob, uid types.UID) {
	cj.Status.Active = slices.DeleteFunc(cj.Status.Active, func(r corev1.ObjectReference) bool { return r.UID == uid })
}

// containsTerminating reports a create refused because the namespace is being deleted.
func containsTerminating(err error) bool { return strings.Contains(err.Error(), "being terminated") }
