package job

import (
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
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
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"
)

// harness syncs one job by hand: the informers never run; their stores are refilled
// from the fake API before each sync, and the expectations are settled as the informer
// would settle them.
type harness struct {
	t      *testing.T
	client *fake.Clientset
	f      informers.SharedInformerFactory
	clk    *clocktesting.FakeClock
	c      *Controller
}

func newHarness(t *testing.T, job *batchv1.Job) *harness {
	t.Helper()
	h := &harness{t: t, client: fake.NewClientset(job), clk: clocktesting.NewFakeClock(t0)}
	var n atomic.Int32
	// The fake API neither generates names nor assigns uids.
	h.client.PrependReactor("create", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		p := a.(k8stesting.CreateAction).GetObject().(*corev1.Pod)
		p.Name = fmt.Sprintf("%s%d", p.GenerateName, n.Add(1))
		p.UID = types.UID(p.Name)
		return false, nil, nil
	})
	h.f = informers.NewSharedInformerFactory(h.client, 0)
	c, err := New(Options{Client: h.client, Informers: h.f, Clock: h.clk})
	if err != nil {
		t.Fatal(err)
	}
	h.c = c
	return h
}

func (h *harness) sync() (*batchv1.Job, error) {
	h.t.Helper()
	ctx := h.t.Context()
	jobs, _ := h.client.BatchV1().Jobs("ns").List(ctx, metav1.ListOptions{})
	pods, _ := h.client.CoreV1().Pods("ns").List(ctx, metav1.ListOptions{})
	var js, ps []any
	for i := range jobs.Items {
		js = append(js, &jobs.Items[i])
	}
	for i := range pods.Items {
		ps = append(ps, &pods.Items[i])
	}
	_ = h.f.Batch().V1().Jobs().Informer().GetStore().Replace(js, "")
	_ = h.f.Core().V1().Pods().Informer().GetStore().Replace(ps, "")
	h.c.exp.Forget("ns/j") // the informer has seen every creation and deletion
	err := h.c.sync(ctx, "ns/j")
	j, gerr := h.client.BatchV1().Jobs("ns").Get(ctx, "j", metav1.GetOptions{})
	if gerr != nil {
		h.t.Fatal(gerr)
	}
	return j, err
}

func (h *harness) pods() []corev1.Pod {
	list, _ := h.client.CoreV1().Pods("ns").List(h.t.Context(), metav1.ListOptions{})
	return list.Items
}

func (h *harness) setPhase(name string, phase corev1.PodPhase, finishedAgo time.Duration) {
	h.t.Helper()
	p, err := h.client.CoreV1().Pods("ns").Get(h.t.Context(), name, metav1.GetOptions{})
	if err != nil {
		h.t.Fatal(err)
	}
	p.Status.Phase = phase
	p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "c", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
		ExitCode: map[corev1.PodPhase]int32{corev1.PodFailed: 1}[phase], FinishedAt: metav1.NewTime(h.clk.Now().Add(-finishedAgo))}}}}
	if _, err := h.client.CoreV1().Pods("ns").UpdateStatus(h.t.Context(), p, metav1.UpdateOptions{}); err != nil {
		h.t.Fatal(err)
	}
}

func newJob(completions, parallelism int32) *batchv1.Job {
	return &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "j", Namespace: "ns", UID: "job-uid"},
		Spec: batchv1.JobSpec{
			Completions: &completions, Parallelism: &parallelism, BackoffLimit: ptr.To[int32](6),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{batchv1.ControllerUidLabel: "job-uid"}},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{batchv1.ControllerUidLabel: "job-uid"}},
				Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever, Containers: []corev1.Container{{Name: "c", Image: "img"}}}},
		},
	}
}

func running(ps []corev1.Pod) []string {
	var out []string
	for _, p := range ps {
		if p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed && p.DeletionTimestamp == nil {
			out = append(out, p.Name)
		}
	}
	slices.Sort(out)
	return out
}

