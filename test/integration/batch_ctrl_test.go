package integration

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"

	capstantesting "capstan/internal/testing"
)

func lcJob(name string, completions, parallelism int32) *batchv1.Job {
	return &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
		Spec: batchv1.JobSpec{
			Completions: &completions, Parallelism: &parallelism,
			Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
				RestartPolicy: corev1.RestartPolicyNever,
				Containers:    []corev1.Container{{Name: "c", Image: "img"}},
			}},
		},
	}
}

func TestIntegrationFinishedJobsExpireAfterTheirTTL(t *testing.T) {
	s := start(t)
	ctx := t.Context()
	jobs := s.Client.BatchV1().Jobs("default")
	j := lcJob("short-lived", 1, 1)
	suspend, ttl := true, int32(1)
	j.Spec.Suspend, j.Spec.TTLSecondsAfterFinished = &suspend, &ttl
	j, err := jobs.Create(ctx, j, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Finish it by hand, as its controller would; the controller may write the suspended
	// job meanwhile: retry on the latest version.
	now := metav1.NewTime(time.Now().Truncate(time.Second))
	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cur, err := jobs.Get(ctx, j.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		cur.Status = batchv1.JobStatus{StartTime: &now, CompletionTime: &now, Succeeded: 1, Conditions: []batchv1.JobCondition{
			{Type: batchv1.JobSuccessCriteriaMet, Status: corev1.ConditionTrue, LastTransitionTime: now, LastProbeTime: now},
			{Type: batchv1.JobComplete, Status: corev1.ConditionTrue, LastTransitionTime: now, LastProbeTime: now},
		}}
		_, err = jobs.UpdateStatus(ctx, cur, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	lcWait(t, "the finished job to be deleted after its TTL", func() (bool, error) {
		_, err := jobs.Get(ctx, "short-lived", metav1.GetOptions{})
		return apierrors.IsNotFound(err), err
	})
}

// jobPods lists the pods of a job that are not being deleted.
func jobPods(t *testing.T, c kubernetes.Interface, job string) []corev1.Pod {
	t.Helper()
	list, err := c.CoreV1().Pods("default").List(t.Context(), metav1.ListOptions{LabelSelector: batchv1.JobNameLabel + "=" + job})
	if err != nil {
		t.Fatal(err)
	}
	var out []corev1.Pod
	for _, p := range list.Items {
		if p.DeletionTimestamp == nil {
			out = append(out, p)
		}
	}
	return out
}

// finishPod marks a pod Succeeded or Failed, as its kubelet would.
func finishPod(t *testing.T, c kubernetes.Interface, p corev1.Pod, phase corev1.PodPhase, exitCode int32) {
	t.Helper()
	// The scheduler may write the pod meanwhile: retry on the latest version.
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cur, err := c.CoreV1().Pods("default").Get(t.Context(), p.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		cur.Status.Phase = phase
		cur.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "c", State: corev1.ContainerState{
			Terminated: &corev1.ContainerStateTerminated{ExitCode: exitCode, FinishedAt: metav1.Now()}}}}
		_, err = c.CoreV1().Pods("default").UpdateStatus(t.Context(), cur, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// running returns the pods of a job still running (not finished), waiting for n of them.
func waitRunning(t *testing.T, c kubernetes.Interface, job string, n int) []corev1.Pod {
	t.Helper()
	var out []corev1.Pod
	lcWait(t, fmt.Sprintf("%d running pods of job %s", n, job), func() (bool, error) {
		out = nil
		for _, p := range jobPods(t, c, job) {
			if p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed {
				out = append(out, p)
			}
		}
		return len(out) == n, nil
	})
	return out
}

func jobCondition(t *testing.T, c kubernetes.Interface, name string, typ batchv1.JobConditionType) *batchv1.Job {
	t.Helper()
	var j *batchv1.Job
	lcWait(t, fmt.Sprintf("job %s to be %s", name, typ), func() (bool, error) {
		var err error
		j, err = c.BatchV1().Jobs("default").Get(t.Context(), name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		for _, cond := range j.Status.Conditions {
			if cond.Type == typ && cond.Status == corev1.ConditionTrue {
				return true, nil
			}
		}
		return false, nil
	})
	return j
}

func TestIntegrationJobs(t *testing.T) {
	s := lcStartWith(t, "job-controller", "garbage-collector-controller", "ttl-after-finished-controller")
	ctx := t.Context()
	capstantesting.CreateDefaultServiceAccount(t, s.Client, "default")
	jobs := s.Client.BatchV1().Jobs("default")

	t.Run("three completions, two at a time, run to Complete", func(t *testing.T) {
		if _, err := jobs.Create(ctx, lcJob("ok", 3, 2), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		first := waitRunning(t, s.Client, "ok", 2)
		for _, p := range first {
			if !slices.Contains(p.Finalizers, batchv1.JobTrackingFinalizer) {
				t.Errorf("pod %s lacks the tracking finalizer: %v", p.Name, p.Finalizers)
			}
		}
		finishPod(t, s.Client, first[0], corev1.PodSucceeded, 0)
		finishPod(t, s.Client, first[1], corev1.PodSucceeded, 0)
		last := waitRunning(t, s.Client, "ok", 1)
		finishPod(t, s.Client, last[0], corev1.PodSucceeded, 0)
		j := jobCondition(t, s.Client, "ok", batchv1.JobComplete)
		if j.Status.Succeeded != 3 || j.Status.Active != 0 || j.Status.CompletionTime == nil || j.Status.StartTime == nil {
			t.Errorf("status %+v", j.Status)
		}
		if c := findJobCondition(j, batchv1.JobSuccessCriteriaMet); c == nil || c.Reason != batchv1.JobReasonCompletionsReached {
			t.Errorf("SuccessCriteriaMet condition %+v", c)
		}
		lcWait(t, "the pods to lose their finalizers", func() (bool, error) {
			for _, p := range jobPods(t, s.Client, "ok") {
				if slices.Contains(p.Finalizers, batchv1.JobTrackingFinalizer) {
					return false, nil
				}
			}
			return true, nil
		})
	})

	t.Run("failures beyond the backoff limit fail the job", func(t *testing.T) {
		j := lcJob("doomed", 3, 2)
		one := int32(1)
		j.Spec.BackoffLimit = &one
		if _, err := jobs.Create(ctx, j, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		for _, p := range waitRunning(t, s.Client, "doomed", 2) {
			finishPod(t, s.Client, p, corev1.PodFailed, 1)
		}
		got := jobCondition(t, s.Client, "doomed", batchv1.JobFailed)
		c := findJobCondition(got, batchv1.JobFailed)
		if c.Reason != batchv1.JobReasonBackoffLimitExceeded || got.Status.Failed != 2 || got.Status.Active != 0 {
			t.Errorf("failed job: condition %+v, status %+v", c, got.Status)
		}
		if ft := findJobCondition(got, batchv1.JobFailureTarget); ft == nil || ft.Reason != batchv1.JobReasonBackoffLimitExceeded {
			t.Errorf("FailureTarget condition %+v", ft)
		}
	})

	t.Run("an Indexed job runs each index once", func(t *testing.T) {
		j := lcJob("indexed", 3, 2)
		mode := batchv1.IndexedCompletion
		j.Spec.CompletionMode = &mode
		if _, err := jobs.Create(ctx, j, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		ps := waitRunning(t, s.Client, "indexed", 2)
		seen := map[string]bool{}
		for _, p := range ps {
			ix := p.Annotations[batchv1.JobCompletionIndexAnnotation]
			seen[ix] = true
			if p.Labels[batchv1.JobCompletionIndexAnnotation] != ix || p.Spec.Hostname != "indexed-"+ix {
				t.Errorf("pod %s: index label %q, hostname %q, want index %s", p.Name, p.Labels[batchv1.JobCompletionIndexAnnotation], p.Spec.Hostname, ix)
			}
			if env := p.Spec.Containers[0].Env; len(env) != 1 || env[0].Name != "JOB_COMPLETION_INDEX" {
				t.Errorf("pod %s env %v", p.Name, env)
			}
			finishPod(t, s.Client, p, corev1.PodSucceeded, 0)
		}
		if !seen["0"] || !seen["1"] {
			t.Fatalf("first indexes %v, want 0 and 1", seen)
		}
		last := waitRunning(t, s.Client, "indexed", 1)
		if ix := last[0].Annotations[batchv1.JobCompletionIndexAnnotation]; ix != "2" {
			t.Fatalf("third pod has index %s, want 2", ix)
		}
		finishPod(t, s.Client, last[0], corev1.PodSucceeded, 0)
		got := jobCondition(t, s.Client, "indexed", batchv1.JobComplete)
		if got.Status.CompletedIndexes != "0-2" || got.Status.Succeeded != 3 {
			t.Errorf("status %+v", got.Status)
		}
	})

	t.Run("the pod failure policy ignores some exit codes and fails the job on others", func(t *testing.T) {
		j := lcJob("policy", 1, 1)
		zero := int32(0)
		j.Spec.BackoffLimit = &zero
		j.Spec.PodFailurePolicy = &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{
			{Action: batchv1.PodFailurePolicyActionIgnore, OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{Operator: batchv1.PodFailurePolicyOnExitCodesOpIn, Values: []int32{3}}},
			{Action: batchv1.PodFailurePolicyActionFailJob, OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{Operator: batchv1.PodFailurePolicyOnExitCodesOpIn, Values: []int32{42}}},
		}}
		if _, err := jobs.Create(ctx, j, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		first := waitRunning(t, s.Client, "policy", 1)[0]
		finishPod(t, s.Client, first, corev1.PodFailed, 3)
		// Ignored: replaced at once, not counted, no backoff.
		second := waitRunning(t, s.Client, "policy", 1)[0]
		if second.Name == first.Name {
			t.Fatal("no replacement")
		}
		finishPod(t, s.Client, second, corev1.PodFailed, 42)
		got := jobCondition(t, s.Client, "policy", batchv1.JobFailed)
		if c := findJobCondition(got, batchv1.JobFailed); c.Reason != batchv1.JobReasonPodFailurePolicy || !strings.Contains(c.Message, "exit code 42") {
			t.Errorf("Failed condition %+v", c)
		}
		if got.Status.Failed != 1 {
			t.Errorf("failed %d, want 1 (the ignored failure does not count)", got.Status.Failed)
		}
	})

	t.Run("suspend deletes the pods and resume brings them back", func(t *testing.T) {
		if _, err := jobs.Create(ctx, lcJob("pausable", 2, 2), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		waitRunning(t, s.Client, "pausable", 2)
		setSuspend := func(v bool) {
			t.Helper()
			err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
				j, err := jobs.Get(ctx, "pausable", metav1.GetOptions{})
				if err != nil {
					return err
				}
				j.Spec.Suspend = &v
				_, err = jobs.Update(ctx, j, metav1.UpdateOptions{})
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		setSuspend(true)
		jobCondition(t, s.Client, "pausable", batchv1.JobSuspended)
		waitRunning(t, s.Client, "pausable", 0)
		lcWait(t, "no active pods in the status", func() (bool, error) {
			got, err := jobs.Get(ctx, "pausable", metav1.GetOptions{})
			return err == nil && got.Status.Active == 0 && got.Status.Failed == 0, err
		})
		setSuspend(false)
		waitRunning(t, s.Client, "pausable", 2)
		if j, _ := jobs.Get(ctx, "pausable", metav1.GetOptions{}); findJobCondition(j, batchv1.JobSuspended).Reason != "JobResumed" {
			t.Errorf("conditions after resume %+v", j.Status.Conditions)
		}
	})

	t.Run("a finished job with a TTL goes, and its pods with it", func(t *testing.T) {
		j := lcJob("ephemeral", 1, 1)
		zero := int32(0)
		j.Spec.TTLSecondsAfterFinished = &zero
		if _, err := jobs.Create(ctx, j, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		finishPod(t, s.Client, waitRunning(t, s.Client, "ephemeral", 1)[0], corev1.PodSucceeded, 0)
		lcWait(t, "the job and its pods to be gone", func() (bool, error) {
			_, err := jobs.Get(ctx, "ephemeral", metav1.GetOptions{})
			if !apierrors.IsNotFound(err) {
				return false, err
			}
			list, err := s.Client.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: batchv1.JobNameLabel + "=ephemeral"})
			return err == nil && len(list.Items) == 0, err
		})
	})

	t.Run("activeDeadlineSeconds fails a job that runs too long", func(t *testing.T) {
		j := lcJob("slow", 1, 1)
		deadline := int64(1)
		j.Spec.ActiveDeadlineSeconds = &deadline
		if _, err := jobs.Create(ctx, j, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		got := jobCondition(t, s.Client, "slow", batchv1.JobFailed)
		if c := findJobCondition(got, batchv1.JobFailed); c.Reason != batchv1.JobReasonDeadlineExceeded {
			t.Errorf("Failed condition %+v", c)
		}
	})
}

func findJobCondition(j *batchv1.Job, typ batchv1.JobConditionType) *batchv1.JobCondition {
	for i := range j.Status.Conditions {
		if j.Status.Conditions[i].Type == typ {
			return &j.Status.Conditions[i]
		}
	}
	return nil
}
