package core

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"capstan/internal/apiserver/registry"
)

// podTemplateStrategy holds the rules of core/v1 podtemplates. A PodTemplate has no spec
// or status: its template is its spec, so it tracks its own generation.
type podTemplateStrategy struct{ registry.DefaultStrategy }

func (podTemplateStrategy) Default(obj runtime.Object) {
	DefaultPodTemplateSpec(&obj.(*corev1.PodTemplate).Template)
}

func (podTemplateStrategy) PrepareForCreate(_ context.Context, obj runtime.Object) {
	obj.(*corev1.PodTemplate).Generation = 1
}

// PrepareForUpdate bumps the generation when the template changes.
func (podTemplateStrategy) PrepareForUpdate(_ context.Context, obj, old runtime.Object) {
	t, oldT := obj.(*corev1.PodTemplate), old.(*corev1.PodTemplate)
	t.Generation = oldT.Generation
	if !apiequality.Semantic.DeepEqual(t.Template, oldT.Template) {
		t.Generation++
	}
}

func (podTemplateStrategy) Validate(_ context.Context, obj runtime.Object) field.ErrorList {
	return ValidatePodTemplateSpec(&obj.(*corev1.PodTemplate).Template, field.NewPath("template"))
}

func (s podTemplateStrategy) ValidateUpdate(ctx context.Context, obj, _ runtime.Object) field.ErrorList {
	return s.Validate(ctx, obj)
}
