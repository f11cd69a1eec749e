package batch

import (
	"reflect"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"
)

func testCronJob() *batchv1.CronJob {
	cj := &batchv1.CronJob{
		ObjectMeta: metav1.ObjectMeta{Name: "backup", Namespace: "default"},
		Spec: batchv1.CronJobSpec{
			Schedule:    "*/5 * * * *",
			JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: testPodTemplate()}},
		},
	}
	cronJobStrategy{}.Default(cj)
	return cj
}

func TestCronJobDefaults(t *testing.T) {
	t.Parallel()
	t.Run("an empty cronjob allows concurrency, is not suspended and keeps 3 successful and 1 failed job", func(t *testing.T) {
		t.Parallel()
		cj := &batchv1.CronJob{}
		cronJobStrategy{}.Default(cj)
		cj.Spec.JobTemplate.Spec.Template = corev1.PodTemplateSpec{} // pod defaults belong to package core
		want := batchv1.CronJobSpec{
			ConcurrencyPolicy:          batchv1.AllowConcurrent,
			Suspend:                    ptr.To(false),
			SuccessfulJobsHistoryLimit: ptr.To[int32](3),
			FailedJobsHistoryLimit:     ptr.To[int32](1),
		}
		if !reflect.DeepEqual(cj.Spec, want) {
			t.Errorf("defaulted spec = %+v, want %+v", cj.Spec, want)
		}
	})
	t.Run("the job template does not get job-level defaults", func(t *testing.T) {
		t.Parallel()
		cj := testCronJob()
		if s := cj.Spec.JobTemplate.Spec; s.Completions != nil || s.BackoffLimit != nil || s.ManualSelector != nil {
			t.Errorf("job template spec = %+v", s)
		}
	})
}

var cronJobValidateCases = []struct {
	name   string
	mutate func(*batchv1.CronJob)
	want   []wantErr
}{
	{name: "a complete cronjob is valid", mutate: func(*batchv1.CronJob) {}},
	{name: "a descriptor schedule is valid", mutate: func(cj *batchv1.CronJob) { cj.Spec.Schedule = "@hourly" }},
	{name: "an IANA time zone is valid", mutate: func(cj *batchv1.CronJob) { cj.Spec.TimeZone = ptr.To("Europe/Paris") }},
	{
		name:   "a schedule is required",
		mutate: func(cj *batchv1.CronJob) { cj.Spec.Schedule = "" },
		want:   []wantErr{{field.ErrorTypeRequired, "spec.schedule"}},
	},
	{
		name:   "a schedule that does not parse is invalid",
		mutate: func(cj *batchv1.CronJob) { cj.Spec.Schedule = "every day" },
		want:   []wantErr{{field.ErrorTypeInvalid, "spec.schedule"}},
	},
	{
		name:   "a time zone in the schedule is invalid on create",
		mutate: func(cj *batchv1.CronJob) { cj.Spec.Schedule = "TZ=UTC 0 * * * *" },
		want:   []wantErr{{field.ErrorTypeInvalid, "spec.schedule"}},
	},
	{
		name:   "an unknown time zone is invalid",
		mutate: func(cj *batchv1.CronJob) { cj.Spec.TimeZone = ptr.To("Mars/Olympus") },
		want:   []wantErr{{field.ErrorTypeInvalid, "spec.timeZone"}},
	},
	{
		name:   "the Local time zone is invalid",
		mutate: func(cj *batchv1.CronJob) { cj.Spec.TimeZone = ptr.To("Local") },
		want:   []wantErr{{field.ErrorTypeInvalid, "spec.timeZone"}},
	},
	{
		name:   "an empty time zone is invalid",
		mutate: func(cj *batchv1.CronJob) { cj.Spec.TimeZone = ptr.To("") },
		want:   []wantErr{{field.ErrorTypeInvalid, "spec.timeZone"}},
	},
	{
		name:   "an unknown concurrency policy is not supported",
		mutate: func(cj *batchv1.CronJob) { cj.Spec.ConcurrencyPolicy = "Sometimes" },
		want:   []wantErr{{field.ErrorTypeNotSupported, "spec.concurrencyPolicy"}},
	},
	{
		name:   "a negative starting deadline is invalid",
		mutate: func(cj *batchv1.CronJob) { cj.Spec.StartingDeadlineSeconds = ptr.To[int64](-1) },
		want:   []wantErr{{field.ErrorTypeInvalid, "spec.startingDeadlineSeconds"}},
	},
	{
		name:   "a negative history limit is invalid",
		mutate: func(cj *batchv1.CronJob) { cj.Spec.FailedJobsHistoryLimit = ptr.To[int32](-1) },
		want:   []wantErr{{field.ErrorTypeInvalid, "spec.failedJobsHistoryLimit"}},
	},
	{
		name: "the job template selector is generated, not given",
		mutate: func(cj *batchv1.CronJob) {
			cj.Spec.JobTemplate.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"a": "b"}}
		},
		want: []wantErr{{field.ErrorTypeInvalid, "spec.jobTemplate.spec.selector"}},
	},
	{
		name:   "the job template may not use a manual selector",
		mutate: func(cj *batchv1.CronJob) { cj.Spec.JobTemplate.Spec.ManualSelector = ptr.To(true) },
		want:   []wantErr{{field.ErrorTypeNotSupported, "spec.jobTemplate.spec.manualSelector"}},
	},
	{
		name: "the job template follows the job rules",
		mutate: func(cj *batchv1.CronJob) {
			cj.Spec.JobTemplate.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyAlways
			cj.Spec.JobTemplate.Spec.Parallelism = ptr.To[int32](-2)
		},
		want: []wantErr{
			{field.ErrorTypeRequired, "spec.jobTemplate.spec.template.spec.restartPolicy"},
			{field.ErrorTypeInvalid, "spec.jobTemplate.spec.parallelism"},
		},
	},
	{
		name:   "names longer than 52 characters are invalid",
		mutate: func(cj *batchv1.CronJob) { cj.Name = strings.Repeat("n", 53) },
		want:   []wantErr{{field.ErrorTypeInvalid, "metadata.name"}},
	},
}

