package batch

import (
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"
)

const testUID = types.UID("0b5c2f9e-1111-2222-3333-444455556666")

// testJob is a created job: defaulted, with the UID the store assigns and a generated
// selector.
func testJob(t *testing.T) *batchv1.Job {
	t.Helper()
	job := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "pi", Namespace: "default", UID: testUID},
		Spec:       batchv1.JobSpec{Template: testPodTemplate()},
	}
	jobStrategy{}.Default(job)
	jobStrategy{}.PrepareForCreate(t.Context(), job)
	return job
}

func TestJobDefaults(t *testing.T) {
	t.Parallel()
	t.Run("an empty job runs one pod once with six retries", func(t *testing.T) {
		t.Parallel()
		job := &batchv1.Job{}
		jobStrategy{}.Default(job)
		job.Spec.Template = corev1.PodTemplateSpec{} // pod defaults belong to package core
		want := batchv1.JobSpec{
			Completions:          ptr.To[int32](1),
			Parallelism:          ptr.To[int32](1),
			BackoffLimit:         ptr.To[int32](6),
			CompletionMode:       ptr.To(batchv1.NonIndexedCompletion),
			Suspend:              ptr.To(false),
			PodReplacementPolicy: ptr.To(batchv1.TerminatingOrFailed),
			ManualSelector:       ptr.To(false),
		}
		if !reflect.DeepEqual(job.Spec, want) {
			t.Errorf("defaulted spec = %+v, want %+v", job.Spec, want)
		}
	})
	tests := []struct {
		name  string
		spec  batchv1.JobSpec
		check func(*batchv1.JobSpec) bool
	}{
		{
			name:  "parallelism alone leaves completions unset",
			spec:  batchv1.JobSpec{Parallelism: ptr.To[int32](3)},
			check: func(s *batchv1.JobSpec) bool { return s.Completions == nil && *s.Parallelism == 3 },
		},
		{
			name:  "completions alone get a parallelism of one",
			spec:  batchv1.JobSpec{Completions: ptr.To[int32](5)},
			check: func(s *batchv1.JobSpec) bool { return *s.Completions == 5 && *s.Parallelism == 1 },
		},
		{
			name:  "a per-index backoff limit lifts the job backoff limit",
			spec:  batchv1.JobSpec{BackoffLimitPerIndex: ptr.To[int32](1)},
			check: func(s *batchv1.JobSpec) bool { return *s.BackoffLimit == math.MaxInt32 },
		},
		{
			name: "a pod failure policy replaces pods only once they failed and matches True conditions",
			spec: batchv1.JobSpec{PodFailurePolicy: &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{{
				Action:          batchv1.PodFailurePolicyActionIgnore,
				OnPodConditions: []batchv1.PodFailurePolicyOnPodConditionsPattern{{Type: corev1.DisruptionTarget}},
			}}}},
			check: func(s *batchv1.JobSpec) bool {
				return *s.PodReplacementPolicy == batchv1.Failed && s.PodFailurePolicy.Rules[0].OnPodConditions[0].Status == corev1.ConditionTrue
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			job := &batchv1.Job{Spec: tc.spec}
			jobStrategy{}.Default(job)
			if !tc.check(&job.Spec) {
				t.Errorf("defaulted spec = %+v", job.Spec)
			}
		})
	}
	t.Run("a job without labels takes the template's", func(t *testing.T) {
		t.Parallel()
		job := &batchv1.Job{Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "pi"}}}}}
		jobStrategy{}.Default(job)
		if job.Labels["app"] != "pi" {
			t.Errorf("labels = %v", job.Labels)
		}
	})
}