func TestSyncCreatesTracksAndCompletes(t *testing.T) {
	t.Parallel()
	h := newHarness(t, newJob(2, 2))
	j, err := h.sync()
	if err != nil {
		t.Fatal(err)
	}
	ps := h.pods()
	if len(ps) != 2 || j.Status.Active != 2 || j.Status.StartTime == nil {
		t.Fatalf("first sync: %d pods, status %+v", len(ps), j.Status)
	}
	for _, p := range ps {
		if !slices.Contains(p.Finalizers, finalizer) || metav1.GetControllerOf(&p).UID != "job-uid" || !strings.HasPrefix(p.GenerateName, "j-") {
			t.Errorf("pod %s meta %+v", p.Name, p.ObjectMeta)
		}
	}
	h.setPhase(ps[0].Name, corev1.PodSucceeded, 0)
	j, _ = h.sync()
	if j.Status.Succeeded != 1 || j.Status.Active != 1 || len(uncounted(j).Succeeded) != 0 {
		t.Errorf("after one success: %+v", j.Status)
	}
	if p, _ := h.client.CoreV1().Pods("ns").Get(t.Context(), ps[0].Name, metav1.GetOptions{}); slices.Contains(p.Finalizers, finalizer) {
		t.Error("the finished pod kept its finalizer")
	}
	// A stale cache still showing the finalizer must not count the pod twice.
	h.c.markReleased("ns/j", []types.UID{ps[0].UID})
	h.setPhase(ps[1].Name, corev1.PodSucceeded, 0)
	j, _ = h.sync()
	if j.Status.Succeeded != 2 {
		t.Errorf("succeeded %d, want 2", j.Status.Succeeded)
	}
	if c := findCondition(j, batchv1.JobComplete); c == nil || j.Status.CompletionTime == nil {
		t.Errorf("conditions %+v", j.Status.Conditions)
	}
	if c := findCondition(j, batchv1.JobSuccessCriteriaMet); c == nil || c.Reason != batchv1.JobReasonCompletionsReached {
		t.Errorf("conditions %+v", j.Status.Conditions)
	}
}

func TestSyncWaitsOutTheBackoffBeforeReplacing(t *testing.T) {
	t.Parallel()
	h := newHarness(t, newJob(1, 1))
	if _, err := h.sync(); err != nil {
		t.Fatal(err)
	}
	first := h.pods()[0].Name
	h.setPhase(first, corev1.PodFailed, 0)
	j, err := h.sync()
	if j.Status.Failed != 1 || len(running(h.pods())) != 0 {
		t.Fatalf("after a failure: status %+v, running %v", j.Status, running(h.pods()))
	}
	if err == nil || !strings.Contains(err.Error(), "requeue after 10s") {
		t.Errorf("sync returned %v, want a requeue after the 10 s backoff", err)
	}
	h.clk.Step(9 * time.Second)
	_, _ = h.sync()
	if got := running(h.pods()); len(got) != 0 {
		t.Fatalf("replaced within the backoff: %v", got)
	}
	h.clk.Step(2 * time.Second)
	_, _ = h.sync()
	got := running(h.pods())
	if len(got) != 1 {
		t.Fatalf("not replaced after the backoff: %v", got)
	}
	// A second failure doubles the delay.
	h.setPhase(got[0], corev1.PodFailed, 0)
	if _, err := h.sync(); err == nil || !strings.Contains(err.Error(), "requeue after 20s") {
		t.Errorf("second failure: %v, want a 20 s backoff", err)
	}
}

func TestSyncFailsAtTheBackoffLimitAndDeletesActivePods(t *testing.T) {
	t.Parallel()
	job := newJob(4, 2)
	job.Spec.BackoffLimit = ptr.To[int32](0)
	h := newHarness(t, job)
	_, _ = h.sync()
	ps := h.pods()
	h.setPhase(ps[0].Name, corev1.PodFailed, 0)
	j, _ := h.sync()
	if c := findCondition(j, batchv1.JobFailureTarget); c == nil || c.Reason != batchv1.JobReasonBackoffLimitExceeded {
		t.Fatalf("conditions %+v", j.Status.Conditions)
	}
	if findCondition(j, batchv1.JobFailed) != nil {
		t.Error("Failed before the other pod stopped")
	}
	// The fake API deletes at once: the other pod is gone, so the next sync ends the job.
	j, _ = h.sync()
	if c := findCondition(j, batchv1.JobFailed); c == nil || c.Reason != batchv1.JobReasonBackoffLimitExceeded || c.Message != msgBackoffLimit {
		t.Errorf("conditions %+v", j.Status.Conditions)
	}
	if j.Status.Active != 0 || ptr.Deref(j.Status.Terminating, -1) != 0 {
		t.Errorf("status %+v", j.Status)
	}
}

