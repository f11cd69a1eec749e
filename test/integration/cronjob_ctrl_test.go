package integration

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	clocktesting "k8s.io/utils/clock/testing"

	"capstan/internal/controller/cronjob"
)

func TestIntegrationCronJobsOnAFakeClock(t *testing.T) {
	// The server's own cronjob controller is off: the test runs one on a fake clock.
	s := lcStartWith(t, "garbage-collector-controller")
	ctx := t.Context()
	// Nothing is due until the minute after the CronJobs are created.
	clk := clocktesting.NewFakeClock(time.Now())
	start := clk.Now().Truncate(time.Minute)
	f := informers.NewSharedInformerFactory(s.Client, 0)
	ctrl, err := cronjob.New(cronjob.Options{Client: s.Client, Informers: f, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	f.Start(runCtx.Done())
	go func() { _ = ctrl.Run(runCtx) }()

	one := int32(1)
	mk := func(name string, policy batchv1.ConcurrencyPolicy) {
		t.Helper()
		_, err := s.Client.BatchV1().CronJobs("default").Create(ctx, &batchv1.CronJob{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: batchv1.CronJobSpec{Schedule: "* * * * *", ConcurrencyPolicy: policy, SuccessfulJobsHistoryLimit: &one,
				JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
					RestartPolicy: corev1.RestartPolicyNever, Containers: []corev1.Container{{Name: "c", Image: "img"}}}}}}},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
	}
	jobsOf := func(cj string) []string {
		list, err := s.Client.BatchV1().Jobs("default").List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, j := range list.Items {
			if ref := metav1.GetControllerOf(&j); ref != nil && ref.Name == cj && j.DeletionTimestamp == nil {
				out = append(out, j.Name)
			}
		}
		slices.Sort(out)
		return out
	}
	name := func(cj string, minute int) string {
		return cj + "-" + strconv.FormatInt(start.Add(time.Duration(minute)*time.Minute).Unix()/60, 10)
	}
	expect := func(what, cj string, want ...string) {
		t.Helper()
		lcWait(t, what, func() (bool, error) { return slices.Equal(jobsOf(cj), want), nil })
	}
	active := func(cj string, want ...string) {
		t.Helper()
		lcWait(t, cj+" status.active to be "+fmt.Sprint(want), func() (bool, error) {
			c, err := s.Client.BatchV1().CronJobs("default").Get(ctx, cj, metav1.GetOptions{})
			if err != nil {
				return false, err
			}
			var got []string
			for _, r := range c.Status.Active {
				got = append(got, r.Name)
			}
			slices.Sort(got)
			return slices.Equal(got, want) && c.Status.LastScheduleTime != nil, nil
		})
	}
	complete := func(job string) {
		t.Helper()
		j, err := s.Client.BatchV1().Jobs("default").Get(ctx, job, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		now := metav1.NewTime(time.Now().Truncate(time.Second))
		j.Status = batchv1.JobStatus{StartTime: &now, CompletionTime: &now, Succeeded: 1, Conditions: []batchv1.JobCondition{
			{Type: batchv1.JobSuccessCriteriaMet, Status: corev1.ConditionTrue, LastTransitionTime: now, LastProbeTime: now},
			{Type: batchv1.JobComplete, Status: corev1.ConditionTrue, LastTransitionTime: now, LastProbeTime: now}}}
		if _, err := s.Client.BatchV1().Jobs("default").UpdateStatus(ctx, j, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	at := func(minute int) { clk.SetTime(start.Add(time.Duration(minute)*time.Minute + time.Second)) }

	mk("forbid", batchv1.ForbidConcurrent)
	mk("replace", batchv1.ReplaceConcurrent)
	at(1)
	expect("the first jobs", "forbid", name("forbid", 1))
	expect("the first jobs", "replace", name("replace", 1))
	active("forbid", name("forbid", 1))
	active("replace", name("replace", 1))

	at(2)
	expect("Replace to swap the running job for a new one", "replace", name("replace", 2))
	active("replace", name("replace", 2))
	if got := jobsOf("forbid"); !slices.Equal(got, []string{name("forbid", 1)}) {
		t.Fatalf("Forbid started a job beside a running one: %v", got)
	}

	// Once the running job finishes, the start time Forbid skipped is still within reach
	// (no startingDeadlineSeconds): it starts at once.
	complete(name("forbid", 1))
	expect("Forbid to start the skipped run once the job finished", "forbid", name("forbid", 1), name("forbid", 2))
	active("forbid", name("forbid", 2))
	complete(name("forbid", 2))
	at(3)
	expect("the history limit to keep one successful job", "forbid", name("forbid", 2), name("forbid", 3))
	active("forbid", name("forbid", 3))
}