func TestJobPrepareForCreate(t *testing.T) {
	t.Parallel()
	t.Run("the selector and template labels are generated from the UID and name", func(t *testing.T) {
		t.Parallel()
		job := testJob(t)
		wantLabels := map[string]string{
			"controller-uid": string(testUID), "batch.kubernetes.io/controller-uid": string(testUID),
			"job-name": "pi", "batch.kubernetes.io/job-name": "pi",
		}
		if !reflect.DeepEqual(job.Spec.Template.Labels, wantLabels) {
			t.Errorf("template labels = %v, want %v", job.Spec.Template.Labels, wantLabels)
		}
		if !reflect.DeepEqual(job.Labels, wantLabels) {
			t.Errorf("job labels = %v, want the template's %v", job.Labels, wantLabels)
		}
		wantSelector := &metav1.LabelSelector{MatchLabels: map[string]string{"batch.kubernetes.io/controller-uid": string(testUID)}}
		if !reflect.DeepEqual(job.Spec.Selector, wantSelector) {
			t.Errorf("selector = %v, want %v", job.Spec.Selector, wantSelector)
		}
		expectErrors(t, jobStrategy{}.Validate(t.Context(), job))
	})
	t.Run("a job with its own labels keeps them", func(t *testing.T) {
		t.Parallel()
		job := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "pi", UID: testUID, Labels: map[string]string{"team": "a"}}, Spec: batchv1.JobSpec{Template: testPodTemplate()}}
		jobStrategy{}.Default(job)
		jobStrategy{}.PrepareForCreate(t.Context(), job)
		if !reflect.DeepEqual(job.Labels, map[string]string{"team": "a"}) {
			t.Errorf("job labels = %v", job.Labels)
		}
	})
	t.Run("a manual selector is left alone", func(t *testing.T) {
		t.Parallel()
		job := &batchv1.Job{
			ObjectMeta: metav1.ObjectMeta{Name: "pi", UID: testUID},
			Spec: batchv1.JobSpec{
				ManualSelector: ptr.To(true),
				Selector:       &metav1.LabelSelector{MatchLabels: map[string]string{"app": "pi"}},
				Template:       testPodTemplate(),
			},
		}
		job.Spec.Template.Labels = map[string]string{"app": "pi"}
		job.Status.Active = 3
		jobStrategy{}.Default(job)
		jobStrategy{}.PrepareForCreate(t.Context(), job)
		if len(job.Spec.Template.Labels) != 1 || len(job.Spec.Selector.MatchLabels) != 1 || job.Status.Active != 0 {
			t.Errorf("job = %+v", job)
		}
		expectErrors(t, jobStrategy{}.Validate(t.Context(), job))
	})
}

