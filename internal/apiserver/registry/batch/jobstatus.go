package batch

import (
	"fmt"

	batchv1 "k8s.io/api/batch/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"
)

var jobStatusPath = field.NewPath("status")

// validateJobStatusUpdate checks a /status write. Like upstream, the consistency rules
// between fields only fire when one of the fields involved changes, so a writer can still
// update unrelated fields of a job whose status is already inconsistent.
func validateJobStatusUpdate(job, old *batchv1.Job) field.ErrorList {
	st, oldSt := &job.Status, &old.Status
	errs := nonNegativePtr(&st.Active, jobStatusPath.Child("active"))
	errs = append(errs, nonNegativePtr(&st.Succeeded, jobStatusPath.Child("succeeded"))...)
	errs = append(errs, nonNegativePtr(&st.Failed, jobStatusPath.Child("failed"))...)
	errs = append(errs, nonNegativePtr(st.Ready, jobStatusPath.Child("ready"))...)
	errs = append(errs, nonNegativePtr(st.Terminating, jobStatusPath.Child("terminating"))...)
	errs = append(errs, validateUncountedPods(st.UncountedTerminatedPods)...)
	errs = append(errs, validateTerminalConditions(job, old)...)
	errs = append(errs, validateFinishedJob(job, old)...)
	errs = append(errs, validateJobCounters(job, old)...)

	startChanged := !ptr.Equal(st.StartTime, oldSt.StartTime)
	completionChanged := !ptr.Equal(st.CompletionTime, oldSt.CompletionTime)
	if (startChanged || completionChanged) && st.StartTime != nil && st.CompletionTime != nil && st.CompletionTime.Before(st.StartTime) {
		errs = append(errs, field.Invalid(jobStatusPath.Child("completionTime"), st.CompletionTime, "completionTime cannot be set before startTime"))
	}
	if st.CompletionTime != nil && oldSt.CompletionTime != nil && completionChanged {
		errs = append(errs, field.Invalid(jobStatusPath.Child("completionTime"), st.CompletionTime, "completionTime cannot be mutated"))
	}
	if st.CompletedIndexes != oldSt.CompletedIndexes {
		errs = append(errs, validateCompletedIndexes(job)...)
	}
	return errs
}

func validateUncountedPods(pods *batchv1.UncountedTerminatedPods) field.ErrorList {
	if pods == nil {
		return nil
	}
	var errs field.ErrorList
	path := jobStatusPath.Child("uncountedTerminatedPods")
	seen := map[types.UID]bool{}
	for _, list := range []struct {
		name string
		uids []types.UID
	}{{"succeeded", pods.Succeeded}, {"failed", pods.Failed}} {
		for i, uid := range list.uids {
			p := path.Child(list.name).Index(i)
			switch {
			case uid == "":
				errs = append(errs, field.Invalid(p, uid, "must not be empty"))
			case seen[uid]:
				errs = append(errs, field.Duplicate(p, uid))
			}
			seen[uid] = true
		}
	}
	return errs
}

// validateTerminalConditions keeps terminal conditions terminal and exclusive.
func validateTerminalConditions(job, old *batchv1.Job) field.ErrorList {
	var errs field.ErrorList
	path := jobStatusPath.Child("conditions")
	for _, t := range []batchv1.JobConditionType{batchv1.JobFailed, batchv1.JobComplete, batchv1.JobFailureTarget} {
		if hasCondition(old, t) && !hasCondition(job, t) {
			errs = append(errs, field.Invalid(path, field.OmitValueType{}, fmt.Sprintf("cannot disable the terminal %s=True condition", t)))
		}
	}
	complete, failed := hasCondition(job, batchv1.JobComplete), hasCondition(job, batchv1.JobFailed)
	changed := complete != hasCondition(old, batchv1.JobComplete) || failed != hasCondition(old, batchv1.JobFailed)
	if changed && complete && failed {
		errs = append(errs, field.Invalid(path, field.OmitValueType{}, "cannot set Complete=True and Failed=true conditions"))
	}
	return errs
}

func isFinished(job *batchv1.Job) bool {
	return hasCondition(job, batchv1.JobComplete) || hasCondition(job, batchv1.JobFailed)
}

// validateFinishedJob rejects a finished job that still has running, uncounted or
// terminating pods, or no start time.
func validateFinishedJob(job, old *batchv1.Job) field.ErrorList {
	st, oldSt := &job.Status, &old.Status
	finished := isFinished(job)
	if !finished {
		return nil
	}
	finishedChanged := !isFinished(old)
	var errs field.ErrorList
	if (finishedChanged || st.Active != oldSt.Active) && st.Active > 0 {
		errs = append(errs, field.Invalid(jobStatusPath.Child("active"), st.Active, "active>0 is invalid for finished job"))
	}
	if (finishedChanged || !ptr.Equal(st.StartTime, oldSt.StartTime)) && st.StartTime == nil {
		errs = append(errs, field.Required(jobStatusPath.Child("startTime"), "startTime is required for finished job"))
	}
	uncounted := st.UncountedTerminatedPods
	if (finishedChanged || !equality.Semantic.DeepEqual(uncounted, oldSt.UncountedTerminatedPods)) &&
		uncounted != nil && len(uncounted.Succeeded)+len(uncounted.Failed) > 0 {
		errs = append(errs, field.Invalid(jobStatusPath.Child("uncountedTerminatedPods"), uncounted,
			"uncountedTerminatedPods needs to be empty for finished job"))
	}
	if (finishedChanged || !ptr.Equal(st.Terminating, oldSt.Terminating)) && ptr.Deref(st.Terminating, 0) > 0 {
		errs = append(errs, field.Invalid(jobStatusPath.Child("terminating"), st.Terminating, "terminating>0 is invalid for finished job"))
	}
	return errs
}

// validateJobCounters keeps the failed and succeeded counters from going backwards (an
// elastic indexed job may lose successes when scaled down) and ready within active.
func validateJobCounters(job, old *batchv1.Job) field.ErrorList {
	st, oldSt := &job.Status, &old.Status
	var errs field.ErrorList
	if st.Failed < oldSt.Failed {
		errs = append(errs, field.Invalid(jobStatusPath.Child("failed"), st.Failed, "cannot decrease the failed counter"))
	}
	elastic := isIndexed(&job.Spec) && ptr.Equal(job.Spec.Completions, job.Spec.Parallelism)
	if !elastic && st.Succeeded < oldSt.Succeeded {
		errs = append(errs, field.Invalid(jobStatusPath.Child("succeeded"), st.Succeeded, "cannot decrease the succeeded counter"))
	}
	readyChanged := !ptr.Equal(st.Ready, oldSt.Ready) || st.Active != oldSt.Active
	if readyChanged && st.Ready != nil && *st.Ready > st.Active {
		errs = append(errs, field.Invalid(jobStatusPath.Child("ready"), *st.Ready, "cannot set more ready pods than active"))
	}
	return errs
}

func validateCompletedIndexes(job *batchv1.Job) field.ErrorList {
	path := jobStatusPath.Child("completedIndexes")
	indexes := job.Status.CompletedIndexes
	if indexes == "" {
		return nil
	}
	if !isIndexed(&job.Spec) {
		return field.ErrorList{field.Invalid(path, indexes, "cannot set non-empty completedIndexes when non-indexed completion mode")}
	}
	if _, err := countIndexes(indexes, ptr.Deref(job.Spec.Completions, 0)); err != nil {
		return field.ErrorList{field.Invalid(path, indexes, "error parsing completedIndexes: "+err.Error())}
	}
	return nil
}
