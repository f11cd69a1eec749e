package batch

import (
	"context"
	"fmt"
	"maps"
	"math"
	"strconv"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/duration"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"

	"capstan/internal/apiserver/registry"
)

// The unprefixed labels the job controller has always put on its pods, next to
// batchv1.JobNameLabel and batchv1.ControllerUidLabel.
const (
	legacyJobNameLabel       = "job-name"
	legacyControllerUIDLabel = "controller-uid"
)

var (
	jobSpecPath     = field.NewPath("spec")
	jobTemplatePath = jobSpecPath.Child("template")
)

func jobs() registry.Resource {
	return registry.Resource{
		GVK:        batchv1.SchemeGroupVersion.WithKind("Job"),
		Plural:     "jobs",
		Singular:   "job",
		Namespaced: true,
		Categories: []string{"all"},
		Status:     true,
		Strategy:   jobStrategy{},
		Table:      jobTable,
		Fields: func(obj runtime.Object) fields.Set {
			return fields.Set{"status.successful": strconv.Itoa(int(obj.(*batchv1.Job).Status.Succeeded))}
		},
	}
}

type jobStrategy struct{ registry.DefaultStrategy }

// Default sets the batch/v1 defaults. A job with neither completions nor parallelism runs
// one pod to completion; one with only parallelism keeps completions unset (a work queue).
func (jobStrategy) Default(obj runtime.Object) {
	job := obj.(*batchv1.Job)
	spec := &job.Spec
	if spec.Completions == nil && spec.Parallelism == nil {
		spec.Completions = ptr.To[int32](1)
	}
	if spec.Parallelism == nil {
		spec.Parallelism = ptr.To[int32](1)
	}
	if spec.BackoffLimit == nil {
		if spec.BackoffLimitPerIndex != nil {
			spec.BackoffLimit = ptr.To[int32](math.MaxInt32)
		} else {
			spec.BackoffLimit = ptr.To[int32](6)
		}
	}
	if spec.Template.Labels != nil && len(job.Labels) == 0 {
		job.Labels = maps.Clone(spec.Template.Labels)
	}
	if spec.CompletionMode == nil {
		spec.CompletionMode = ptr.To(batchv1.NonIndexedCompletion)
	}
	if spec.Suspend == nil {
		spec.Suspend = ptr.To(false)
	}
	if spec.PodReplacementPolicy == nil {
		if spec.PodFailurePolicy != nil {
			spec.PodReplacementPolicy = ptr.To(batchv1.Failed)
		} else {
			spec.PodReplacementPolicy = ptr.To(batchv1.TerminatingOrFailed)
		}
	}
	if spec.ManualSelector == nil {
		spec.ManualSelector = ptr.To(false)
	}
	defaultJobSpecParts(spec)
}

// PrepareForCreate clears status and, unless the client manages the selector itself,
// generates a selector on the job's UID (set by the store before this call) and labels the
// template to match. A job whose labels come from its template gets the generated labels
// too, as upstream jobs show them. It drops spec.scheduling, whose alpha feature is off.
func (s jobStrategy) PrepareForCreate(ctx context.Context, obj runtime.Object) {
	s.DefaultStrategy.PrepareForCreate(ctx, obj)
	job := obj.(*batchv1.Job)
	job.Spec.Scheduling = nil
	if ptr.Deref(job.Spec.ManualSelector, false) {
		return
	}
	fromTemplate := len(job.Labels) == 0 || maps.Equal(job.Labels, job.Spec.Template.Labels)
	generateSelector(job)
	if fromTemplate {
		job.Labels = maps.Clone(job.Spec.Template.Labels)
	}
}

// PrepareForUpdate keeps status and keeps spec.scheduling unset unless it already was set.
func (s jobStrategy) PrepareForUpdate(ctx context.Context, obj, old runtime.Object) {
	s.DefaultStrategy.PrepareForUpdate(ctx, obj, old)
	if old.(*batchv1.Job).Spec.Scheduling == nil {
		obj.(*batchv1.Job).Spec.Scheduling = nil
	}
}