var jobValidateCases = []struct {
	name   string
	mutate func(*batchv1.Job)
	want   []wantErr
}{
	{
		name:   "a template that restarts Always needs OnFailure or Never",
		mutate: func(j *batchv1.Job) { j.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyAlways },
		want:   []wantErr{{field.ErrorTypeRequired, "spec.template.spec.restartPolicy"}},
	},
	{
		name: "a pod failure policy needs restartPolicy Never",
		mutate: func(j *batchv1.Job) {
			j.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyOnFailure
			j.Spec.PodReplacementPolicy = ptr.To(batchv1.Failed)
			j.Spec.PodFailurePolicy = &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{{
				Action:      batchv1.PodFailurePolicyActionFailJob,
				OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{Operator: batchv1.PodFailurePolicyOnExitCodesOpIn, Values: []int32{42}},
			}}}
		},
		want: []wantErr{{field.ErrorTypeInvalid, "spec.template.spec.restartPolicy"}},
	},
	{
		name:   "negative parallelism is invalid",
		mutate: func(j *batchv1.Job) { j.Spec.Parallelism = ptr.To[int32](-1) },
		want:   []wantErr{{field.ErrorTypeInvalid, "spec.parallelism"}},
	},
	{
		name:   "negative completions are invalid",
		mutate: func(j *batchv1.Job) { j.Spec.Completions = ptr.To[int32](-1) },
		want:   []wantErr{{field.ErrorTypeInvalid, "spec.completions"}},
	},
	{
		name:   "a generated label the client changed is invalid",
		mutate: func(j *batchv1.Job) { j.Spec.Template.Labels["job-name"] = "other" },
		want:   []wantErr{{field.ErrorTypeInvalid, "spec.template.metadata.labels[job-name]"}},
	},
	{
		name:   "a generated selector needs the job's UID",
		mutate: func(j *batchv1.Job) { j.UID = "" },
		want: []wantErr{
			{field.ErrorTypeRequired, "metadata.uid"},
			{field.ErrorTypeInvalid, "spec.template.metadata.labels[controller-uid]"},
			{field.ErrorTypeInvalid, "spec.template.metadata.labels[batch.kubernetes.io/controller-uid]"},
			{field.ErrorTypeInvalid, "spec.selector"},
		},
	},
	{
		name: "a manual job without a selector needs one",
		mutate: func(j *batchv1.Job) {
			j.Spec.ManualSelector = ptr.To(true)
			j.Spec.Selector = nil
		},
		want: []wantErr{{field.ErrorTypeRequired, "spec.selector"}, {field.ErrorTypeInvalid, "spec.template.metadata.labels"}},
	},
	{
		name: "an indexed job needs completions",
		mutate: func(j *batchv1.Job) {
			j.Spec.CompletionMode = ptr.To(batchv1.IndexedCompletion)
			j.Spec.Completions = nil
		},
		want: []wantErr{{field.ErrorTypeRequired, "spec.completions"}},
	},
	{
		name: "an indexed job's pod hostnames must be DNS labels",
		mutate: func(j *batchv1.Job) {
			j.Name = strings.Repeat("x", 62)
			j.Spec.CompletionMode = ptr.To(batchv1.IndexedCompletion)
			j.Spec.Completions = ptr.To[int32](10)
			for _, k := range []string{"job-name", "batch.kubernetes.io/job-name"} {
				j.Spec.Template.Labels[k] = j.Name
			}
		},
		want: []wantErr{{field.ErrorTypeInvalid, "metadata.name"}},
	},
	{
		name:   "a per-index backoff limit requires indexed completion",
		mutate: func(j *batchv1.Job) { j.Spec.BackoffLimitPerIndex = ptr.To[int32](1) },
		want:   []wantErr{{field.ErrorTypeInvalid, "spec.backoffLimitPerIndex"}},
	},
	{
		name:   "an unknown completion mode is not supported",
		mutate: func(j *batchv1.Job) { j.Spec.CompletionMode = ptr.To(batchv1.CompletionMode("Sometimes")) },
		want:   []wantErr{{field.ErrorTypeNotSupported, "spec.completionMode"}},
	},
	{
		name: "pod failure policy rules need exit codes or pod conditions",
		mutate: func(j *batchv1.Job) {
			j.Spec.PodReplacementPolicy = ptr.To(batchv1.Failed)
			j.Spec.PodFailurePolicy = &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{{Action: batchv1.PodFailurePolicyActionIgnore}}}
		},
		want: []wantErr{{field.ErrorTypeInvalid, "spec.podFailurePolicy.rules[0]"}},
	},
	{
		name: "exit codes must be ordered and not 0 for In",
		mutate: func(j *batchv1.Job) {
			j.Spec.PodReplacementPolicy = ptr.To(batchv1.Failed)
			j.Spec.PodFailurePolicy = &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{{
				Action:      batchv1.PodFailurePolicyActionCount,
				OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{Operator: batchv1.PodFailurePolicyOnExitCodesOpIn, Values: []int32{5, 0}},
			}}}
		},
		want: []wantErr{
			{field.ErrorTypeInvalid, "spec.podFailurePolicy.rules[0].onExitCodes.values[1]"},
			{field.ErrorTypeInvalid, "spec.podFailurePolicy.rules[0].onExitCodes.values"},
		},
	},
	{
		name: "only Failed replacement works with a pod failure policy",
		mutate: func(j *batchv1.Job) {
			j.Spec.PodFailurePolicy = &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{{
				Action:      batchv1.PodFailurePolicyActionFailJob,
				OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{Operator: batchv1.PodFailurePolicyOnExitCodesOpNotIn, Values: []int32{0}},
			}}}
		},
		want: []wantErr{{field.ErrorTypeNotSupported, "spec.podReplacementPolicy"}},
	},
	{
		name: "a success policy requires indexed completion",
		mutate: func(j *batchv1.Job) {
			j.Spec.SuccessPolicy = &batchv1.SuccessPolicy{Rules: []batchv1.SuccessPolicyRule{{SucceededCount: ptr.To[int32](1)}}}
		},
		want: []wantErr{{field.ErrorTypeInvalid, "spec.successPolicy"}},
	},
	{
		name: "success policy indexes must be ordered and below completions",
		mutate: func(j *batchv1.Job) {
			j.Spec.CompletionMode = ptr.To(batchv1.IndexedCompletion)
			j.Spec.Completions = ptr.To[int32](5)
			j.Spec.SuccessPolicy = &batchv1.SuccessPolicy{Rules: []batchv1.SuccessPolicyRule{{SucceededIndexes: ptr.To("3,1-7")}}}
		},
		want: []wantErr{{field.ErrorTypeInvalid, "spec.successPolicy.rules[0].succeededIndexes"}},
	},
	{
		name:   "managedBy must be a domain-prefixed path",
		mutate: func(j *batchv1.Job) { j.Spec.ManagedBy = ptr.To("no-domain") },
		want:   []wantErr{{field.ErrorTypeInvalid, "spec.managedBy"}},
	},
}

