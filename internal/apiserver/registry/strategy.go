package registry

import (
	"context"
	"reflect"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// DefaultStrategy is the generic behaviour: no defaults, no extra validation, and the
// upstream spec/status split for kinds with a Status field. Kinds embed it and override
// what differs.
type DefaultStrategy struct{}

var _ Strategy = DefaultStrategy{}

// Default does nothing.
func (DefaultStrategy) Default(runtime.Object) {}

// PrepareForCreate clears status: clients may not set it on create.
func (DefaultStrategy) PrepareForCreate(_ context.Context, obj runtime.Object) {
	if s := structField(obj, "Status"); s.IsValid() {
		s.Set(reflect.Zero(s.Type()))
	}
}

// PrepareForUpdate keeps the stored status.
func (DefaultStrategy) PrepareForUpdate(_ context.Context, obj, old runtime.Object) {
	CopyStatus(obj, old)
}

// PrepareForStatusUpdate keeps everything but status from the stored object, including the
// metadata a status writer may not change (labels, annotations, finalizers, owners, ...).
func (DefaultStrategy) PrepareForStatusUpdate(_ context.Context, obj, old runtime.Object) {
	KeepAllButStatus(obj, old)
}

// Validate accepts everything.
func (DefaultStrategy) Validate(context.Context, runtime.Object) field.ErrorList { return nil }

// ValidateUpdate accepts everything.
func (DefaultStrategy) ValidateUpdate(context.Context, runtime.Object, runtime.Object) field.ErrorList {
	return nil
}

// ValidateStatusUpdate accepts everything.
func (DefaultStrategy) ValidateStatusUpdate(context.Context, runtime.Object, runtime.Object) field.ErrorList {
	return nil
}

// CopyStatus sets obj's Status field to a deep copy of old's, if the kind has one.
func CopyStatus(obj, old runtime.Object) {
	dst, src := structField(obj, "Status"), structField(old.DeepCopyObject(), "Status")
	if dst.IsValid() && src.IsValid() {
		dst.Set(src)
	}
}

// KeepAllButStatus replaces every field of obj except Status (and TypeMeta) with a deep copy
// of old's, and resets the metadata a status update may not change.
func KeepAllButStatus(obj, old runtime.Object) {
	dst := reflect.ValueOf(obj).Elem()
	src := reflect.ValueOf(old.DeepCopyObject()).Elem()
	if dst.Kind() != reflect.Struct || dst.Type() != src.Type() {
		return
	}
	for i := 0; i < dst.NumField(); i++ {
		switch dst.Type().Field(i).Name {
		case "Status", "TypeMeta", "ObjectMeta":
			continue
		}
		dst.Field(i).Set(src.Field(i))
	}
	newMeta, err1 := meta.Accessor(obj)
	oldMeta, err2 := meta.Accessor(old)
	if err1 == nil && err2 == nil {
		metav1.ResetObjectMetaForStatus(newMeta, oldMeta)
	}
}

// Spec returns the value of obj's Spec field, or an invalid Value when it has none.
func Spec(obj runtime.Object) reflect.Value { return structField(obj, "Spec") }

func structField(obj runtime.Object, name string) reflect.Value {
	v := reflect.ValueOf(obj)
	if v.Kind() != reflect.Pointer || v.IsNil() {
		return reflect.Value{}
	}
	v = v.Elem()
	if v.Kind() != reflect.Struct {
		return reflect.Value{}
	}
	return v.FieldByName(name)
}
