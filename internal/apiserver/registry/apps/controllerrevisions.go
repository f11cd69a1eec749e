package apps

import (
	"context"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"capstan/internal/apiserver/registry"
)

func controllerRevisions() registry.Resource {
	return registry.Resource{
		GVK:        appsv1.SchemeGroupVersion.WithKind("ControllerRevision"),
		Plural:     "controllerrevisions",
		Singular:   "controllerrevision",
		Namespaced: true,
		Strategy:   controllerRevisionStrategy{},
		Table:      controllerRevisionTable,
	}
}

type controllerRevisionStrategy struct{ registry.DefaultStrategy }

var dataPath = field.NewPath("data")

func (controllerRevisionStrategy) Validate(_ context.Context, obj runtime.Object) field.ErrorList {
	return validateControllerRevision(obj.(*appsv1.ControllerRevision))
}

// ValidateUpdate also forbids changing data: a revision is a snapshot.
func (controllerRevisionStrategy) ValidateUpdate(_ context.Context, obj, old runtime.Object) field.ErrorList {
	cr, oldCR := obj.(*appsv1.ControllerRevision), old.(*appsv1.ControllerRevision)
	errs := validateControllerRevision(cr)
	return append(errs, apimachineryvalidation.ValidateImmutableField(cr.Data, oldCR.Data, dataPath)...)
}

func validateControllerRevision(cr *appsv1.ControllerRevision) field.ErrorList {
	var errs field.ErrorList
	if len(cr.Data.Raw) == 0 && cr.Data.Object == nil {
		errs = append(errs, field.Required(dataPath, "data is mandatory"))
	}
	return append(errs, nonNegative(cr.Revision, field.NewPath("revision"))...)
}

var controllerRevisionTable = &registry.Table{
	Columns: []metav1.TableColumnDefinition{
		registry.NameColumn,
		{Name: "Controller", Type: "string", Description: "Controller of the object"},
		{Name: "Revision", Type: "string", Description: appsv1.ControllerRevision{}.SwaggerDoc()["revision"]},
		registry.AgeColumn,
	},
	Row: func(obj runtime.Object, now time.Time) []any {
		cr := obj.(*appsv1.ControllerRevision)
		return []any{cr.Name, controllerName(cr), cr.Revision, registry.Age(cr.CreationTimestamp, now)}
	},
}

// controllerName renders the owning controller as "<kind>.<group>/<name>" in lower case, or
// "<none>".
func controllerName(obj metav1.Object) string {
	ref := metav1.GetControllerOf(obj)
	if ref == nil {
		return "<none>"
	}
	gv, err := schema.ParseGroupVersion(ref.APIVersion)
	if err != nil {
		return ref.Name
	}
	gk := gv.WithKind(ref.Kind).GroupKind()
	if gk.Empty() {
		return ref.Name
	}
	return strings.ToLower(gk.String()) + "/" + ref.Name
}
