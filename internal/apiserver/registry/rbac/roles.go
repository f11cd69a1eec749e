package rbac

import (
	"context"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"capstan/internal/apiserver/registry"
)

// roleResource is rbac.authorization.k8s.io/v1 roles. Upstream prints no columns of its own
// for roles, so the table is the default one (Name, Created At).
func roleResource() registry.Resource {
	return registry.Resource{
		GVK:            rbacv1.SchemeGroupVersion.WithKind("Role"),
		Plural:         "roles",
		Singular:       "role",
		Namespaced:     true,
		Strategy:       roleStrategy{},
		NameValidation: ValidateName,
	}
}

type roleStrategy struct{ registry.DefaultStrategy }

// Validate checks the rules; namespaced roles may not name non-resource URLs.
func (roleStrategy) Validate(_ context.Context, obj runtime.Object) field.ErrorList {
	return validateRules(obj.(*rbacv1.Role).Rules, true)
}

// ValidateUpdate checks the new rules; roles have no immutable fields.
func (s roleStrategy) ValidateUpdate(ctx context.Context, obj, _ runtime.Object) field.ErrorList {
	return s.Validate(ctx, obj)
}