func TestJobValidate(t *testing.T) {
	t.Parallel()
	for _, tc := range jobValidateCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			job := testJob(t)
			tc.mutate(job)
			expectErrors(t, jobStrategy{}.Validate(t.Context(), job), tc.want...)
		})
	}
	t.Run("the restart policy message lists the valid values", func(t *testing.T) {
		t.Parallel()
		job := testJob(t)
		job.Spec.Template.Spec.RestartPolicy = ""
		expectDetail(t, jobStrategy{}.Validate(t.Context(), job), "spec.template.spec.restartPolicy", `valid values: "OnFailure", "Never"`)
	})
}

func suspended(j *batchv1.Job) { j.Spec.Suspend = ptr.To(true) }

func indexed(j *batchv1.Job) {
	j.Spec.CompletionMode = ptr.To(batchv1.IndexedCompletion)
	j.Spec.Completions, j.Spec.Parallelism = ptr.To[int32](3), ptr.To[int32](3)
}

var jobUpdateCases = []struct {
	name       string
	setup      func(*batchv1.Job)
	mutate     func(*batchv1.Job)
	want       []wantErr
	wantDetail string
}{
	{
		name:   "parallelism may change",
		mutate: func(j *batchv1.Job) { j.Spec.Parallelism = ptr.To[int32](4) },
	},
	{
		name:       "completions are immutable",
		mutate:     func(j *batchv1.Job) { j.Spec.Completions = ptr.To[int32](2) },
		want:       []wantErr{{field.ErrorTypeInvalid, "spec.completions"}},
		wantDetail: "field is immutable",
	},
	{
		name:   "an indexed job may scale completions together with parallelism",
		setup:  indexed,
		mutate: func(j *batchv1.Job) { j.Spec.Completions, j.Spec.Parallelism = ptr.To[int32](5), ptr.To[int32](5) },
	},
	{
		name:       "an indexed job may not scale completions alone",
		setup:      indexed,
		mutate:     func(j *batchv1.Job) { j.Spec.Completions = ptr.To[int32](5) },
		want:       []wantErr{{field.ErrorTypeInvalid, "spec.completions"}},
		wantDetail: "can only be modified in tandem with spec.parallelism",
	},
	{
		name:       "the selector is immutable",
		mutate:     func(j *batchv1.Job) { j.Spec.Selector.MatchLabels["job-name"] = "pi" },
		want:       []wantErr{{field.ErrorTypeInvalid, "spec.selector"}},
		wantDetail: "field is immutable",
	},
	{
		name:       "the template is immutable",
		mutate:     func(j *batchv1.Job) { j.Spec.Template.Spec.Containers[0].Image = "perl:5.40" },
		want:       []wantErr{{field.ErrorTypeInvalid, "spec.template"}},
		wantDetail: "field is immutable",
	},
	{
		name:   "a suspended job that never started may change where its pods run",
		setup:  suspended,
		mutate: func(j *batchv1.Job) { j.Spec.Template.Spec.NodeSelector = map[string]string{"zone": "a"} },
	},
	{
		name:   "a suspended job may still not change its containers",
		setup:  suspended,
		mutate: func(j *batchv1.Job) { j.Spec.Template.Spec.Containers[0].Image = "perl:5.40" },
		want:   []wantErr{{field.ErrorTypeInvalid, "spec.template"}},
	},
	{
		name: "a suspended job that already started may not change where its pods run",
		setup: func(j *batchv1.Job) {
			suspended(j)
			j.Status.StartTime = &metav1.Time{Time: time.Unix(1, 0)}
		},
		mutate: func(j *batchv1.Job) { j.Spec.Template.Spec.NodeSelector = map[string]string{"zone": "a"} },
		want:   []wantErr{{field.ErrorTypeInvalid, "spec.template"}},
	},
	{
		name:   "the completion mode is immutable",
		mutate: func(j *batchv1.Job) { j.Spec.CompletionMode = ptr.To(batchv1.IndexedCompletion) },
		want:   []wantErr{{field.ErrorTypeInvalid, "spec.completionMode"}},
	},
}

