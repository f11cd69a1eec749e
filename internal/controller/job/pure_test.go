package job

import (
	"slices"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
)

var t0 = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)

func TestIndexSets(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in          string
		completions int
		want        string
	}{
		{"", 5, ""},
		{"0", 5, "0"},
		{"0,1", 5, "0,1"},
		{"0-2,4", 5, "0-2,4"},
		{"1,2,3,7", 10, "1-3,7"},
		{"3-9", 5, "3,4"},
		{"x,2", 5, "2"},
	} {
		if got := parseIndexes(tc.in, tc.completions).String(); got != tc.want {
			t.Errorf("parse(%q, %d) = %q, want %q", tc.in, tc.completions, got, tc.want)
		}
	}
	done := parseIndexes("0,2", 6)
	running := parseIndexes("1", 6)
	waiting := parseIndexes("3", 6)
	if got := pendingIndexes(6, 2, done, running, waiting); !slices.Equal(got, []int{4, 5}) {
		t.Errorf("pending = %v, want [4 5]", got)
	}
}

func TestBackoff(t *testing.T) {
	t.Parallel()
	for failures, want := range map[int]time.Duration{0: 0, 1: 10 * time.Second, 2: 20 * time.Second, 3: 40 * time.Second, 6: 320 * time.Second, 7: 6 * time.Minute, 30: 6 * time.Minute} {
		if got := backoffDelay(failures); got != want {
			t.Errorf("backoffDelay(%d) = %v, want %v", failures, got, want)
		}
	}
	failedAt := func(d time.Duration) *corev1.Pod {
		return &corev1.Pod{Status: corev1.PodStatus{Phase: corev1.PodFailed, ContainerStatuses: []corev1.ContainerStatus{{
			State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1, FinishedAt: metav1.NewTime(t0.Add(d))}}}}}}
	}
	succeededAt := func(d time.Duration) *corev1.Pod {
		p := failedAt(d)
		p.Status.Phase = corev1.PodSucceeded
		return p
	}
	r := backoffRecord{}.update(nil, []*corev1.Pod{failedAt(0), failedAt(time.Second)}, t0)
	if r.failuresAfterLastSuccess != 2 || !r.lastFailure.Equal(t0.Add(time.Second)) {
		t.Fatalf("record %+v", r)
	}
	if got := r.remaining(t0.Add(5 * time.Second)); got != 16*time.Second {
		t.Errorf("remaining = %v, want 16s (20s after the last failure)", got)
	}
	r = r.update([]*corev1.Pod{succeededAt(10 * time.Second)}, []*corev1.Pod{failedAt(5 * time.Second), failedAt(15 * time.Second)}, t0)
	if r.failuresAfterLastSuccess != 1 || r.remaining(t0.Add(20*time.Second)) != 5*time.Second {
		t.Errorf("after a success, only later failures count: %+v", r)
	}
}

func exitPod(name string, code int32, conds ...corev1.PodConditionType) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns"}, Status: corev1.PodStatus{Phase: corev1.PodFailed,
		ContainerStatuses: []corev1.ContainerStatus{{Name: "main", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: code}}}}}}
	for _, c := range conds {
		p.Status.Conditions = append(p.Status.Conditions, corev1.PodCondition{Type: c, Status: corev1.ConditionTrue})
	}
	return p
}

func TestMatchFailurePolicy(t *testing.T) {
	t.Parallel()
	policy := &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{
		{Action: batchv1.PodFailurePolicyActionIgnore, OnPodConditions: []batchv1.PodFailurePolicyOnPodConditionsPattern{{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue}}},
		{Action: batchv1.PodFailurePolicyActionFailJob, OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{Operator: batchv1.PodFailurePolicyOnExitCodesOpIn, Values: []int32{42}}},
		{Action: batchv1.PodFailurePolicyActionCount, OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{Operator: batchv1.PodFailurePolicyOnExitCodesOpNotIn, Values: []int32{1, 2}}},
	}}
	for _, tc := range []struct {
		name string
		pod  *corev1.Pod
		want string // "" no match
		msg  string
	}{
		{"a disruption is ignored", exitPod("a", 42, corev1.DisruptionTarget), "Ignore", "has condition DisruptionTarget matching Ignore rule at index 0"},
		{"exit code 42 fails the job", exitPod("b", 42), "FailJob", "Container main for pod ns/b failed with exit code 42 matching FailJob rule at index 1"},
		{"NotIn matches other codes", exitPod("c", 7), "Count", "exit code 7 matching Count rule at index 2"},
		{"NotIn does not match listed codes", exitPod("d", 2), "", ""},
		{"exit code 0 never matches", exitPod("e", 0), "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			action, msg := matchFailurePolicy(policy, tc.pod)
			got := ""
			if action != nil {
				got = string(*action)
			}
			if got != tc.want || !strings.Contains(msg, tc.msg) {
				t.Errorf("match = %q %q, want %q containing %q", got, msg, tc.want, tc.msg)
			}
		})
	}
}

