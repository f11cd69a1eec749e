package rbac

import (
	"context"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"capstan/internal/apiserver/registry"
)

// roleBindingResource is rbac.authorization.k8s.io/v1 rolebindings.
func roleBindingResource() registry.Resource {
	return registry.Resource{
		GVK:        rbacv1.SchemeGroupVersion.WithKind("RoleBinding"),
		Plural:     "rolebindings",
		Singular:   "rolebinding",
		Namespaced: true,
		Strategy:   roleBindingStrategy{},
		Table: &registry.Table{
			Columns: bindingColumns("roleBinding", rbacv1.RoleBinding{}.SwaggerDoc()["roleRef"]),
			Row: func(obj runtime.Object, now time.Time) []any {
				b := obj.(*rbacv1.RoleBinding)
				return bindingRow(b.ObjectMeta, b.RoleRef, b.Subjects, now)
			},
		},
		NameValidation: ValidateName,
	}
}

// roleBindingKinds are the roles a RoleBinding may grant: a Role of its namespace or a
// ClusterRole applied to its namespace.
var roleBindingKinds = []string{"Role", "ClusterRole"}

type roleBindingStrategy struct{ registry.DefaultStrategy }

// Default sets roleRef.apiGroup and the subjects' apiGroups.
func (roleBindingStrategy) Default(obj runtime.Object) {
	b := obj.(*rbacv1.RoleBinding)
	defaultRoleRef(&b.RoleRef)
	defaultSubjects(b.Subjects)
}

// Validate checks roleRef and subjects; service accounts may omit their namespace, which
// then is the binding's.
func (roleBindingStrategy) Validate(_ context.Context, obj runtime.Object) field.ErrorList {
	b := obj.(*rbacv1.RoleBinding)
	return validateBinding(b.RoleRef, b.Subjects, roleBindingKinds, true)
}

// ValidateUpdate checks the new binding and that roleRef did not change.
func (s roleBindingStrategy) ValidateUpdate(ctx context.Context, obj, old runtime.Object) field.ErrorList {
	errs := s.Validate(ctx, obj)
	return append(errs, validateRoleRefUnchanged(obj.(*rbacv1.RoleBinding).RoleRef, old.(*rbacv1.RoleBinding).RoleRef)...)
}
