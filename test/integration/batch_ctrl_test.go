package integration

import (
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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
	// Finish it by hand, as its controller would.
	now := metav1.NewTime(time.Now().Truncate(time.Second))
	j.Status = batchv1.JobStatus{StartTime: &now, CompletionTime: &now, Succeeded: 1, Conditions: []batchv1.JobCondition{
		{Type: batchv1.JobSuccessCriteriaMet, Status: corev1.ConditionTrue, LastTransitionTime: now, LastProbeTime: now},
		{Type: batchv1.JobComplete, Status: corev1.ConditionTrue, LastTransitionTime: now, LastProbeTime: now},
	}}
	if _, err := jobs.UpdateStatus(ctx, j, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	lcWait(t, "the finished job to be deleted after its TTL", func() (bool, error) {
		_, err := jobs.Get(ctx, "short-lived", metav1.GetOptions{})
		return apierrors.IsNotFound(err), err
	})
}