// generateSelector labels the template with the job's name and UID (prefixed and legacy
// keys, keeping values the client set so that conflicts fail validation) and selects the
// prefixed UID label.
func generateSelector(job *batchv1.Job) {
	if job.Spec.Template.Labels == nil {
		job.Spec.Template.Labels = map[string]string{}
	}
	for key, value := range map[string]string{
		legacyJobNameLabel:         job.Name,
		batchv1.JobNameLabel:       job.Name,
		legacyControllerUIDLabel:   string(job.UID),
		batchv1.ControllerUidLabel: string(job.UID),
	} {
		if _, found := job.Spec.Template.Labels[key]; !found {
			job.Spec.Template.Labels[key] = value
		}
	}
	if job.Spec.Selector == nil {
		job.Spec.Selector = &metav1.LabelSelector{}
	}
	if job.Spec.Selector.MatchLabels == nil {
		job.Spec.Selector.MatchLabels = map[string]string{}
	}
	if _, found := job.Spec.Selector.MatchLabels[batchv1.ControllerUidLabel]; !found {
		job.Spec.Selector.MatchLabels[batchv1.ControllerUidLabel] = string(job.UID)
	}
}

func (jobStrategy) Validate(_ context.Context, obj runtime.Object) field.ErrorList {
	return validateJob(obj.(*batchv1.Job), true)
}

func (jobStrategy) ValidateUpdate(_ context.Context, obj, old runtime.Object) field.ErrorList {
	job, oldJob := obj.(*batchv1.Job), old.(*batchv1.Job)
	// Jobs created before the prefixed labels existed need not carry them.
	_, hadName := oldJob.Spec.Template.Labels[batchv1.JobNameLabel]
	_, hadUID := oldJob.Spec.Template.Labels[batchv1.ControllerUidLabel]
	errs := validateJob(job, hadName && hadUID)
	return append(errs, validateJobSpecUpdate(&job.Spec, oldJob)...)
}

func (jobStrategy) ValidateStatusUpdate(_ context.Context, obj, old runtime.Object) field.ErrorList {
	return validateJobStatusUpdate(obj.(*batchv1.Job), old.(*batchv1.Job))
}

func validateJob(job *batchv1.Job, requirePrefixedLabels bool) field.ErrorList {
	errs := validateGeneratedSelector(job, requirePrefixedLabels)
	errs = append(errs, validateJobSpec(&job.Spec, jobSpecPath)...)
	if job.Spec.Selector == nil {
		errs = append(errs, field.Required(jobSpecPath.Child("selector"), ""))
	} else {
		errs = append(errs, metav1validation.ValidateLabelSelector(job.Spec.Selector,
			metav1validation.LabelSelectorValidationOptions{}, jobSpecPath.Child("selector"))...)
	}
	if selector, err := metav1.LabelSelectorAsSelector(job.Spec.Selector); err == nil && !selector.Matches(labels.Set(job.Spec.Template.Labels)) {
		errs = append(errs, field.Invalid(jobTemplatePath.Child("metadata", "labels"), job.Spec.Template.Labels,
			"`selector` does not match template `labels`"))
	}
	// Indexed pods use <job>-<index> as their hostname.
	if isIndexed(&job.Spec) && ptr.Deref(job.Spec.Completions, 0) > 0 {
		hostname := fmt.Sprintf("%s-%d", job.Name, *job.Spec.Completions-1)
		if len(utilvalidation.IsDNS1123Label(hostname)) > 0 {
			errs = append(errs, field.Invalid(field.NewPath("metadata", "name"), job.Name,
				"will not able to create pod with invalid DNS label: "+hostname))
		}
	}
	return errs
}

