package apps

import (
	"context"
	"strconv"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"

	"capstan/internal/apiserver/registry"
)

func daemonSets() registry.Resource {
	return registry.Resource{
		GVK:        appsv1.SchemeGroupVersion.WithKind("DaemonSet"),
		Plural:     "daemonsets",
		Singular:   "daemonset",
		Namespaced: true,
		ShortNames: []string{"ds"},
		Categories: []string{"all"},
		Status:     true,
		Strategy:   daemonSetStrategy{},
		Table:      daemonSetTable,
	}
}

type daemonSetStrategy struct{ registry.DefaultStrategy }

// Default sets a rolling update of one unavailable pod without surge and ten kept revisions.
func (daemonSetStrategy) Default(obj runtime.Object) {
	ds := obj.(*appsv1.DaemonSet)
	strategy := &ds.Spec.UpdateStrategy
	if strategy.Type == "" {
		strategy.Type = appsv1.RollingUpdateDaemonSetStrategyType
	}
	if strategy.Type == appsv1.RollingUpdateDaemonSetStrategyType {
		if strategy.RollingUpdate == nil {
			strategy.RollingUpdate = &appsv1.RollingUpdateDaemonSet{}
		}
		if strategy.RollingUpdate.MaxUnavailable == nil {
			strategy.RollingUpdate.MaxUnavailable = ptr.To(intstr.FromInt32(1))
		}
		if strategy.RollingUpdate.MaxSurge == nil {
			strategy.RollingUpdate.MaxSurge = ptr.To(intstr.FromInt32(0))
		}
	}
	if ds.Spec.RevisionHistoryLimit == nil {
		ds.Spec.RevisionHistoryLimit = ptr.To[int32](10)
	}
	defaultTemplate(&ds.Spec.Template)
}

// PrepareForCreate clears status and starts the template generation, which apps/v1 keeps
// in the deprecated.daemonset.template.generation annotation, at 1.
func (s daemonSetStrategy) PrepareForCreate(ctx context.Context, obj runtime.Object) {
	s.DefaultStrategy.PrepareForCreate(ctx, obj)
	ds := obj.(*appsv1.DaemonSet)
	if templateGeneration(ds) < 1 {
		setTemplateGeneration(ds, 1)
	}
}

// PrepareForUpdate keeps status and the template generation, bumping the latter when the
// template changes; clients may not set it.
func (s daemonSetStrategy) PrepareForUpdate(ctx context.Context, obj, old runtime.Object) {
	s.DefaultStrategy.PrepareForUpdate(ctx, obj, old)
	ds, oldDS := obj.(*appsv1.DaemonSet), old.(*appsv1.DaemonSet)
	generation := templateGeneration(oldDS)
	if !equality.Semantic.DeepEqual(ds.Spec.Template, oldDS.Spec.Template) {
		generation++
	}
	if generation > 0 {
		setTemplateGeneration(ds, generation)
	} else if ds.Annotations != nil {
		delete(ds.Annotations, appsv1.DeprecatedTemplateGeneration)
	}
}

func templateGeneration(ds *appsv1.DaemonSet) int64 {
	g, err := strconv.ParseInt(ds.Annotations[appsv1.DeprecatedTemplateGeneration], 10, 64)
	if err != nil {
		return 0
	}
	return g
}

func setTemplateGeneration(ds *appsv1.DaemonSet, g int64) {
	if ds.Annotations == nil {
		ds.Annotations = map[string]string{}
	}
	ds.Annotations[appsv1.DeprecatedTemplateGeneration] = strconv.FormatInt(g, 10)
}

func (daemonSetStrategy) Validate(_ context.Context, obj runtime.Object) field.ErrorList {
	return validateDaemonSetSpec(&obj.(*appsv1.DaemonSet).Spec)
}

func (daemonSetStrategy) ValidateUpdate(_ context.Context, obj, old runtime.Object) field.ErrorList {
	ds, oldDS := obj.(*appsv1.DaemonSet), old.(*appsv1.DaemonSet)
	errs := validateDaemonSetSpec(&ds.Spec)
	return append(errs, validateImmutableSelector(ds.Spec.Selector, oldDS.Spec.Selector)...)
}

func (daemonSetStrategy) ValidateStatusUpdate(_ context.Context, obj, old runtime.Object) field.ErrorList {
	ds, oldDS := obj.(*appsv1.DaemonSet), old.(*appsv1.DaemonSet)
	st := &ds.Status
	errs := nonNegativeCounters(
		counter{"currentNumberScheduled", st.CurrentNumberScheduled},
		counter{"numberMisscheduled", st.NumberMisscheduled},
		counter{"desiredNumberScheduled", st.DesiredNumberScheduled},
		counter{"numberReady", st.NumberReady},
	)
	errs = append(errs, nonNegative(st.ObservedGeneration, statusPath.Child("observedGeneration"))...)
	errs = append(errs, nonNegativeCounters(
		counter{"updatedNumberScheduled", st.UpdatedNumberScheduled},
		counter{"numberAvailable", st.NumberAvailable},
		counter{"numberUnavailable", st.NumberUnavailable},
	)...)
	return append(errs, validateCollisionCount(st.CollisionCount, oldDS.Status.CollisionCount)...)
}