func TestMatchSuccessPolicy(t *testing.T) {
	t.Parallel()
	succeeded := parseIndexes("0,2-4", 10)
	for _, tc := range []struct {
		name  string
		rules []batchv1.SuccessPolicyRule
		want  string
	}{
		{"all named indexes succeeded", []batchv1.SuccessPolicyRule{{SucceededIndexes: ptr.To("2-4")}}, "Matched rules at index 0"},
		{"a named index missing", []batchv1.SuccessPolicyRule{{SucceededIndexes: ptr.To("0-2")}}, ""},
		{"enough of the named indexes", []batchv1.SuccessPolicyRule{{SucceededIndexes: ptr.To("0-2")}, {SucceededIndexes: ptr.To("0-3"), SucceededCount: ptr.To[int32](3)}}, "Matched rules at index 1"},
		{"a count alone", []batchv1.SuccessPolicyRule{{SucceededCount: ptr.To[int32](5)}, {SucceededCount: ptr.To[int32](4)}}, "Matched rules at index 1"},
	} {
		msg, ok := matchSuccessPolicy(&batchv1.SuccessPolicy{Rules: tc.rules}, 10, succeeded)
		if msg != tc.want || ok != (tc.want != "") {
			t.Errorf("%s: %q %v, want %q", tc.name, msg, ok, tc.want)
		}
	}
}

// pod builds a job pod: phase, finalizer, index.
func pod(uid string, phase corev1.PodPhase, opts ...func(*corev1.Pod)) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: uid, Namespace: "ns", UID: types.UID(uid), Finalizers: []string{finalizer},
		CreationTimestamp: metav1.NewTime(t0)}, Status: corev1.PodStatus{Phase: phase}}
	for _, o := range opts {
		o(p)
	}
	return p
}

func withIndex(i string) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		p.Annotations = map[string]string{indexAnnotation: i}
	}
}
func withFailures(n string) func(*corev1.Pod) {
	return func(p *corev1.Pod) { p.Annotations[failureCountAnnotation] = n }
}
func noFinalizer(p *corev1.Pod) { p.Finalizers = nil }
func deleted(p *corev1.Pod) {
	ts := metav1.NewTime(t0)
	p.DeletionTimestamp = &ts
}
func isReady(p *corev1.Pod) {
	p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}
}

func uidsOf(ps []*corev1.Pod) []string {
	var out []string
	for _, p := range ps {
		out = append(out, string(p.UID))
	}
	slices.Sort(out)
	return out
}

func TestClassifyCountsEachFinishedPodOnce(t *testing.T) {
	t.Parallel()
	job := &batchv1.Job{Spec: batchv1.JobSpec{Completions: ptr.To[int32](5), Parallelism: ptr.To[int32](2)}}
	job.Status.UncountedTerminatedPods = &batchv1.UncountedTerminatedPods{Succeeded: []types.UID{"in-uncounted"}}
	all := []*corev1.Pod{
		pod("running", corev1.PodRunning, isReady), pod("pending", corev1.PodPending),
		pod("done", corev1.PodSucceeded), pod("in-uncounted", corev1.PodSucceeded),
		pod("counted", corev1.PodSucceeded, noFinalizer), pod("released-earlier", corev1.PodSucceeded),
		pod("failed", corev1.PodFailed), pod("deleted-running", corev1.PodRunning, deleted),
	}
	tally := classify(job, all, newCounts(job, map[types.UID]bool{"released-earlier": true}))
	if got := uidsOf(tally.active); !slices.Equal(got, []string{"pending", "running"}) || tally.ready != 1 {
		t.Errorf("active %v ready %d", got, tally.ready)
	}
	if got := uidsOf(tally.newSucceeded); !slices.Equal(got, []string{"done"}) {
		t.Errorf("new successes %v", got)
	}
	if got := uidsOf(tally.newFailed); !slices.Equal(got, []string{"deleted-running", "failed"}) {
		t.Errorf("new failures %v (a deleted pod counts as failed by default)", got)
	}
	if tally.terminating != 1 {
		t.Errorf("terminating %d", tally.terminating)
	}
	job.Spec.PodReplacementPolicy = ptr.To(batchv1.Failed)
	if got := uidsOf(classify(job, all, newCounts(job, nil)).newFailed); !slices.Equal(got, []string{"failed"}) {
		t.Errorf("with podReplacementPolicy Failed, new failures %v", got)
	}
	job.Spec.PodReplacementPolicy, job.Spec.Suspend = nil, ptr.To(true)
	if got := uidsOf(classify(job, all, newCounts(job, nil)).newFailed); !slices.Equal(got, []string{"failed"}) {
		t.Errorf("pods deleted by suspension count as failures: %v", got)
	}
}

