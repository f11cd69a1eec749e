package apps

import (
	"fmt"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"

	"capstan/internal/apiserver/registry/core"
)

// Paths shared by every workload kind.
var (
	specPath     = field.NewPath("spec")
	statusPath   = field.NewPath("status")
	selectorPath = specPath.Child("selector")
	templatePath = specPath.Child("template")
)

// Column descriptions upstream uses for the template columns of every workload table.
const (
	containersDescription = "Names of each container in the template."
	imagesDescription     = "Images referenced by each container in the template."
)

// strictSelectorOptions rejects invalid label values in selectors: workload selectors have
// always had to convert to a labels.Selector.
var strictSelectorOptions = metav1validation.LabelSelectorValidationOptions{}

// nonNegative reports a negative value at path with upstream's message.
func nonNegative(value int64, path *field.Path) field.ErrorList {
	return apimachineryvalidation.ValidateNonnegativeField(value, path)
}

// nonNegativePtr is nonNegative for optional fields; nil is valid.
func nonNegativePtr(value *int32, path *field.Path) field.ErrorList {
	if value == nil {
		return nil
	}
	return nonNegative(int64(*value), path)
}

// validateRequiredSelector checks a selector that must be present and non-empty. kind names
// the resource in the "empty selector" message.
func validateRequiredSelector(sel *metav1.LabelSelector, kind string) field.ErrorList {
	if sel == nil {
		return field.ErrorList{field.Required(selectorPath, "")}
	}
	errs := metav1validation.ValidateLabelSelector(sel, strictSelectorOptions, selectorPath)
	if len(sel.MatchLabels)+len(sel.MatchExpressions) == 0 {
		errs = append(errs, field.Invalid(selectorPath, sel, "empty selector is invalid for "+kind))
	}
	return errs
}

// validateSelectorMatchesTemplate checks that the template's labels are selected by sel.
// A nil selector selects nothing, so it never matches.
func validateSelectorMatchesTemplate(sel *metav1.LabelSelector, tmpl *corev1.PodTemplateSpec, invalidMsg string) field.ErrorList {
	selector, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		return field.ErrorList{field.Invalid(selectorPath, sel, invalidMsg)}
	}
	if !selector.Empty() && !selector.Matches(labels.Set(tmpl.Labels)) {
		return field.ErrorList{field.Invalid(templatePath.Child("metadata", "labels"), tmpl.Labels,
			"`selector` does not match template `labels`")}
	}
	return nil
}

// validateAlwaysRestartingTemplate applies the rules every long-running workload puts on
// its pod template: restartPolicy Always and no activeDeadlineSeconds. kind names the
// resource in the activeDeadlineSeconds message.
func validateAlwaysRestartingTemplate(spec *corev1.PodSpec, kind string) field.ErrorList {
	var errs field.ErrorList
	if spec.RestartPolicy != corev1.RestartPolicyAlways {
		errs = append(errs, field.NotSupported(templatePath.Child("spec", "restartPolicy"),
			spec.RestartPolicy, []corev1.RestartPolicy{corev1.RestartPolicyAlways}))
	}
	if spec.ActiveDeadlineSeconds != nil {
		errs = append(errs, field.Forbidden(templatePath.Child("spec", "activeDeadlineSeconds"),
			fmt.Sprintf("activeDeadlineSeconds in %s is not Supported", kind)))
	}
	return errs
}

// validatePodTemplate runs the shared pod template validation plus the long-running rules.
func validatePodTemplate(tmpl *corev1.PodTemplateSpec, kind string) field.ErrorList {
	errs := core.ValidatePodTemplateSpec(tmpl, templatePath)
	return append(errs, validateAlwaysRestartingTemplate(&tmpl.Spec, kind)...)
}

// validateImmutableSelector rejects selector changes, as apps/v1 does for every workload.
func validateImmutableSelector(sel, oldSel *metav1.LabelSelector) field.ErrorList {
	return apimachineryvalidation.ValidateImmutableField(sel, oldSel, selectorPath)
}

// validateCollisionCount rejects a negative or decremented status.collisionCount.
func validateCollisionCount(count, oldCount *int32) field.ErrorList {
	path := statusPath.Child("collisionCount")
	errs := nonNegativePtr(count, path)
	if oldCount != nil && (count == nil || *count < *oldCount) {
		errs = append(errs, field.Invalid(path, ptr.Deref(count, 0), "cannot be decremented"))
	}
	return errs
}

// counter is a named status counter, for checks that compare counters with each other.
type counter struct {
	name  string
	value int32
}

// notAbove reports each counter that exceeds limit (named limitName in the message).
func notAbove(limit int32, limitName string, counters ...counter) field.ErrorList {
	var errs field.ErrorList
	for _, c := range counters {
		if c.value > limit {
			errs = append(errs, field.Invalid(statusPath.Child(c.name), c.value, "cannot be greater than "+limitName))
		}
	}
	return errs
}

// nonNegativeCounters reports each negative counter.
func nonNegativeCounters(counters ...counter) field.ErrorList {
	var errs field.ErrorList
	for _, c := range counters {
		errs = append(errs, nonNegative(int64(c.value), statusPath.Child(c.name))...)
	}
	return errs
}

// validateIntOrPercent checks a non-negative integer or a valid percentage.
func validateIntOrPercent(v intstr.IntOrString, path *field.Path) field.ErrorList {
	switch v.Type {
	case intstr.String:
		var errs field.ErrorList
		for _, msg := range utilvalidation.IsValidPercent(v.StrVal) {
			errs = append(errs, field.Invalid(path, v, msg))
		}
		return errs
	case intstr.Int:
		return nonNegative(int64(v.IntValue()), path)
	default:
		return field.ErrorList{field.Invalid(path, v, "must be an integer or percentage (e.g '5%%')")}
	}
}

// percent returns the value of a valid percentage string.
func percent(v intstr.IntOrString) (int, bool) {
	if v.Type != intstr.String || len(utilvalidation.IsValidPercent(v.StrVal)) != 0 {
		return 0, false
	}
	n, err := strconv.Atoi(strings.TrimSuffix(v.StrVal, "%"))
	return n, err == nil
}

// intOrPercentValue is the number in v, ignoring whether it is a percentage.
func intOrPercentValue(v *intstr.IntOrString) int {
	if v == nil {
		return 0
	}
	if n, ok := percent(*v); ok {
		return n
	}
	return v.IntValue()
}

// notMoreThan100Percent rejects percentages above 100%.
func notMoreThan100Percent(v *intstr.IntOrString, path *field.Path) field.ErrorList {
	if v == nil {
		return nil
	}
	if n, ok := percent(*v); ok && n > 100 {
		return field.ErrorList{field.Invalid(path, *v, "must not be greater than 100%")}
	}
	return nil
}

// defaultTemplate applies the pod spec defaults inside a workload template.
func defaultTemplate(tmpl *corev1.PodTemplateSpec) {
	core.DefaultPodSpec(&tmpl.Spec)
}

// containerCells renders the CONTAINERS and IMAGES cells of a template.
func containerCells(spec *corev1.PodSpec) (names, images string) {
	n := make([]string, 0, len(spec.Containers))
	i := make([]string, 0, len(spec.Containers))
	for _, c := range spec.Containers {
		n = append(n, c.Name)
		i = append(i, c.Image)
	}
	return strings.Join(n, ","), strings.Join(i, ",")
}

// selectorString renders a label selector the way /scale reports it; "" when invalid.
func selectorString(sel *metav1.LabelSelector) string {
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		return ""
	}
	return s.String()
}
