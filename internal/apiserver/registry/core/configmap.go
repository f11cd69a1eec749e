package core

import (
	"context"
	"reflect"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"capstan/internal/apiserver/registry"
)

// immutableSetMsg is upstream's detail for changes to an object marked immutable.
const immutableSetMsg = "field is immutable when `immutable` is set"

func configMapsResource() registry.Resource {
	return registry.Resource{
		GVK:        coreGVK("ConfigMap"),
		Plural:     "configmaps",
		Singular:   "configmap",
		Namespaced: true,
		ShortNames: []string{"cm"},
		Strategy:   configMapStrategy{},
		Table: &registry.Table{
			Columns: []metav1.TableColumnDefinition{
				registry.NameColumn,
				{Name: "Data", Type: "string", Description: corev1.ConfigMap{}.SwaggerDoc()["data"]},
				registry.AgeColumn,
			},
			Row: configMapRow,
		},
	}
}

type configMapStrategy struct{ registry.DefaultStrategy }

func (configMapStrategy) Validate(_ context.Context, obj runtime.Object) field.ErrorList {
	return configMapErrs(obj.(*corev1.ConfigMap))
}

func (configMapStrategy) ValidateUpdate(_ context.Context, obj, old runtime.Object) field.ErrorList {
	cm, oldCM := obj.(*corev1.ConfigMap), old.(*corev1.ConfigMap)
	var errs field.ErrorList
	if markedImmutable(oldCM.Immutable) {
		if !markedImmutable(cm.Immutable) {
			errs = append(errs, field.Forbidden(field.NewPath("immutable"), immutableSetMsg))
		}
		if !reflect.DeepEqual(cm.Data, oldCM.Data) {
			errs = append(errs, field.Forbidden(field.NewPath("data"), immutableSetMsg))
		}
		if !reflect.DeepEqual(cm.BinaryData, oldCM.BinaryData) {
			errs = append(errs, field.Forbidden(field.NewPath("binaryData"), immutableSetMsg))
		}
	}
	return append(errs, configMapErrs(cm)...)
}

// configMapErrs checks keys (valid, not in both data and binaryData) and the 1 MiB limit
// on the total size of the values.
func configMapErrs(cm *corev1.ConfigMap) field.ErrorList {
	var errs field.ErrorList
	size := 0
	dataPath, binPath := field.NewPath("data"), field.NewPath("binaryData")
	for key, value := range cm.Data {
		errs = append(errs, configMapKeyErrs(key, dataPath.Key(key))...)
		if _, dup := cm.BinaryData[key]; dup {
			errs = append(errs, field.Invalid(dataPath.Key(key), key, "duplicate of key present in binaryData"))
		}
		size += len(value)
	}
	for key, value := range cm.BinaryData {
		errs = append(errs, configMapKeyErrs(key, binPath.Key(key))...)
		size += len(value)
	}
	if size > corev1.MaxSecretSize {
		// An empty path: the limit is on the whole object.
		errs = append(errs, field.TooLong(field.NewPath(""), "", corev1.MaxSecretSize))
	}
	return errs
}

// configMapKeyErrs checks a configmap or secret key: letters, digits, '-', '_' and '.'.
func configMapKeyErrs(key string, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range validation.IsConfigMapKey(key) {
		errs = append(errs, field.Invalid(path, key, msg))
	}
	return errs
}

func markedImmutable(b *bool) bool { return b != nil && *b }

func configMapRow(obj runtime.Object, now time.Time) []any {
	cm := obj.(*corev1.ConfigMap)
	return []any{cm.Name, int64(len(cm.Data) + len(cm.BinaryData)), registry.Age(cm.CreationTimestamp, now)}
}