func TestClassifyIndexed(t *testing.T) {
	t.Parallel()
	job := &batchv1.Job{Spec: batchv1.JobSpec{Completions: ptr.To[int32](4), Parallelism: ptr.To[int32](4),
		CompletionMode: ptr.To(batchv1.IndexedCompletion), BackoffLimitPerIndex: ptr.To[int32](1)}}
	job.Status.CompletedIndexes = "0"
	all := []*corev1.Pod{
		pod("a", corev1.PodSucceeded, withIndex("1")),
		pod("b", corev1.PodSucceeded, withIndex("1")), // a duplicate success counts once
		pod("c", corev1.PodFailed, withIndex("2"), withFailures("1")),
		pod("d", corev1.PodFailed, withIndex("3"), withFailures("0")),
		pod("bad", corev1.PodSucceeded, withIndex("9")),
	}
	tally := classify(job, all, newCounts(job, nil))
	if got := tally.succeeded.String(); got != "0,1" {
		t.Errorf("succeeded indexes %q", got)
	}
	if len(tally.newSucceeded) != 1 {
		t.Errorf("new successes %v", uidsOf(tally.newSucceeded))
	}
	if got := tally.failed.String(); got != "2" {
		t.Errorf("failed indexes %q: index 2 failed twice with a limit of 1", got)
	}
	if h := tally.perIndex[3]; h.failures != 1 || h.lastFailed.UID != "d" {
		t.Errorf("history of index 3 %+v", h)
	}
	held := heldPods(job, tally)
	if !held["d"] || held["c"] {
		t.Errorf("held %v: the last failure of a pending index keeps its finalizer", held)
	}
}

func TestDecideFinish(t *testing.T) {
	t.Parallel()
	base := func() *batchv1.Job {
		return &batchv1.Job{Spec: batchv1.JobSpec{BackoffLimit: ptr.To[int32](2), Completions: ptr.To[int32](3), Parallelism: ptr.To[int32](1)}}
	}
	for _, tc := range []struct {
		name   string
		job    func() *batchv1.Job
		tally  tally
		failed int32
		want   string // reason, "" none
	}{
		{"running within limits", base, tally{}, 2, ""},
		{"over the backoff limit", base, tally{}, 3, batchv1.JobReasonBackoffLimitExceeded},
		{"a FailJob rule matched", base, tally{failJob: "boom"}, 0, batchv1.JobReasonPodFailurePolicy},
		{"past the deadline", func() *batchv1.Job {
			j := base()
			j.Spec.ActiveDeadlineSeconds = ptr.To[int64](10)
			j.Status.StartTime = &metav1.Time{Time: t0.Add(-11 * time.Second)}
			return j
		}, tally{}, 0, batchv1.JobReasonDeadlineExceeded},
		{"a recorded FailureTarget sticks", func() *batchv1.Job {
			j := base()
			j.Status.Conditions = []batchv1.JobCondition{{Type: batchv1.JobFailureTarget, Status: corev1.ConditionTrue, Reason: "Custom"}}
			return j
		}, tally{}, 0, "Custom"},
		{"too many failed indexes", func() *batchv1.Job {
			j := base()
			j.Spec.CompletionMode, j.Spec.BackoffLimitPerIndex, j.Spec.MaxFailedIndexes = ptr.To(batchv1.IndexedCompletion), ptr.To[int32](0), ptr.To[int32](0)
			return j
		}, tally{failed: parseIndexes("1", 3), succeeded: indexSet{}}, 0, batchv1.JobReasonMaxFailedIndexesExceeded},
		{"every index done, some failed", func() *batchv1.Job {
			j := base()
			j.Spec.CompletionMode, j.Spec.BackoffLimitPerIndex = ptr.To(batchv1.IndexedCompletion), ptr.To[int32](0)
			return j
		}, tally{failed: parseIndexes("1", 3), succeeded: parseIndexes("0,2", 3)}, 0, batchv1.JobReasonFailedIndexes},
		{"a success policy met", func() *batchv1.Job {
			j := base()
			j.Spec.CompletionMode = ptr.To(batchv1.IndexedCompletion)
			j.Spec.SuccessPolicy = &batchv1.SuccessPolicy{Rules: []batchv1.SuccessPolicyRule{{SucceededCount: ptr.To[int32](1)}}}
			return j
		}, tally{succeeded: parseIndexes("2", 3), failed: indexSet{}}, 0, batchv1.JobReasonSuccessPolicy},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := decideFinish(tc.job(), tc.tally, tc.failed, t0)
			got := ""
			if f != nil {
				got = f.reason
			}
			if got != tc.want {
				t.Errorf("finish %+v, want reason %q", f, tc.want)
			}
		})
	}
}

