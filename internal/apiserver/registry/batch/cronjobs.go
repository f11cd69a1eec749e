package batch

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	batchv1beta1 "k8s.io/api/batch/v1beta1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"

	"capstan/internal/apiserver/registry"
)

// maxCronJobNameLength leaves room for the 11-character "-<timestamp>" suffix of the job
// names the controller creates, which are DNS labels of at most 63 characters.
const maxCronJobNameLength = 52

var cronSpecPath = field.NewPath("spec")

func cronJobs() registry.Resource {
	return registry.Resource{
		GVK:        batchv1.SchemeGroupVersion.WithKind("CronJob"),
		Plural:     "cronjobs",
		Singular:   "cronjob",
		Namespaced: true,
		ShortNames: []string{"cj"},
		Categories: []string{"all"},
		Status:     true,
		Strategy:   cronJobStrategy{},
		Table:      cronJobTable,
	}
}

type cronJobStrategy struct{ registry.DefaultStrategy }

// Default sets the batch/v1 defaults. The job template gets the pod defaults but not the
// job-level ones: those are applied to each job the controller creates.
func (cronJobStrategy) Default(obj runtime.Object) {
	cj := obj.(*batchv1.CronJob)
	if cj.Spec.ConcurrencyPolicy == "" {
		cj.Spec.ConcurrencyPolicy = batchv1.AllowConcurrent
	}
	if cj.Spec.Suspend == nil {
		cj.Spec.Suspend = ptr.To(false)
	}
	if cj.Spec.SuccessfulJobsHistoryLimit == nil {
		cj.Spec.SuccessfulJobsHistoryLimit = ptr.To[int32](3)
	}
	if cj.Spec.FailedJobsHistoryLimit == nil {
		cj.Spec.FailedJobsHistoryLimit = ptr.To[int32](1)
	}
	defaultJobSpecParts(&cj.Spec.JobTemplate.Spec)
}

func (cronJobStrategy) Validate(_ context.Context, obj runtime.Object) field.ErrorList {
	cj := obj.(*batchv1.CronJob)
	errs := validateCronJobSpec(&cj.Spec, nil)
	if len(cj.Name) > maxCronJobNameLength {
		errs = append(errs, field.Invalid(field.NewPath("metadata", "name"), cj.Name,
			fmt.Sprintf("must be no more than %d characters", maxCronJobNameLength)))
	}
	return errs
}

// ValidateUpdate skips the name length check so that older, longer-named cronjobs can still
// be updated and deleted.
func (cronJobStrategy) ValidateUpdate(_ context.Context, obj, old runtime.Object) field.ErrorList {
	return validateCronJobSpec(&obj.(*batchv1.CronJob).Spec, &old.(*batchv1.CronJob).Spec)
}

// validateCronJobSpec checks a spec; old is the stored spec on update, nil on create.
func validateCronJobSpec(spec, old *batchv1.CronJobSpec) field.ErrorList {
	var errs field.ErrorList
	if spec.Schedule == "" {
		errs = append(errs, field.Required(cronSpecPath.Child("schedule"), ""))
	} else {
		// Schedules with TZ= were accepted once; keep accepting them on objects that have one.
		allowTZ := old != nil && strings.Contains(old.Schedule, "TZ")
		errs = append(errs, validateSchedule(spec.Schedule, allowTZ, spec.TimeZone)...)
	}
	errs = append(errs, nonNegativePtr(spec.StartingDeadlineSeconds, cronSpecPath.Child("startingDeadlineSeconds"))...)
	if old == nil || !ptr.Equal(old.TimeZone, spec.TimeZone) {
		errs = append(errs, validateTimeZone(spec.TimeZone, cronSpecPath.Child("timeZone"))...)
	}
	switch policy := spec.ConcurrencyPolicy; policy {
	case batchv1.AllowConcurrent, batchv1.ForbidConcurrent, batchv1.ReplaceConcurrent:
	case "":
		errs = append(errs, field.Required(cronSpecPath.Child("concurrencyPolicy"), ""))
	default:
		errs = append(errs, field.NotSupported(cronSpecPath.Child("concurrencyPolicy"), policy,
			[]batchv1.ConcurrencyPolicy{batchv1.AllowConcurrent, batchv1.ForbidConcurrent, batchv1.ReplaceConcurrent}))
	}
	errs = append(errs, validateJobTemplate(&spec.JobTemplate, cronSpecPath.Child("jobTemplate"))...)
	errs = append(errs, nonNegativePtr(spec.SuccessfulJobsHistoryLimit, cronSpecPath.Child("successfulJobsHistoryLimit"))...)
	return append(errs, nonNegativePtr(spec.FailedJobsHistoryLimit, cronSpecPath.Child("failedJobsHistoryLimit"))...)
}

