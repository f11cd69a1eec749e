package core

import (
	"context"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"capstan/internal/apiserver/registry"
)

// namespaceStrategy holds the rules of core/v1 namespaces. spec.finalizers is only
// written through /finalize; /status holds the phase.
type namespaceStrategy struct{ registry.DefaultStrategy }

// Default labels a namespace with its own name and gives it the Active phase.
func (namespaceStrategy) Default(obj runtime.Object) {
	ns := obj.(*corev1.Namespace)
	labelNamespaceName(ns)
	if ns.Status.Phase == "" {
		ns.Status.Phase = corev1.NamespaceActive
	}
}

// labelNamespaceName sets kubernetes.io/metadata.name, once the name is known.
func labelNamespaceName(ns *corev1.Namespace) {
	if ns.Name == "" {
		return
	}
	if ns.Labels == nil {
		ns.Labels = map[string]string{}
	}
	ns.Labels[corev1.LabelMetadataName] = ns.Name
}

// PrepareForCreate starts a namespace Active with the kubernetes finalizer, which the
// namespace controller removes once the namespace's content is gone.
func (namespaceStrategy) PrepareForCreate(_ context.Context, obj runtime.Object) {
	ns := obj.(*corev1.Namespace)
	ns.Status = corev1.NamespaceStatus{Phase: corev1.NamespaceActive}
	if !slices.Contains(ns.Spec.Finalizers, corev1.FinalizerKubernetes) {
		ns.Spec.Finalizers = append(ns.Spec.Finalizers, corev1.FinalizerKubernetes)
	}
	labelNamespaceName(ns)
}

func (namespaceStrategy) PrepareForUpdate(_ context.Context, obj, old runtime.Object) {
	ns, oldNS := obj.(*corev1.Namespace), old.(*corev1.Namespace)
	ns.Spec.Finalizers = slices.Clone(oldNS.Spec.Finalizers)
	ns.Status = *oldNS.Status.DeepCopy()
	labelNamespaceName(ns)
}

// PrepareForStatusUpdate keeps the spec; upstream lets metadata change through
// namespaces/status.
func (namespaceStrategy) PrepareForStatusUpdate(_ context.Context, obj, old runtime.Object) {
	obj.(*corev1.Namespace).Spec = *old.(*corev1.Namespace).Spec.DeepCopy()
}

func (namespaceStrategy) Validate(_ context.Context, obj runtime.Object) field.ErrorList {
	var errs field.ErrorList
	for _, f := range obj.(*corev1.Namespace).Spec.Finalizers {
		// Upstream reports every finalizer at the list.
		errs = append(errs, finalizerNameErrors(f, field.NewPath("spec", "finalizers"))...)
	}
	return errs
}

func (s namespaceStrategy) ValidateUpdate(ctx context.Context, obj, _ runtime.Object) field.ErrorList {
	return s.Validate(ctx, obj)
}

// ValidateStatusUpdate ties the phase to the deletion timestamp.
func (namespaceStrategy) ValidateStatusUpdate(_ context.Context, obj, _ runtime.Object) field.ErrorList {
	ns := obj.(*corev1.Namespace)
	p := field.NewPath("status", "Phase")
	if ns.DeletionTimestamp.IsZero() {
		if ns.Status.Phase != corev1.NamespaceActive {
			return field.ErrorList{field.Invalid(p, ns.Status.Phase, "may only be 'Active' if `deletionTimestamp` is empty")}
		}
	} else if ns.Status.Phase != corev1.NamespaceTerminating {
		return field.ErrorList{field.Invalid(p, ns.Status.Phase, "may only be 'Terminating' if `deletionTimestamp` is not empty")}
	}
	return nil
}

// PrepareNamespaceFinalize prepares a namespaces/finalize update: everything but
// spec.finalizers comes from the stored namespace old, metadata included.
func PrepareNamespaceFinalize(obj, old *corev1.Namespace) {
	finalizers := obj.Spec.Finalizers
	old.DeepCopyInto(obj)
	obj.Spec.Finalizers = finalizers
}

// ValidateNamespaceFinalizeUpdate validates a namespaces/finalize update: the finalizer
// names, and that the labels, annotations, owners, metadata finalizers and status are
// those of the stored namespace old.
func ValidateNamespaceFinalizeUpdate(obj, old *corev1.Namespace) field.ErrorList {
	var errs field.ErrorList
	p := field.NewPath("spec", "finalizers")
	for i, f := range obj.Spec.Finalizers {
		errs = append(errs, finalizerNameErrors(f, p.Index(i))...)
	}
	const msg = "only spec.finalizers may change through namespaces/finalize"
	if !apiequality.Semantic.DeepEqual(obj.Status, old.Status) {
		errs = append(errs, field.Forbidden(field.NewPath("status"), msg))
	}
	metaUnchanged := apiequality.Semantic.DeepEqual(obj.Labels, old.Labels) &&
		apiequality.Semantic.DeepEqual(obj.Annotations, old.Annotations) &&
		apiequality.Semantic.DeepEqual(obj.OwnerReferences, old.OwnerReferences) &&
		apiequality.Semantic.DeepEqual(obj.Finalizers, old.Finalizers)
	if !metaUnchanged {
		errs = append(errs, field.Forbidden(field.NewPath("metadata"), msg))
	}
	return errs
}

// finalizerNameErrors requires a qualified name, and a domain unless it is one of the
// built-in finalizers.
func finalizerNameErrors(f corev1.FinalizerName, p *field.Path) field.ErrorList {
	errs := apimachineryvalidation.ValidateFinalizerName(string(f), p)
	standard := f == corev1.FinalizerKubernetes || f == metav1.FinalizerOrphanDependents || f == metav1.FinalizerDeleteDependents
	if !strings.Contains(string(f), "/") && !standard {
		errs = append(errs, field.Invalid(p, f, "name is neither a standard finalizer name nor is it fully qualified"))
	}
	return errs
}

func namespaceFields(obj runtime.Object) fields.Set {
	return fields.Set{"status.phase": string(obj.(*corev1.Namespace).Status.Phase)}
}

var namespaceTable = &registry.Table{
	Columns: []metav1.TableColumnDefinition{
		registry.NameColumn,
		{Name: "Status", Type: "string", Description: "The status of the namespace"},
		registry.AgeColumn,
	},
	Row: func(obj runtime.Object, now time.Time) []any {
		ns := obj.(*corev1.Namespace)
		return []any{ns.Name, string(ns.Status.Phase), registry.Age(ns.CreationTimestamp, now)}
	},
}