func TestSyncIndexedCreatesIndexedPods(t *testing.T) {
	t.Parallel()
	job := newJob(3, 2)
	job.Spec.CompletionMode = ptr.To(batchv1.IndexedCompletion)
	h := newHarness(t, job)
	_, _ = h.sync()
	var indexes []string
	for _, p := range h.pods() {
		ix := p.Annotations[indexAnnotation]
		indexes = append(indexes, ix)
		if p.Spec.Hostname != "j-"+ix || p.Labels[indexAnnotation] != ix || !strings.HasPrefix(p.GenerateName, "j-"+ix+"-") {
			t.Errorf("pod %s: %+v %s", p.Name, p.ObjectMeta, p.Spec.Hostname)
		}
	}
	slices.Sort(indexes)
	if !slices.Equal(indexes, []string{"0", "1"}) {
		t.Fatalf("indexes %v", indexes)
	}
	for _, p := range h.pods() {
		if p.Annotations[indexAnnotation] == "1" {
			h.setPhase(p.Name, corev1.PodSucceeded, 0)
		}
	}
	j, _ := h.sync()
	if j.Status.CompletedIndexes != "1" || j.Status.Succeeded != 1 {
		t.Errorf("status %+v", j.Status)
	}
	var newest string
	for _, p := range h.pods() {
		if p.Status.Phase == "" && p.Annotations[indexAnnotation] != "0" {
			newest = p.Annotations[indexAnnotation]
		}
	}
	if newest != "2" {
		t.Errorf("next index %q, want 2", newest)
	}
}

func TestSyncSuspendDeletesWithoutCountingFailures(t *testing.T) {
	t.Parallel()
	h := newHarness(t, newJob(2, 2))
	_, _ = h.sync()
	j, _ := h.client.BatchV1().Jobs("ns").Get(t.Context(), "j", metav1.GetOptions{})
	j.Spec.Suspend = ptr.To(true)
	if _, err := h.client.BatchV1().Jobs("ns").Update(t.Context(), j, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	j, _ = h.sync()
	if c := findCondition(j, batchv1.JobSuspended); c == nil || c.Status != corev1.ConditionTrue || c.Reason != "JobSuspended" {
		t.Errorf("conditions %+v", j.Status.Conditions)
	}
	j, _ = h.sync()
	if len(h.pods()) != 0 || j.Status.Failed != 0 || j.Status.Active != 0 {
		t.Errorf("suspended: %d pods, status %+v", len(h.pods()), j.Status)
	}
}

func TestSyncBackoffLimitPerIndexFailsIndexesThenTheJob(t *testing.T) {
	t.Parallel()
	job := newJob(3, 3)
	job.Spec.CompletionMode = ptr.To(batchv1.IndexedCompletion)
	job.Spec.BackoffLimitPerIndex = ptr.To[int32](1)
	job.Spec.PodFailurePolicy = &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{{
		Action:      batchv1.PodFailurePolicyActionFailIndex,
		OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{Operator: batchv1.PodFailurePolicyOnExitCodesOpIn, Values: []int32{1}},
	}}}
	h := newHarness(t, job)
	_, _ = h.sync()
	byIndex := map[string]string{}
	for _, p := range h.pods() {
		byIndex[p.Annotations[indexAnnotation]] = p.Name
		if p.Annotations[failureCountAnnotation] != "0" {
			t.Errorf("pod %s failure count %q, want 0", p.Name, p.Annotations[failureCountAnnotation])
		}
	}
	h.setPhase(byIndex["0"], corev1.PodFailed, 0) // exit code 1: FailIndex
	h.setPhase(byIndex["1"], corev1.PodSucceeded, 0)
	h.setPhase(byIndex["2"], corev1.PodSucceeded, 0)
	j, _ := h.sync()
	if deref(j.Status.FailedIndexes) != "0" || j.Status.CompletedIndexes != "1,2" {
		t.Fatalf("status %+v", j.Status)
	}
	j, _ = h.sync()
	if c := findCondition(j, batchv1.JobFailed); c == nil || c.Reason != batchv1.JobReasonFailedIndexes {
		t.Errorf("conditions %+v", j.Status.Conditions)
	}
	if len(running(h.pods())) != 0 {
		t.Errorf("a failed index was retried: %v", running(h.pods()))
	}
}
