package cronjob

import (
	"slices"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/record"
	clocktesting "k8s.io/utils/clock/testing"
)

// harness drives the controller by hand: the informers are never started; their stores
// are refilled from the fake API before each sync.
type harness struct {
	t      *testing.T
	client *fake.Clientset
	f      informers.SharedInformerFactory
	clk    *clocktesting.FakeClock
	c      *Controller
	events *record.FakeRecorder
}

func newHarness(t *testing.T, cj *batchv1.CronJob) *harness {
	t.Helper()
	h := &harness{t: t, client: fake.NewClientset(cj), clk: clocktesting.NewFakeClock(t0), events: record.NewFakeRecorder(100)}
	// The fake API assigns no uids; the real one does.
	h.client.PrependReactor("create", "jobs", func(a k8stesting.Action) (bool, runtime.Object, error) {
		j := a.(k8stesting.CreateAction).GetObject().(*batchv1.Job)
		j.UID = types.UID("uid-" + j.Name)
		return false, nil, nil
	})
	h.f = informers.NewSharedInformerFactory(h.client, 0)
	c, err := New(Options{Client: h.client, Informers: h.f, Clock: h.clk, Recorder: h.events})
	if err != nil {
		t.Fatal(err)
	}
	h.c = c
	return h
}

// syncAt moves the clock to t0+d, refreshes the caches and syncs the CronJob.
func (h *harness) syncAt(d time.Duration) *batchv1.CronJob {
	h.t.Helper()
	h.clk.SetTime(t0.Add(d))
	ctx := h.t.Context()
	cjs, _ := h.client.BatchV1().CronJobs("ns").List(ctx, metav1.ListOptions{})
	jobs, _ := h.client.BatchV1().Jobs("ns").List(ctx, metav1.ListOptions{})
	var cjObjs, jobObjs []any
	for i := range cjs.Items {
		cjObjs = append(cjObjs, &cjs.Items[i])
	}
	for i := range jobs.Items {
		jobObjs = append(jobObjs, &jobs.Items[i])
	}
	if err := h.f.Batch().V1().CronJobs().Informer().GetStore().Replace(cjObjs, ""); err != nil {
		h.t.Fatal(err)
	}
	if err := h.f.Batch().V1().Jobs().Informer().GetStore().Replace(jobObjs, ""); err != nil {
		h.t.Fatal(err)
	}
	if err := h.c.sync(ctx, "ns/cj"); err != nil && !isRequeue(err) {
		h.t.Fatal(err)
	}
	cj, err := h.client.BatchV1().CronJobs("ns").Get(ctx, "cj", metav1.GetOptions{})
	if err != nil {
		h.t.Fatal(err)
	}
	return cj
}

func isRequeue(err error) bool { return strings.HasPrefix(err.Error(), "requeue after ") }

func (h *harness) jobNames() []string {
	jobs, _ := h.client.BatchV1().Jobs("ns").List(h.t.Context(), metav1.ListOptions{})
	var out []string
	for _, j := range jobs.Items {
		out = append(out, j.Name)
	}
	slices.Sort(out)
	return out
}

// finish marks a job Complete or Failed.
func (h *harness) finish(name string, how batchv1.JobConditionType, at time.Duration) {
	h.t.Helper()
	j, err := h.client.BatchV1().Jobs("ns").Get(h.t.Context(), name, metav1.GetOptions{})
	if err != nil {
		h.t.Fatal(err)
	}
	ts := metav1.NewTime(t0.Add(at))
	j.Status.StartTime = &ts
	j.Status.Conditions = append(j.Status.Conditions, batchv1.JobCondition{Type: how, Status: corev1.ConditionTrue, LastTransitionTime: ts})
	if how == batchv1.JobComplete {
		j.Status.CompletionTime = &ts
	}
	if _, err := h.client.BatchV1().Jobs("ns").UpdateStatus(h.t.Context(), j, metav1.UpdateOptions{}); err != nil {
		h.t.Fatal(err)
	}
}

func cronJob(policy batchv1.ConcurrencyPolicy) *batchv1.CronJob {
	return &batchv1.CronJob{
		ObjectMeta: metav1.ObjectMeta{Name: "cj", Namespace: "ns", UID: "cj-uid", CreationTimestamp: metav1.NewTime(t0)},
		Spec: batchv1.CronJobSpec{Schedule: "* * * * *", ConcurrencyPolicy: policy,
			JobTemplate: batchv1.JobTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "x"}}}},
	}
}

func minuteName(m int) string {
	return jobName(&batchv1.CronJob{ObjectMeta: metav1.ObjectMeta{Name: "cj"}}, t0.Add(time.Duration(m)*time.Minute))
}