// validateGeneratedSelector checks that a generated selector and the template labels still
// name this job.
func validateGeneratedSelector(job *batchv1.Job, requirePrefixedLabels bool) field.ErrorList {
	if ptr.Deref(job.Spec.ManualSelector, false) || job.Spec.Selector == nil {
		return nil
	}
	var errs field.ErrorList
	if job.UID == "" {
		errs = append(errs, field.Required(field.NewPath("metadata", "uid"), ""))
	}
	expected := map[string]string{legacyControllerUIDLabel: string(job.UID), legacyJobNameLabel: job.Name}
	if requirePrefixedLabels {
		expected[batchv1.ControllerUidLabel] = string(job.UID)
		expected[batchv1.JobNameLabel] = job.Name
	}
	labelsPath := jobTemplatePath.Child("metadata", "labels")
	for _, key := range []string{legacyControllerUIDLabel, legacyJobNameLabel, batchv1.ControllerUidLabel, batchv1.JobNameLabel} {
		want, ok := expected[key]
		if !ok {
			continue
		}
		switch got, found := job.Spec.Template.Labels[key]; {
		case !found:
			errs = append(errs, field.Required(labelsPath.Key(key), want))
		case got != want:
			errs = append(errs, field.Invalid(labelsPath.Key(key), job.Spec.Template.Labels, "must be '"+want+"'"))
		}
	}
	if selector, err := metav1.LabelSelectorAsSelector(job.Spec.Selector); err == nil && !selector.Matches(labels.Set(expected)) {
		errs = append(errs, field.Invalid(jobSpecPath.Child("selector"), job.Spec.Selector, "`selector` not auto-generated"))
	}
	return errs
}

func validateJobSpecUpdate(spec *batchv1.JobSpec, oldJob *batchv1.Job) field.ErrorList {
	old := &oldJob.Spec
	immutable := apimachineryvalidation.ValidateImmutableField
	errs := validateCompletionsUpdate(spec, old)
	errs = append(errs, immutable(spec.Selector, old.Selector, jobSpecPath.Child("selector"))...)
	errs = append(errs, validateTemplateUpdate(spec, oldJob)...)
	errs = append(errs, immutable(spec.CompletionMode, old.CompletionMode, jobSpecPath.Child("completionMode"))...)
	errs = append(errs, immutable(spec.PodFailurePolicy, old.PodFailurePolicy, jobSpecPath.Child("podFailurePolicy"))...)
	errs = append(errs, immutable(spec.BackoffLimitPerIndex, old.BackoffLimitPerIndex, jobSpecPath.Child("backoffLimitPerIndex"))...)
	errs = append(errs, immutable(spec.ManagedBy, old.ManagedBy, jobSpecPath.Child("managedBy"))...)
	return append(errs, immutable(spec.SuccessPolicy, old.SuccessPolicy, jobSpecPath.Child("successPolicy"))...)
}

// validateCompletionsUpdate keeps completions immutable, except that indexed jobs are
// elastic: they may change completions together with parallelism.
func validateCompletionsUpdate(spec, old *batchv1.JobSpec) field.ErrorList {
	path := jobSpecPath.Child("completions")
	if !isIndexed(spec) {
		return apimachineryvalidation.ValidateImmutableField(spec.Completions, old.Completions, path)
	}
	if spec.Completions == nil || ptr.Equal(spec.Completions, old.Completions) {
		return nil // a missing completions is already reported by validateJobSpec
	}
	if !ptr.Equal(spec.Completions, spec.Parallelism) {
		return field.ErrorList{field.Invalid(path, spec.Completions, "can only be modified in tandem with spec.parallelism")}
	}
	return nil
}

