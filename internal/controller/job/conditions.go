package job

import (
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Upstream's messages of the conditions that end a job.
const (
	msgBackoffLimit       = "Job has reached the specified backoff limit"
	msgDeadline           = "Job was active longer than specified deadline"
	msgMaxFailedIndexes   = "Job has exceeded the specified maximal number of failed indexes"
	msgFailedIndexes      = "Job has failed indexes"
	msgCompletionsReached = "Reached expected number of succeeded pods"
)

// finish is how a job is ending: the interim condition (FailureTarget or
// SuccessCriteriaMet) recorded at once, and the terminal one (Failed or Complete, same
// reason and message) added when no pod is left running.
type finish struct {
	interim         batchv1.JobConditionType
	reason, message string
}

func (f *finish) failed() bool { return f != nil && f.interim == batchv1.JobFailureTarget }

func (f *finish) terminal() batchv1.JobConditionType {
	if f.failed() {
		return batchv1.JobFailed
	}
	return batchv1.JobComplete
}

func failure(reason, message string) *finish {
	return &finish{interim: batchv1.JobFailureTarget, reason: reason, message: message}
}

// decideFinish says whether the job must end now, before its pods are managed: a finish
// already recorded, a FailJob rule, the backoff limit, the deadline, failed indexes or a
// success policy. Reaching the completions is decided later, once excess pods are gone.
func decideFinish(job *batchv1.Job, t tally, failed int32, now time.Time) *finish {
	for _, typ := range []batchv1.JobConditionType{batchv1.JobFailureTarget, batchv1.JobSuccessCriteriaMet} {
		if c := findCondition(job, typ); c != nil && c.Status == corev1.ConditionTrue {
			return &finish{interim: typ, reason: c.Reason, message: c.Message}
		}
	}
	switch {
	case t.failJob != "":
		return failure(batchv1.JobReasonPodFailurePolicy, t.failJob)
	case job.Spec.BackoffLimit != nil && (failed > *job.Spec.BackoffLimit || restartsExceedLimit(job, t.active)):
		return failure(batchv1.JobReasonBackoffLimitExceeded, msgBackoffLimit)
	case pastDeadline(job, now):
		return failure(batchv1.JobReasonDeadlineExceeded, msgDeadline)
	}
	if !isIndexed(job) {
		return nil
	}
	completions := int(deref(job.Spec.Completions))
	if job.Spec.BackoffLimitPerIndex != nil {
		if m := job.Spec.MaxFailedIndexes; m != nil && len(t.failed) > int(*m) {
			return failure(batchv1.JobReasonMaxFailedIndexesExceeded, msgMaxFailedIndexes)
		}
		if len(t.failed) > 0 && len(t.failed)+len(t.succeeded) >= completions {
			return failure(batchv1.JobReasonFailedIndexes, msgFailedIndexes)
		}
	}
	if msg, ok := matchSuccessPolicy(job.Spec.SuccessPolicy, completions, t.succeeded); ok {
		return &finish{interim: batchv1.JobSuccessCriteriaMet, reason: batchv1.JobReasonSuccessPolicy, message: msg}
	}
	return nil
}

// completionsReached reports a job whose successes reached its completions (or, without
// completions, one that had a success) and has no pod left running.
func completionsReached(job *batchv1.Job, succeeded int32, active int) bool {
	if active > 0 {
		return false
	}
	if job.Spec.Completions == nil {
		return succeeded > 0
	}
	return succeeded >= *job.Spec.Completions
}

// pastDeadline reports a running job older than its activeDeadlineSeconds.
func pastDeadline(job *batchv1.Job, now time.Time) bool {
	left, ok := deadlineLeft(job, now)
	return ok && left <= 0
}

// deadlineLeft is how long a running job has before its activeDeadlineSeconds.
func deadlineLeft(job *batchv1.Job, now time.Time) (time.Duration, bool) {
	d := job.Spec.ActiveDeadlineSeconds
	if d == nil || job.Status.StartTime == nil || suspended(job) {
		return 0, false
	}
	return time.Duration(*d)*time.Second - now.Sub(job.Status.StartTime.Time), true
}

func suspended(job *batchv1.Job) bool { return deref(job.Spec.Suspend) }

func findCondition(job *batchv1.Job, typ batchv1.JobConditionType) *batchv1.JobCondition {
	for i := range job.Status.Conditions {
		if job.Status.Conditions[i].Type == typ {
			return &job.Status.Conditions[i]
		}
	}
	return nil
}

// finished reports a job with a Complete or Failed condition.
func finished(job *batchv1.Job) bool {
	for _, typ := range []batchv1.JobConditionType{batchv1.JobComplete, batchv1.JobFailed} {
		if c := findCondition(job, typ); c != nil && c.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}

// setCondition sets a condition; its transition time moves only when its status does.
// It reports whether anything changed.
func setCondition(job *batchv1.Job, typ batchv1.JobConditionType, status corev1.ConditionStatus, reason, message string, now time.Time) bool {
	ts := metav1.NewTime(now)
	if c := findCondition(job, typ); c != nil {
		if c.Status == status && c.Reason == reason && c.Message == message {
			return false
		}
		if c.Status != status {
			c.LastTransitionTime = ts
		}
		c.Status, c.Reason, c.Message, c.LastProbeTime = status, reason, message, ts
		return true
	}
	job.Status.Conditions = append(job.Status.Conditions, batchv1.JobCondition{
		Type: typ, Status: status, Reason: reason, Message: message, LastProbeTime: ts, LastTransitionTime: ts,
	})
	return true
}