func TestAllowStartsAJobEachMinuteAndTracksIt(t *testing.T) {
	t.Parallel()
	h := newHarness(t, cronJob(batchv1.AllowConcurrent))
	if cj := h.syncAt(30 * time.Second); len(cj.Status.Active) != 0 || len(h.jobNames()) != 0 {
		t.Fatalf("a job started before its time: %v", h.jobNames())
	}
	cj := h.syncAt(time.Minute + time.Second)
	if got := h.jobNames(); !slices.Equal(got, []string{minuteName(1)}) {
		t.Fatalf("jobs %v, want %s", got, minuteName(1))
	}
	if len(cj.Status.Active) != 1 || cj.Status.LastScheduleTime == nil || !cj.Status.LastScheduleTime.Time.Equal(t0.Add(time.Minute)) {
		t.Errorf("status %+v", cj.Status)
	}
	j, _ := h.client.BatchV1().Jobs("ns").Get(t.Context(), minuteName(1), metav1.GetOptions{})
	if ref := metav1.GetControllerOf(j); ref == nil || ref.UID != "cj-uid" || j.Labels["app"] != "x" ||
		j.Annotations[scheduledTimestampAnnotation] != t0.Add(time.Minute).Format(time.RFC3339) {
		t.Errorf("job meta %+v", j.ObjectMeta)
	}
	// A second sync in the same minute starts nothing more.
	h.syncAt(time.Minute + 30*time.Second)
	h.syncAt(2*time.Minute + time.Second)
	if got := h.jobNames(); len(got) != 2 {
		t.Fatalf("Allow: jobs %v, want two running side by side", got)
	}
	h.finish(minuteName(1), batchv1.JobComplete, 2*time.Minute+10*time.Second)
	cj = h.syncAt(2*time.Minute + 20*time.Second)
	if len(cj.Status.Active) != 1 || cj.Status.Active[0].Name != minuteName(2) {
		t.Errorf("active %v, want only the running job", cj.Status.Active)
	}
	if cj.Status.LastSuccessfulTime == nil || !cj.Status.LastSuccessfulTime.Time.Equal(t0.Add(2*time.Minute+10*time.Second)) {
		t.Errorf("lastSuccessfulTime %v", cj.Status.LastSuccessfulTime)
	}
}

func TestForbidSkipsWhileAJobRuns(t *testing.T) {
	t.Parallel()
	h := newHarness(t, cronJob(batchv1.ForbidConcurrent))
	h.syncAt(time.Minute + time.Second)
	h.syncAt(2*time.Minute + time.Second)
	if got := h.jobNames(); !slices.Equal(got, []string{minuteName(1)}) {
		t.Fatalf("Forbid: jobs %v, want only the first", got)
	}
	h.finish(minuteName(1), batchv1.JobComplete, 2*time.Minute+2*time.Second)
	h.syncAt(3*time.Minute + time.Second)
	if got := h.jobNames(); !slices.Equal(got, []string{minuteName(1), minuteName(3)}) {
		t.Fatalf("Forbid after the first finished: jobs %v", got)
	}
}

func TestReplaceDeletesTheRunningJob(t *testing.T) {
	t.Parallel()
	h := newHarness(t, cronJob(batchv1.ReplaceConcurrent))
	h.syncAt(time.Minute + time.Second)
	cj := h.syncAt(2*time.Minute + time.Second)
	if got := h.jobNames(); !slices.Equal(got, []string{minuteName(2)}) {
		t.Fatalf("Replace: jobs %v, want only the newest", got)
	}
	if len(cj.Status.Active) != 1 || cj.Status.Active[0].Name != minuteName(2) {
		t.Errorf("active %v", cj.Status.Active)
	}
}

func TestSuspendAndStartingDeadline(t *testing.T) {
	t.Parallel()
	cj := cronJob(batchv1.AllowConcurrent)
	yes := true
	cj.Spec.Suspend = &yes
	h := newHarness(t, cj)
	h.syncAt(time.Minute + time.Second)
	if got := h.jobNames(); len(got) != 0 {
		t.Fatalf("suspended: jobs %v", got)
	}
	cj = cronJob(batchv1.AllowConcurrent)
	deadline := int64(10)
	cj.Spec.StartingDeadlineSeconds = &deadline
	h = newHarness(t, cj)
	h.syncAt(time.Minute + 30*time.Second)
	if got := h.jobNames(); len(got) != 0 {
		t.Fatalf("past the starting deadline: jobs %v", got)
	}
	h.syncAt(2*time.Minute + 5*time.Second)
	if got := h.jobNames(); !slices.Equal(got, []string{minuteName(2)}) {
		t.Fatalf("within the deadline: jobs %v", got)
	}
}

func TestHistoryLimitsDeleteTheOldestFinishedJobs(t *testing.T) {
	t.Parallel()
	cj := cronJob(batchv1.AllowConcurrent)
	one, zero := int32(1), int32(0)
	cj.Spec.SuccessfulJobsHistoryLimit, cj.Spec.FailedJobsHistoryLimit = &one, &zero
	h := newHarness(t, cj)
	for m := 1; m <= 3; m++ {
		h.syncAt(time.Duration(m)*time.Minute + time.Second)
		how := batchv1.JobComplete
		if m == 2 {
			how = batchv1.JobFailed
		}
		h.finish(minuteName(m), how, time.Duration(m)*time.Minute+2*time.Second)
	}
	h.syncAt(3*time.Minute + 10*time.Second)
	if got := h.jobNames(); !slices.Equal(got, []string{minuteName(3)}) {
		t.Errorf("jobs kept %v, want only the latest success", got)
	}
}