func TestCronJobValidate(t *testing.T) {
	t.Parallel()
	for _, tc := range cronJobValidateCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cj := testCronJob()
			tc.mutate(cj)
			expectErrors(t, cronJobStrategy{}.Validate(t.Context(), cj), tc.want...)
		})
	}
	t.Run("schedule errors carry the parser's message", func(t *testing.T) {
		t.Parallel()
		cj := testCronJob()
		cj.Spec.Schedule = "61 * * * *"
		expectDetail(t, cronJobStrategy{}.Validate(t.Context(), cj), "spec.schedule", "end of range (61) above maximum (59): 61")
	})
}

func TestCronJobValidateUpdate(t *testing.T) {
	t.Parallel()
	t.Run("a long name from before the limit may still be updated", func(t *testing.T) {
		t.Parallel()
		old := testCronJob()
		old.Name = strings.Repeat("n", 60)
		cj := old.DeepCopy()
		cj.Spec.Suspend = ptr.To(true)
		expectErrors(t, cronJobStrategy{}.ValidateUpdate(t.Context(), cj, old))
	})
	t.Run("a schedule that already had TZ may keep it", func(t *testing.T) {
		t.Parallel()
		old := testCronJob()
		old.Spec.Schedule = "TZ=UTC 0 * * * *"
		cj := old.DeepCopy()
		cj.Spec.Schedule = "TZ=UTC 30 * * * *"
		expectErrors(t, cronJobStrategy{}.ValidateUpdate(t.Context(), cj, old))
	})
	t.Run("a TZ schedule may not be combined with the timeZone field", func(t *testing.T) {
		t.Parallel()
		old := testCronJob()
		old.Spec.Schedule = "TZ=UTC 0 * * * *"
		cj := old.DeepCopy()
		cj.Spec.TimeZone = ptr.To("UTC")
		expectErrors(t, cronJobStrategy{}.ValidateUpdate(t.Context(), cj, old), wantErr{field.ErrorTypeInvalid, "spec.schedule"})
	})
	t.Run("an update must still pass the create checks", func(t *testing.T) {
		t.Parallel()
		old := testCronJob()
		cj := old.DeepCopy()
		cj.Spec.Schedule = "@sometimes"
		expectErrors(t, cronJobStrategy{}.ValidateUpdate(t.Context(), cj, old), wantErr{field.ErrorTypeInvalid, "spec.schedule"})
	})
}

func TestCronJobTable(t *testing.T) {
	t.Parallel()
	r := Resources()[1]
	now := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	t.Run("a cronjob that never ran shows <none>", func(t *testing.T) {
		t.Parallel()
		cj := testCronJob()
		cj.CreationTimestamp = metav1.NewTime(now.Add(-2 * time.Hour))
		want := []any{"backup", "*/5 * * * *", "<none>", "False", int64(0), "<none>", "120m", "pi", "perl:5.34", "<none>"}
		if got := r.Table.Row(cj, now); !reflect.DeepEqual(got, want) {
			t.Errorf("row = %#v, want %#v", got, want)
		}
	})
	t.Run("a suspended cronjob with a zone and a running job", func(t *testing.T) {
		t.Parallel()
		cj := testCronJob()
		cj.CreationTimestamp = metav1.NewTime(now.Add(-72 * time.Hour))
		cj.Spec.TimeZone = ptr.To("Etc/UTC")
		cj.Spec.Suspend = ptr.To(true)
		cj.Status.Active = []corev1.ObjectReference{{Name: "backup-1"}}
		cj.Status.LastScheduleTime = &metav1.Time{Time: now.Add(-4 * time.Minute)}
		want := []any{"backup", "*/5 * * * *", "Etc/UTC", "True", int64(1), "4m", "3d", "pi", "perl:5.34", "<none>"}
		if got := r.Table.Row(cj, now); !reflect.DeepEqual(got, want) {
			t.Errorf("row = %#v, want %#v", got, want)
		}
	})
	t.Run("the resource is cj in category all", func(t *testing.T) {
		t.Parallel()
		if r.Plural != "cronjobs" || !reflect.DeepEqual(r.ShortNames, []string{"cj"}) || !reflect.DeepEqual(r.Categories, []string{"all"}) {
			t.Errorf("identity = %+v", r)
		}
		var names []string
		for _, c := range r.Table.Columns {
			names = append(names, c.Name)
		}
		want := []string{"Name", "Schedule", "Timezone", "Suspend", "Active", "Last Schedule", "Age", "Containers", "Images", "Selector"}
		if !reflect.DeepEqual(names, want) {
			t.Errorf("columns = %v", names)
		}
	})
}
