package rbac

import (
	"context"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"capstan/internal/apiserver/registry"
)

// clusterRoleBindingResource is rbac.authorization.k8s.io/v1 clusterrolebindings.
func clusterRoleBindingResource() registry.Resource {
	return registry.Resource{
		GVK:      rbacv1.SchemeGroupVersion.WithKind("ClusterRoleBinding"),
		Plural:   "clusterrolebindings",
		Singular: "clusterrolebinding",
		Strategy: clusterRoleBindingStrategy{},
		Table: &registry.Table{
			Columns: bindingColumns("clusterRoleBinding", rbacv1.ClusterRoleBinding{}.SwaggerDoc()["roleRef"]),
			Row: func(obj runtime.Object, now time.Time) []any {
				b := obj.(*rbacv1.ClusterRoleBinding)
				return bindingRow(b.ObjectMeta, b.RoleRef, b.Subjects, now)
			},
		},
		NameValidation: ValidateName,
	}
}

// clusterRoleBindingKinds: a cluster-wide binding can only grant a ClusterRole.
var clusterRoleBindingKinds = []string{"ClusterRole"}

type clusterRoleBindingStrategy struct{ registry.DefaultStrategy }

// Default sets roleRef.apiGroup and the subjects' apiGroups.
func (clusterRoleBindingStrategy) Default(obj runtime.Object) {
	b := obj.(*rbacv1.ClusterRoleBinding)
	defaultRoleRef(&b.RoleRef)
	defaultSubjects(b.Subjects)
}

// Validate checks roleRef and subjects; service accounts must name their namespace since a
// cluster binding has none.
func (clusterRoleBindingStrategy) Validate(_ context.Context, obj runtime.Object) field.ErrorList {
	b := obj.(*rbacv1.ClusterRoleBinding)
	return validateBinding(b.RoleRef, b.Subjects, clusterRoleBindingKinds, false)
}

// ValidateUpdate checks the new binding and that roleRef did not change.
func (s clusterRoleBindingStrategy) ValidateUpdate(ctx context.Context, obj, old runtime.Object) field.ErrorList {
	errs := s.Validate(ctx, obj)
	return append(errs, validateRoleRefUnchanged(obj.(*rbacv1.ClusterRoleBinding).RoleRef, old.(*rbacv1.ClusterRoleBinding).RoleRef)...)
}