// validateTemplateUpdate keeps the pod template immutable. A suspended job that never
// started may still change where its pods run: node affinity, node selector, tolerations,
// scheduling gates, labels and annotations.
func validateTemplateUpdate(spec *batchv1.JobSpec, oldJob *batchv1.Job) field.ErrorList {
	oldTemplate := &oldJob.Spec.Template
	if ptr.Deref(oldJob.Spec.Suspend, false) && oldJob.Status.StartTime == nil {
		oldTemplate = oldTemplate.DeepCopy()
		tmpl := &spec.Template
		switch {
		case tmpl.Spec.Affinity == nil && oldTemplate.Spec.Affinity != nil:
			oldTemplate.Spec.Affinity.NodeAffinity = nil
			if *oldTemplate.Spec.Affinity == (corev1.Affinity{}) {
				oldTemplate.Spec.Affinity = nil
			}
		case tmpl.Spec.Affinity != nil && oldTemplate.Spec.Affinity == nil:
			oldTemplate.Spec.Affinity = &corev1.Affinity{NodeAffinity: tmpl.Spec.Affinity.NodeAffinity}
		case tmpl.Spec.Affinity != nil && oldTemplate.Spec.Affinity != nil:
			oldTemplate.Spec.Affinity.NodeAffinity = tmpl.Spec.Affinity.NodeAffinity
		}
		oldTemplate.Spec.NodeSelector = tmpl.Spec.NodeSelector
		oldTemplate.Spec.Tolerations = tmpl.Spec.Tolerations
		oldTemplate.Spec.SchedulingGates = tmpl.Spec.SchedulingGates
		oldTemplate.Annotations = tmpl.Annotations
		oldTemplate.Labels = tmpl.Labels
	}
	return apimachineryvalidation.ValidateImmutableField(&spec.Template, oldTemplate, jobTemplatePath)
}

var jobTable = &registry.Table{
	Columns: []metav1.TableColumnDefinition{
		registry.NameColumn,
		{Name: "Status", Type: "string", Description: "Status of the job."},
		{Name: "Completions", Type: "string", Description: batchv1.JobStatus{}.SwaggerDoc()["succeeded"]},
		{Name: "Duration", Type: "string", Description: "Time required to complete the job."},
		registry.AgeColumn,
		{Name: "Containers", Type: "string", Priority: 1, Description: containersDescription},
		{Name: "Images", Type: "string", Priority: 1, Description: imagesDescription},
		{Name: "Selector", Type: "string", Priority: 1, Description: batchv1.JobSpec{}.SwaggerDoc()["selector"]},
	},
	Row: func(obj runtime.Object, now time.Time) []any {
		job := obj.(*batchv1.Job)
		names, images := containerCells(&job.Spec.Template.Spec)
		return []any{
			job.Name, jobStatus(job), jobCompletions(job), jobDuration(job, now),
			registry.Age(job.CreationTimestamp, now),
			names, images, metav1.FormatLabelSelector(job.Spec.Selector),
		}
	},
}

func jobCompletions(job *batchv1.Job) string {
	succeeded := job.Status.Succeeded
	if job.Spec.Completions != nil {
		return fmt.Sprintf("%d/%d", succeeded, *job.Spec.Completions)
	}
	if p := ptr.Deref(job.Spec.Parallelism, 0); p > 1 {
		return fmt.Sprintf("%d/1 of %d", succeeded, p)
	}
	return fmt.Sprintf("%d/1", succeeded)
}

func jobDuration(job *batchv1.Job, now time.Time) string {
	switch start, end := job.Status.StartTime, job.Status.CompletionTime; {
	case start == nil:
		return ""
	case end == nil:
		return duration.HumanDuration(now.Sub(start.Time))
	default:
		return duration.HumanDuration(end.Sub(start.Time))
	}
}

func jobStatus(job *batchv1.Job) string {
	switch {
	case hasCondition(job, batchv1.JobComplete):
		return "Complete"
	case hasCondition(job, batchv1.JobFailed):
		return "Failed"
	case job.DeletionTimestamp != nil:
		return "Terminating"
	case hasCondition(job, batchv1.JobSuspended):
		return "Suspended"
	case hasCondition(job, batchv1.JobFailureTarget):
		return "FailureTarget"
	default:
		return "Running"
	}
}

// hasCondition reports whether the job's first condition of type t is True.
func hasCondition(job *batchv1.Job, t batchv1.JobConditionType) bool {
	for _, c := range job.Status.Conditions {
		if c.Type == t {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
