package autoscaling

import (
	"fmt"
	"slices"
	"strings"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/validate/content"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Upper bounds of the behavior fields.
const (
	maxPeriodSeconds              = 1800
	maxStabilizationWindowSeconds = 3600
)

var (
	metricSourceTypes = []autoscalingv2.MetricSourceType{
		autoscalingv2.ContainerResourceMetricSourceType, autoscalingv2.ExternalMetricSourceType,
		autoscalingv2.ObjectMetricSourceType, autoscalingv2.PodsMetricSourceType, autoscalingv2.ResourceMetricSourceType,
	}
	selectPolicies = []autoscalingv2.ScalingPolicySelect{
		autoscalingv2.DisabledPolicySelect, autoscalingv2.MaxChangePolicySelect, autoscalingv2.MinChangePolicySelect,
	}
	scalingPolicyTypes = []autoscalingv2.HPAScalingPolicyType{autoscalingv2.PercentScalingPolicy, autoscalingv2.PodsScalingPolicy}
)

// validateHPASpec checks a spec; minLowerBound is the smallest minReplicas accepted.
func validateHPASpec(spec *autoscalingv2.HorizontalPodAutoscalerSpec, minLowerBound int32) field.ErrorList {
	var errs field.ErrorList
	if spec.MinReplicas != nil && *spec.MinReplicas < minLowerBound {
		errs = append(errs, field.Invalid(specPath.Child("minReplicas"), *spec.MinReplicas,
			fmt.Sprintf("must be greater than or equal to %d", minLowerBound)))
	}
	if spec.MaxReplicas < 1 {
		errs = append(errs, field.Invalid(specPath.Child("maxReplicas"), spec.MaxReplicas, "must be greater than 0"))
	}
	if spec.MinReplicas != nil && spec.MaxReplicas < *spec.MinReplicas {
		errs = append(errs, field.Invalid(specPath.Child("maxReplicas"), spec.MaxReplicas, "must be greater than or equal to `minReplicas`"))
	}
	errs = append(errs, validateObjectReference(spec.ScaleTargetRef, specPath.Child("scaleTargetRef"))...)
	errs = append(errs, validateMetrics(spec.Metrics, spec.MinReplicas)...)
	if spec.Behavior != nil {
		errs = append(errs, validateScalingRules(spec.Behavior.ScaleUp, specPath.Child("behavior", "scaleUp"))...)
		errs = append(errs, validateScalingRules(spec.Behavior.ScaleDown, specPath.Child("behavior", "scaleDown"))...)
	}
	return errs
}

func validateObjectReference(ref autoscalingv2.CrossVersionObjectReference, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, f := range []struct{ name, value string }{{"kind", ref.Kind}, {"name", ref.Name}} {
		if f.value == "" {
			errs = append(errs, field.Required(path.Child(f.name), ""))
			continue
		}
		for _, msg := range content.IsPathSegmentName(f.value) {
			errs = append(errs, field.Invalid(path.Child(f.name), f.value, msg))
		}
	}
	return errs
}

func validateMetrics(metrics []autoscalingv2.MetricSpec, minReplicas *int32) field.ErrorList {
	var errs field.ErrorList
	path := specPath.Child("metrics")
	scalesToZero := false
	for i := range metrics {
		errs = append(errs, validateMetricSpec(&metrics[i], path.Index(i))...)
		switch metrics[i].Type {
		case autoscalingv2.ObjectMetricSourceType, autoscalingv2.ExternalMetricSourceType:
			scalesToZero = true
		}
	}
	if minReplicas != nil && *minReplicas == 0 && !scalesToZero {
		errs = append(errs, field.Forbidden(path, "must specify at least one Object or External metric to support scaling to zero replicas"))
	}
	return errs
}

// validateMetricSpec checks that exactly the source named by type is set, and that source.
func validateMetricSpec(spec *autoscalingv2.MetricSpec, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if spec.Type == "" {
		errs = append(errs, field.Required(path.Child("type"), "must specify a metric source type"))
	}
	present := map[autoscalingv2.MetricSourceType]string{}
	var first field.ErrorList
	check := func(t autoscalingv2.MetricSourceType, name string, set bool, validate func(*field.Path) field.ErrorList) {
		if !set {
			return
		}
		present[t] = name
		if len(present) == 1 {
			first = validate(path.Child(name))
		}
	}
	check(autoscalingv2.ObjectMetricSourceType, "object", spec.Object != nil, func(p *field.Path) field.ErrorList { return validateObjectSource(spec.Object, p) })
	check(autoscalingv2.ExternalMetricSourceType, "external", spec.External != nil, func(p *field.Path) field.ErrorList { return validateExternalSource(spec.External, p) })
	check(autoscalingv2.PodsMetricSourceType, "pods", spec.Pods != nil, func(p *field.Path) field.ErrorList { return validatePodsSource(spec.Pods, p) })
	check(autoscalingv2.ResourceMetricSourceType, "resource", spec.Resource != nil, func(p *field.Path) field.ErrorList { return validateResourceSource(spec.Resource, p) })
	check(autoscalingv2.ContainerResourceMetricSourceType, "containerResource", spec.ContainerResource != nil,
		func(p *field.Path) field.ErrorList { return validateContainerResourceSource(spec.ContainerResource, p) })
	errs = append(errs, first...)

	expected, known := sourceField(spec.Type)
	if !known {
		errs = append(errs, field.NotSupported(path.Child("type"), spec.Type, metricSourceTypes))
	} else if _, ok := present[spec.Type]; !ok {
		errs = append(errs, field.Required(path.Child(expected), "must populate information for the given metric source"))
	}
	if len(present) != 1 {
		for _, t := range metricSourceTypes {
			if name, ok := present[t]; ok && t != spec.Type {
				errs = append(errs, field.Forbidden(path.Child(name), "must populate the given metric source only"))
			}
		}
	}
	return errs
}

func sourceField(t autoscalingv2.MetricSourceType) (string, bool) {
	switch t {
	case autoscalingv2.ObjectMetricSourceType:
		return "object", true
	case autoscalingv2.PodsMetricSourceType:
		return "pods", true
	case autoscalingv2.ResourceMetricSourceType:
		return "resource", true
	case autoscalingv2.ExternalMetricSourceType:
		return "external", true
	case autoscalingv2.ContainerResourceMetricSourceType:
		return "containerResource", true
	}
	return "", false
}

func validateObjectSource(src *autoscalingv2.ObjectMetricSource, path *field.Path) field.ErrorList {
	errs := validateObjectReference(src.DescribedObject, path.Child("describedObject"))
	errs = append(errs, validateMetricName(src.Metric.Name, path.Child("metric", "name"))...)
	errs = append(errs, validateMetricTarget(&src.Target, path.Child("target"))...)
	if src.Target.Value == nil && src.Target.AverageValue == nil {
		errs = append(errs, field.Required(path.Child("target", "averageValue"), "must set either a target value or averageValue"))
	}
	return errs
}

func validateExternalSource(src *autoscalingv2.ExternalMetricSource, path *field.Path) field.ErrorList {
	errs := validateMetricName(src.Metric.Name, path.Child("metric", "name"))
	errs = append(errs, validateMetricTarget(&src.Target, path.Child("target"))...)
	if src.Target.Value == nil && src.Target.AverageValue == nil {
		errs = append(errs, field.Required(path.Child("target", "averageValue"), "must set either a target value for metric or a per-pod target"))
	}
	if src.Target.Value != nil && src.Target.AverageValue != nil {
		errs = append(errs, field.Forbidden(path.Child("target", "value"), "may not set both a target value for metric and a per-pod target"))
	}
	return errs
}

func validatePodsSource(src *autoscalingv2.PodsMetricSource, path *field.Path) field.ErrorList {
	errs := validateMetricName(src.Metric.Name, path.Child("metric", "name"))
	errs = append(errs, validateMetricTarget(&src.Target, path.Child("target"))...)
	if src.Target.AverageValue == nil {
		errs = append(errs, field.Required(path.Child("target", "averageValue"), "must specify a positive target averageValue"))
	}
	return errs
}

func validateResourceSource(src *autoscalingv2.ResourceMetricSource, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if src.Name == "" {
		errs = append(errs, field.Required(path.Child("name"), "must specify a resource name"))
	}
	return append(errs, validateResourceTarget(&src.Target, path.Child("target"))...)
}

func validateContainerResourceSource(src *autoscalingv2.ContainerResourceMetricSource, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if src.Name == "" {
		errs = append(errs, field.Required(path.Child("name"), "must specify a resource name"))
	} else {
		errs = append(errs, validateContainerResourceName(src.Name, path.Child("name"))...)
	}
	if src.Container == "" {
		errs = append(errs, field.Required(path.Child("container"), "must specify a container"))
	} else {
		for _, msg := range utilvalidation.IsDNS1123Label(src.Container) {
			errs = append(errs, field.Invalid(path.Child("container"), src.Container, msg))
		}
	}
	return append(errs, validateResourceTarget(&src.Target, path.Child("target"))...)
}

// validateResourceTarget checks a (container) resource target: exactly one of a raw average
// value and an average utilization.
func validateResourceTarget(target *autoscalingv2.MetricTarget, path *field.Path) field.ErrorList {
	errs := validateMetricTarget(target, path)
	if target.AverageUtilization == nil && target.AverageValue == nil {
		errs = append(errs, field.Required(path.Child("averageUtilization"), "must set either a target raw value or a target utilization"))
	}
	if target.AverageUtilization != nil && target.AverageValue != nil {
		errs = append(errs, field.Forbidden(path.Child("averageValue"), "may not set both a target raw value and a target utilization"))
	}
	return errs
}

// validateContainerResourceName accepts the standard container resources and
// domain-prefixed extended resources.
func validateContainerResourceName(name corev1.ResourceName, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range utilvalidation.IsQualifiedName(string(name)) {
		errs = append(errs, field.Invalid(path, name, msg))
	}
	if len(errs) > 0 || strings.Contains(string(name), "/") {
		return errs
	}
	switch {
	case name == corev1.ResourceCPU, name == corev1.ResourceMemory, name == corev1.ResourceEphemeralStorage,
		strings.HasPrefix(string(name), corev1.ResourceHugePagesPrefix):
		return nil
	}
	return field.ErrorList{field.Invalid(path, name, "must be a standard resource for containers")}
}

func validateMetricTarget(target *autoscalingv2.MetricTarget, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	switch target.Type {
	case autoscalingv2.UtilizationMetricType, autoscalingv2.ValueMetricType, autoscalingv2.AverageValueMetricType:
	case "":
		errs = append(errs, field.Required(path.Child("type"), "must specify a metric target type"),
			field.Invalid(path.Child("type"), target.Type, "must be either Utilization, Value, or AverageValue"))
	default:
		errs = append(errs, field.Invalid(path.Child("type"), target.Type, "must be either Utilization, Value, or AverageValue"))
	}
	if target.Value != nil && target.Value.Sign() != 1 {
		errs = append(errs, field.Invalid(path.Child("value"), target.Value, "must be positive"))
	}
	if target.AverageValue != nil && target.AverageValue.Sign() != 1 {
		errs = append(errs, field.Invalid(path.Child("averageValue"), target.AverageValue, "must be positive"))
	}
	if target.AverageUtilization != nil && *target.AverageUtilization < 1 {
		errs = append(errs, field.Invalid(path.Child("averageUtilization"), target.AverageUtilization, "must be greater than 0"))
	}
	return errs
}

func validateMetricName(name string, path *field.Path) field.ErrorList {
	if name == "" {
		return field.ErrorList{field.Required(path, "must specify a metric name")}
	}
	var errs field.ErrorList
	for _, msg := range content.IsPathSegmentName(name) {
		errs = append(errs, field.Invalid(path, name, msg))
	}
	return errs
}

func validateScalingRules(rules *autoscalingv2.HPAScalingRules, path *field.Path) field.ErrorList {
	if rules == nil {
		return nil
	}
	var errs field.ErrorList
	if w := rules.StabilizationWindowSeconds; w != nil && *w < 0 {
		errs = append(errs, field.Invalid(path.Child("stabilizationWindowSeconds"), *w, "must be greater than or equal to zero"))
	} else if w != nil && *w > maxStabilizationWindowSeconds {
		errs = append(errs, field.Invalid(path.Child("stabilizationWindowSeconds"), *w,
			fmt.Sprintf("must be less than or equal to %d", maxStabilizationWindowSeconds)))
	}
	if p := rules.SelectPolicy; p != nil && !slices.Contains(selectPolicies, *p) {
		errs = append(errs, field.NotSupported(path.Child("selectPolicy"), *p, selectPolicies))
	}
	if t := rules.Tolerance; t != nil && t.Sign() < 0 {
		errs = append(errs, field.Invalid(path.Child("tolerance"), t.String(), "must be greater than or equal to 0"))
	}
	policiesPath := path.Child("policies")
	if len(rules.Policies) == 0 {
		errs = append(errs, field.Required(policiesPath, "must specify at least one Policy"))
	}
	for i, p := range rules.Policies {
		pp := policiesPath.Index(i)
		if !slices.Contains(scalingPolicyTypes, p.Type) {
			errs = append(errs, field.NotSupported(pp.Child("type"), p.Type, scalingPolicyTypes))
		}
		if p.Value <= 0 {
			errs = append(errs, field.Invalid(pp.Child("value"), p.Value, "must be greater than zero"))
		}
		if p.PeriodSeconds <= 0 {
			errs = append(errs, field.Invalid(pp.Child("periodSeconds"), p.PeriodSeconds, "must be greater than zero"))
		} else if p.PeriodSeconds > maxPeriodSeconds {
			errs = append(errs, field.Invalid(pp.Child("periodSeconds"), p.PeriodSeconds,
				fmt.Sprintf("must be less than or equal to %d", maxPeriodSeconds)))
		}
	}
	return errs
}