func validateDaemonSetSpec(spec *appsv1.DaemonSetSpec) field.ErrorList {
	// Unlike the other workloads, a missing selector is reported only as a template mismatch.
	errs := metav1validation.ValidateLabelSelector(spec.Selector, strictSelectorOptions, selectorPath)
	errs = append(errs, validateSelectorMatchesTemplate(spec.Selector, &spec.Template, "invalid label selector")...)
	if spec.Selector != nil && len(spec.Selector.MatchLabels)+len(spec.Selector.MatchExpressions) == 0 {
		errs = append(errs, field.Invalid(selectorPath, spec.Selector, "empty selector is invalid for daemonset"))
	}
	errs = append(errs, validatePodTemplate(&spec.Template, "DaemonSet")...)
	errs = append(errs, nonNegative(int64(spec.MinReadySeconds), specPath.Child("minReadySeconds"))...)
	errs = append(errs, validateDaemonSetUpdateStrategy(&spec.UpdateStrategy, specPath.Child("updateStrategy"))...)
	return append(errs, nonNegativePtr(spec.RevisionHistoryLimit, specPath.Child("revisionHistoryLimit"))...)
}

func validateDaemonSetUpdateStrategy(strategy *appsv1.DaemonSetUpdateStrategy, path *field.Path) field.ErrorList {
	switch strategy.Type {
	case appsv1.OnDeleteDaemonSetStrategyType:
		return nil
	case appsv1.RollingUpdateDaemonSetStrategyType:
		if strategy.RollingUpdate == nil {
			return field.ErrorList{field.Required(path.Child("rollingUpdate"), "")}
		}
		return validateRollingUpdateDaemonSet(strategy.RollingUpdate, path.Child("rollingUpdate"))
	default:
		return field.ErrorList{field.NotSupported(path, strategy, []appsv1.DaemonSetUpdateStrategyType{
			appsv1.RollingUpdateDaemonSetStrategyType, appsv1.OnDeleteDaemonSetStrategyType})}
	}
}

func validateRollingUpdateDaemonSet(ru *appsv1.RollingUpdateDaemonSet, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	unavailablePath, surgePath := path.Child("maxUnavailable"), path.Child("maxSurge")
	if ru.MaxUnavailable != nil {
		errs = append(errs, validateIntOrPercent(*ru.MaxUnavailable, unavailablePath)...)
	}
	if ru.MaxSurge != nil {
		errs = append(errs, validateIntOrPercent(*ru.MaxSurge, surgePath)...)
	}
	errs = append(errs, notMoreThan100Percent(ru.MaxUnavailable, unavailablePath)...)
	errs = append(errs, notMoreThan100Percent(ru.MaxSurge, surgePath)...)
	hasUnavailable := intOrPercentValue(ru.MaxUnavailable) != 0
	hasSurge := intOrPercentValue(ru.MaxSurge) != 0
	switch {
	case hasUnavailable && hasSurge:
		errs = append(errs, field.Invalid(surgePath, ru.MaxSurge, "may not be set when maxUnavailable is non-zero"))
	case !hasUnavailable && !hasSurge:
		errs = append(errs, field.Required(unavailablePath, "cannot be 0 when maxSurge is 0"))
	}
	return errs
}

var daemonSetTable = &registry.Table{
	Columns: []metav1.TableColumnDefinition{
		registry.NameColumn,
		{Name: "Desired", Type: "integer", Description: appsv1.DaemonSetStatus{}.SwaggerDoc()["desiredNumberScheduled"]},
		{Name: "Current", Type: "integer", Description: appsv1.DaemonSetStatus{}.SwaggerDoc()["currentNumberScheduled"]},
		{Name: "Ready", Type: "integer", Description: appsv1.DaemonSetStatus{}.SwaggerDoc()["numberReady"]},
		{Name: "Up-to-date", Type: "integer", Description: appsv1.DaemonSetStatus{}.SwaggerDoc()["updatedNumberScheduled"]},
		{Name: "Available", Type: "integer", Description: appsv1.DaemonSetStatus{}.SwaggerDoc()["numberAvailable"]},
		{Name: "Node Selector", Type: "string", Description: corev1.PodSpec{}.SwaggerDoc()["nodeSelector"]},
		registry.AgeColumn,
		{Name: "Containers", Type: "string", Priority: 1, Description: containersDescription},
		{Name: "Images", Type: "string", Priority: 1, Description: imagesDescription},
		{Name: "Selector", Type: "string", Priority: 1, Description: appsv1.DaemonSetSpec{}.SwaggerDoc()["selector"]},
	},
	Row: func(obj runtime.Object, now time.Time) []any {
		ds := obj.(*appsv1.DaemonSet)
		st := &ds.Status
		names, images := containerCells(&ds.Spec.Template.Spec)
		return []any{
			ds.Name,
			int64(st.DesiredNumberScheduled),
			int64(st.CurrentNumberScheduled),
			int64(st.NumberReady),
			int64(st.UpdatedNumberScheduled),
			int64(st.NumberAvailable),
			labels.FormatLabels(ds.Spec.Template.Spec.NodeSelector),
			registry.Age(ds.CreationTimestamp, now),
			names, images, metav1.FormatLabelSelector(ds.Spec.Selector),
		}
	},
}