func TestJobValidateUpdate(t *testing.T) {
	t.Parallel()
	for _, tc := range jobUpdateCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			old := testJob(t)
			if tc.setup != nil {
				tc.setup(old)
			}
			job := old.DeepCopy()
			tc.mutate(job)
			errs := jobStrategy{}.ValidateUpdate(t.Context(), job, old)
			expectErrors(t, errs, tc.want...)
			if tc.wantDetail != "" {
				expectDetail(t, errs, tc.want[0].field, tc.wantDetail)
			}
		})
	}
}

func TestJobStatusUpdate(t *testing.T) {
	t.Parallel()
	complete := []batchv1.JobCondition{{Type: batchv1.JobComplete, Status: corev1.ConditionTrue}}
	start := &metav1.Time{Time: time.Unix(100, 0)}
	tests := []struct {
		name        string
		status, old batchv1.JobStatus
		want        []wantErr
	}{
		{name: "counting progress is valid", status: batchv1.JobStatus{Active: 2, Ready: ptr.To[int32](1), Succeeded: 1}, old: batchv1.JobStatus{Active: 3}},
		{
			name:   "the failed counter may not decrease",
			status: batchv1.JobStatus{Failed: 1}, old: batchv1.JobStatus{Failed: 2},
			want: []wantErr{{field.ErrorTypeInvalid, "status.failed"}},
		},
		{
			name:   "a terminal condition may not be removed",
			status: batchv1.JobStatus{StartTime: start}, old: batchv1.JobStatus{StartTime: start, Conditions: complete},
			want: []wantErr{{field.ErrorTypeInvalid, "status.conditions"}},
		},
		{
			name:   "a finished job may not have active pods",
			status: batchv1.JobStatus{Conditions: complete, StartTime: start, Active: 1},
			want:   []wantErr{{field.ErrorTypeInvalid, "status.active"}},
		},
		{
			name:   "ready pods may not outnumber active pods",
			status: batchv1.JobStatus{Active: 1, Ready: ptr.To[int32](2)},
			want:   []wantErr{{field.ErrorTypeInvalid, "status.ready"}},
		},
		{
			name: "uncounted pods may not repeat",
			status: batchv1.JobStatus{UncountedTerminatedPods: &batchv1.UncountedTerminatedPods{
				Succeeded: []types.UID{"a"}, Failed: []types.UID{"a"},
			}},
			want: []wantErr{{field.ErrorTypeDuplicate, "status.uncountedTerminatedPods.failed[0]"}},
		},
		{
			name:   "completed indexes need an indexed job",
			status: batchv1.JobStatus{CompletedIndexes: "0"},
			want:   []wantErr{{field.ErrorTypeInvalid, "status.completedIndexes"}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			old := testJob(t)
			old.Status = tc.old
			job := old.DeepCopy()
			job.Status = tc.status
			expectErrors(t, jobStrategy{}.ValidateStatusUpdate(t.Context(), job, old), tc.want...)
		})
	}
}

