package job

import (
	"fmt"
	"slices"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
)

const (
	indexAnnotation        = batchv1.JobCompletionIndexAnnotation
	failureCountAnnotation = batchv1.JobIndexFailureCountAnnotation
	ignoredCountAnnotation = batchv1.JobIndexIgnoredFailureCountAnnotation

	// backoffBase is the delay after the first failure; it doubles with each further
	// failure up to backoffMax.
	backoffBase = 10 * time.Second
	backoffMax  = 6 * time.Minute
)

// backoffDelay is how long to wait before replacing a pod after failures consecutive
// failures: 10 s, 20 s, 40 s, ... at most 6 min. No failure, no delay.
func backoffDelay(failures int) time.Duration {
	if failures <= 0 {
		return 0
	}
	d := backoffBase
	for i := 1; i < failures && d < backoffMax; i++ {
		d *= 2
	}
	return min(d, backoffMax)
}

// backoffRecord is what the controller remembers of a job's recent failures.
type backoffRecord struct {
	failuresAfterLastSuccess int
	lastFailure              time.Time
}

// update folds the pods that finished since the last sync into the record: a success
// forgives the failures before it.
func (r backoffRecord) update(succeeded, failed []*corev1.Pod, now time.Time) backoffRecord {
	if len(succeeded) > 0 {
		var lastSuccess time.Time
		for _, p := range succeeded {
			lastSuccess = latest(lastSuccess, finishTime(p, now))
		}
		r = backoffRecord{}
		for _, p := range failed {
			if t := finishTime(p, now); t.After(lastSuccess) {
				r.failuresAfterLastSuccess++
				r.lastFailure = latest(r.lastFailure, t)
			}
		}
		return r
	}
	for _, p := range failed {
		r.failuresAfterLastSuccess++
		r.lastFailure = latest(r.lastFailure, finishTime(p, now))
	}
	return r
}

// remaining is how long replacements must still wait.
func (r backoffRecord) remaining(now time.Time) time.Duration {
	if r.failuresAfterLastSuccess == 0 {
		return 0
	}
	return max(backoffDelay(r.failuresAfterLastSuccess)-now.Sub(r.lastFailure), 0)
}

func latest(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// finishTime is when a pod finished: its last container's termination, else when it
// stopped being ready, else its deletion, else now.
func finishTime(p *corev1.Pod, now time.Time) time.Time {
	var t time.Time
	for _, s := range append(slices.Clone(p.Status.InitContainerStatuses), p.Status.ContainerStatuses...) {
		if term := s.State.Terminated; term != nil {
			t = latest(t, term.FinishedAt.Time)
		}
	}
	if !t.IsZero() {
		return t
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady && c.Status == corev1.ConditionFalse && !c.LastTransitionTime.IsZero() {
			return c.LastTransitionTime.Time
		}
	}
	if p.DeletionTimestamp != nil {
		return p.DeletionTimestamp.Time
	}
	return now
}

// onlyFailedReplaced: replacements wait until a pod is Failed, not merely terminating.
func onlyFailedReplaced(job *batchv1.Job) bool {
	return job.Spec.PodFailurePolicy != nil ||
		(job.Spec.PodReplacementPolicy != nil && *job.Spec.PodReplacementPolicy == batchv1.Failed)
}

// podFailed reports a pod that counts as failed: Failed, or (unless only Failed pods are
// replaced) deleted before it succeeded.
func podFailed(p *corev1.Pod, job *batchv1.Job) bool {
	if p.Status.Phase == corev1.PodFailed {
		return true
	}
	if onlyFailedReplaced(job) {
		return false
	}
	return p.DeletionTimestamp != nil && p.Status.Phase != corev1.PodSucceeded
}

// matchFailurePolicy returns the action of the first podFailurePolicy rule a failed pod
// matches (nil: none matches, the failure counts) and the message a FailJob or FailIndex
// match reports.
func matchFailurePolicy(policy *batchv1.PodFailurePolicy, p *corev1.Pod) (*batchv1.PodFailurePolicyAction, string) {
	if policy == nil {
		return nil, ""
	}
	for i, rule := range policy.Rules {
		action := rule.Action
		if rule.OnExitCodes != nil {
			if c := matchingContainer(rule.OnExitCodes, p); c != nil {
				return &action, fmt.Sprintf("Container %s for pod %s/%s failed with exit code %d matching %s rule at index %d",
					c.Name, p.Namespace, p.Name, c.State.Terminated.ExitCode, action, i)
			}
			continue
		}
		for _, want := range rule.OnPodConditions {
			for _, have := range p.Status.Conditions {
				if have.Type == want.Type && have.Status == want.Status {
					return &action, fmt.Sprintf("Pod %s/%s has condition %s matching %s rule at index %d", p.Namespace, p.Name, want.Type, action, i)
				}
			}
		}
	}
	return nil, ""
}

// matchingContainer returns the first terminated container (init containers included)
// whose non-zero exit code matches the requirement.
func matchingContainer(req *batchv1.PodFailurePolicyOnExitCodesRequirement, p *corev1.Pod) *corev1.ContainerStatus {
	statuses := append(slices.Clone(p.Status.InitContainerStatuses), p.Status.ContainerStatuses...)
	for i := range statuses {
		s := &statuses[i]
		term := s.State.Terminated
		if term == nil || term.ExitCode == 0 || (req.ContainerName != nil && *req.ContainerName != s.Name) {
			continue
		}
		in := slices.Contains(req.Values, term.ExitCode)
		if (req.Operator == batchv1.PodFailurePolicyOnExitCodesOpIn) == in {
			return s
		}
	}
	return nil
}

// matchSuccessPolicy reports the first successPolicy rule the succeeded indexes meet.
func matchSuccessPolicy(policy *batchv1.SuccessPolicy, completions int, succeeded indexSet) (string, bool) {
	if policy == nil {
		return "", false
	}
	for i, rule := range policy.Rules {
		met := false
		switch {
		case rule.SucceededIndexes != nil:
			want := parseIndexes(*rule.SucceededIndexes, completions)
			got := 0
			for ix := range want {
				if succeeded.has(ix) {
					got++
				}
			}
			if rule.SucceededCount != nil {
				met = got >= int(*rule.SucceededCount)
			} else {
				met = got == len(want)
			}
		case rule.SucceededCount != nil:
			met = len(succeeded) >= int(*rule.SucceededCount)
		}
		if met {
			return fmt.Sprintf("Matched rules at index %d", i), true
		}
	}
	return "", false
}

// restartsExceedLimit reports, for restartPolicy OnFailure, active pods whose containers
// restarted more than backoffLimit allows: failures that never show as Failed pods.
func restartsExceedLimit(job *batchv1.Job, active []*corev1.Pod) bool {
	if job.Spec.Template.Spec.RestartPolicy != corev1.RestartPolicyOnFailure || job.Spec.BackoffLimit == nil {
		return false
	}
	total := int32(0)
	for _, p := range active {
		if p.Status.Phase != corev1.PodRunning && p.Status.Phase != corev1.PodPending {
			continue
		}
		for _, s := range append(slices.Clone(p.Status.InitContainerStatuses), p.Status.ContainerStatuses...) {
			total += s.RestartCount
		}
	}
	limit := *job.Spec.BackoffLimit
	if limit == 0 {
		return total > 0
	}
	return total >= limit
}