func TestWantActiveAndExcessPods(t *testing.T) {
	t.Parallel()
	nonIndexed := &batchv1.Job{Spec: batchv1.JobSpec{Completions: ptr.To[int32](5), Parallelism: ptr.To[int32](3)}}
	if got := wantActive(nonIndexed, tally{}, 3); got != 2 {
		t.Errorf("two completions left, parallelism 3: want %d", got)
	}
	workQueue := &batchv1.Job{Spec: batchv1.JobSpec{Parallelism: ptr.To[int32](3)}}
	running := tally{active: []*corev1.Pod{pod("x", corev1.PodRunning)}}
	if got := wantActive(workQueue, running, 1); got != 1 {
		t.Errorf("work queue after a success: want %d, keep the running pods only", got)
	}
	if got := wantActive(workQueue, tally{}, 0); got != 3 {
		t.Errorf("work queue: want %d", got)
	}
	indexed := &batchv1.Job{Spec: batchv1.JobSpec{Completions: ptr.To[int32](3), Parallelism: ptr.To[int32](3), CompletionMode: ptr.To(batchv1.IndexedCompletion)}}
	tl := tally{succeeded: parseIndexes("0", 3), failed: indexSet{}, active: []*corev1.Pod{
		pod("dup-a", corev1.PodRunning, withIndex("1"), isReady), pod("dup-b", corev1.PodPending, withIndex("1")),
		pod("done", corev1.PodRunning, withIndex("0")), pod("bad", corev1.PodRunning, withIndex("7")), pod("ok", corev1.PodRunning, withIndex("2")),
	}}
	if got := uidsOf(excessPods(indexed, tl, wantActive(indexed, tl, 1))); !slices.Equal(got, []string{"bad", "done", "dup-b"}) {
		t.Errorf("indexed excess %v: want the duplicate (not the ready one), the completed and the out-of-range index", got)
	}
}

func TestSettle(t *testing.T) {
	t.Parallel()
	job := &batchv1.Job{Spec: batchv1.JobSpec{Completions: ptr.To[int32](3), Parallelism: ptr.To[int32](3)}}
	all := []*corev1.Pod{pod("ok", corev1.PodSucceeded), pod("bad", corev1.PodFailed), pod("run", corev1.PodRunning)}
	c := newCounts(job, nil)
	tl := classify(job, all, c)
	release, s, f := settle(job, all, tl, c, nil, nil)
	if got := uidsOf(release); !slices.Equal(got, []string{"bad", "ok"}) || len(s) != 1 || len(f) != 1 {
		t.Errorf("running job: release %v, +succeeded %v, +failed %v", got, s, f)
	}
	release, s, f = settle(job, all, tl, c, failure(batchv1.JobReasonBackoffLimitExceeded, ""), nil)
	if got := uidsOf(release); len(got) != 3 || len(s) != 1 || len(f) != 2 {
		t.Errorf("failing job: release %v, +succeeded %v, +failed %v: the running pod counts as failed", got, s, f)
	}
}