// validateJobTemplate checks a job template; its selector is generated per job.
func validateJobTemplate(tmpl *batchv1.JobTemplateSpec, path *field.Path) field.ErrorList {
	specPath := path.Child("spec")
	errs := validateJobSpec(&tmpl.Spec, specPath)
	if tmpl.Spec.Selector != nil {
		errs = append(errs, field.Invalid(specPath.Child("selector"), tmpl.Spec.Selector, "`selector` will be auto-generated"))
	}
	if ptr.Deref(tmpl.Spec.ManualSelector, false) {
		errs = append(errs, field.NotSupported(specPath.Child("manualSelector"), tmpl.Spec.ManualSelector, []string{"nil", "false"}))
	}
	return errs
}

func validateSchedule(schedule string, allowTZ bool, timeZone *string) field.ErrorList {
	path := cronSpecPath.Child("schedule")
	var errs field.ErrorList
	if _, err := ParseSchedule(schedule); err != nil {
		errs = append(errs, field.Invalid(path, schedule, err.Error()))
	}
	switch hasTZ := strings.Contains(schedule, "TZ"); {
	case allowTZ && hasTZ && timeZone != nil:
		errs = append(errs, field.Invalid(path, schedule, "cannot use both timeZone field and TZ or CRON_TZ in schedule"))
	case !allowTZ && hasTZ:
		errs = append(errs, field.Invalid(path, schedule, "cannot use TZ or CRON_TZ in schedule, use timeZone field instead"))
	}
	return errs
}

// timeZonePart is one component of an IANA time zone name; digits and '+' are tolerated for
// legacy names such as Etc/GMT+5.
var timeZonePart = regexp.MustCompile(`^[A-Za-z\.\-_0-9+]{1,14}$`)

func validateTimeZone(tz *string, path *field.Path) field.ErrorList {
	if tz == nil {
		return nil
	}
	if *tz == "" {
		return field.ErrorList{field.Invalid(path, tz, "timeZone must be nil or non-empty string")}
	}
	for _, part := range strings.Split(*tz, "/") {
		if part == "." || part == ".." || strings.HasPrefix(part, "-") || !timeZonePart.MatchString(part) {
			return field.ErrorList{field.Invalid(path, tz, "unknown time zone "+*tz)}
		}
	}
	var errs field.ErrorList
	if strings.EqualFold(*tz, "Local") {
		errs = append(errs, field.Invalid(path, tz, "timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones"))
	}
	if _, err := time.LoadLocation(*tz); err != nil {
		errs = append(errs, field.Invalid(path, tz, err.Error()))
	}
	return errs
}

var cronJobTable = &registry.Table{
	Columns: []metav1.TableColumnDefinition{
		registry.NameColumn,
		{Name: "Schedule", Type: "string", Description: batchv1beta1.CronJobSpec{}.SwaggerDoc()["schedule"]},
		{Name: "Timezone", Type: "string", Description: batchv1beta1.CronJobSpec{}.SwaggerDoc()["timeZone"]},
		{Name: "Suspend", Type: "boolean", Description: batchv1beta1.CronJobSpec{}.SwaggerDoc()["suspend"]},
		{Name: "Active", Type: "integer", Description: batchv1beta1.CronJobStatus{}.SwaggerDoc()["active"]},
		{Name: "Last Schedule", Type: "string", Description: batchv1beta1.CronJobStatus{}.SwaggerDoc()["lastScheduleTime"]},
		registry.AgeColumn,
		{Name: "Containers", Type: "string", Priority: 1, Description: containersDescription},
		{Name: "Images", Type: "string", Priority: 1, Description: imagesDescription},
		{Name: "Selector", Type: "string", Priority: 1, Description: batchv1.JobSpec{}.SwaggerDoc()["selector"]},
	},
	Row: func(obj runtime.Object, now time.Time) []any {
		cj := obj.(*batchv1.CronJob)
		lastSchedule := "<none>"
		if t := cj.Status.LastScheduleTime; t != nil {
			lastSchedule = registry.Age(*t, now)
		}
		timeZone := "<none>"
		if cj.Spec.TimeZone != nil {
			timeZone = *cj.Spec.TimeZone
		}
		suspend := "<unset>"
		if cj.Spec.Suspend != nil {
			suspend = "False"
			if *cj.Spec.Suspend {
				suspend = "True"
			}
		}
		jobSpec := &cj.Spec.JobTemplate.Spec
		names, images := containerCells(&jobSpec.Template.Spec)
		return []any{
			cj.Name, cj.Spec.Schedule, timeZone, suspend, int64(len(cj.Status.Active)), lastSchedule,
			registry.Age(cj.CreationTimestamp, now),
			names, images, metav1.FormatLabelSelector(jobSpec.Selector),
		}
	},
}
