package core

import (
	"context"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"capstan/internal/apiserver/registry"
)

func serviceAccountsResource() registry.Resource {
	return registry.Resource{
		GVK:        coreGVK("ServiceAccount"),
		Plural:     "serviceaccounts",
		Singular:   "serviceaccount",
		Namespaced: true,
		ShortNames: []string{"sa"},
		Strategy:   serviceAccountStrategy{},
		Table: &registry.Table{
			Columns: []metav1.TableColumnDefinition{
				registry.NameColumn,
				{Name: "Secrets", Type: "string", Description: corev1.ServiceAccount{}.SwaggerDoc()["secrets"]},
				registry.AgeColumn,
			},
			Row: serviceAccountRow,
		},
	}
}

// serviceAccountStrategy keeps only the names of referenced secrets, as upstream does; the
// other reference fields are meaningless there.
type serviceAccountStrategy struct{ registry.DefaultStrategy }

func (serviceAccountStrategy) PrepareForCreate(_ context.Context, obj runtime.Object) {
	keepSecretNames(obj.(*corev1.ServiceAccount))
}

func (serviceAccountStrategy) PrepareForUpdate(_ context.Context, obj, _ runtime.Object) {
	keepSecretNames(obj.(*corev1.ServiceAccount))
}

func keepSecretNames(sa *corev1.ServiceAccount) {
	for i, ref := range sa.Secrets {
		sa.Secrets[i] = corev1.ObjectReference{Name: ref.Name}
	}
}

func serviceAccountRow(obj runtime.Object, now time.Time) []any {
	sa := obj.(*corev1.ServiceAccount)
	return []any{sa.Name, int64(len(sa.Secrets)), registry.Age(sa.CreationTimestamp, now)}
}