func TestJobTable(t *testing.T) {
	t.Parallel()
	r := Resources()[0]
	now := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	at := func(d time.Duration) *metav1.Time { return &metav1.Time{Time: now.Add(-d)} }
	cond := func(t batchv1.JobConditionType) []batchv1.JobCondition {
		return []batchv1.JobCondition{{Type: t, Status: corev1.ConditionTrue}}
	}
	tests := []struct {
		name                              string
		mutate                            func(*batchv1.Job)
		status, completions, durationCell string
	}{
		{name: "a new job is Running without a duration", mutate: func(*batchv1.Job) {}, status: "Running", completions: "0/1"},
		{
			name: "a running job's duration grows with now",
			mutate: func(j *batchv1.Job) {
				j.Status.StartTime = at(2 * time.Minute)
			},
			status: "Running", completions: "0/1", durationCell: "2m",
		},
		{
			name: "a complete job shows how long it took",
			mutate: func(j *batchv1.Job) {
				j.Status = batchv1.JobStatus{Succeeded: 1, Conditions: cond(batchv1.JobComplete), StartTime: at(time.Hour), CompletionTime: at(time.Hour - 45*time.Second)}
			},
			status: "Complete", completions: "1/1", durationCell: "45s",
		},
		{
			name:   "a work queue shows its parallelism",
			mutate: func(j *batchv1.Job) { j.Spec.Completions, j.Spec.Parallelism = nil, ptr.To[int32](3) },
			status: "Running", completions: "0/1 of 3",
		},
		{
			name:   "a suspended job is Suspended",
			mutate: func(j *batchv1.Job) { j.Status.Conditions = cond(batchv1.JobSuspended) },
			status: "Suspended", completions: "0/1",
		},
		{
			name: "a job being deleted is Terminating unless it finished",
			mutate: func(j *batchv1.Job) {
				j.DeletionTimestamp = at(0)
				j.Status.Conditions = cond(batchv1.JobFailureTarget)
			},
			status: "Terminating", completions: "0/1",
		},
		{
			name:   "a failed job is Failed",
			mutate: func(j *batchv1.Job) { j.Status.Conditions = cond(batchv1.JobFailed) },
			status: "Failed", completions: "0/1",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			job := testJob(t)
			job.CreationTimestamp = metav1.NewTime(now.Add(-time.Hour))
			tc.mutate(job)
			want := []any{"pi", tc.status, tc.completions, tc.durationCell, "60m", "pi", "perl:5.34", "batch.kubernetes.io/controller-uid=" + string(testUID)}
			if got := r.Table.Row(job, now); !reflect.DeepEqual(got, want) {
				t.Errorf("row = %#v, want %#v", got, want)
			}
		})
	}
	t.Run("status.successful is a field selector and jobs are in category all", func(t *testing.T) {
		t.Parallel()
		job := testJob(t)
		job.Status.Succeeded = 2
		if got := r.Fields(job); !reflect.DeepEqual(got, fields.Set{"status.successful": "2"}) {
			t.Errorf("fields = %v", got)
		}
		if r.Plural != "jobs" || !reflect.DeepEqual(r.Categories, []string{"all"}) || len(r.ShortNames) != 0 {
			t.Errorf("identity = %+v", r)
		}
	})
}
