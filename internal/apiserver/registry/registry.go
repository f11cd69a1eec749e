package registry

import (
	"context"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Resource is one served resource: its identity and the rules the generic store applies to it.
type Resource struct {
	// GVK is the kind served at this resource, e.g. apps/v1 Deployment. The Go type comes from
	// the scheme (see NewScheme).
	GVK schema.GroupVersionKind
	// Plural is the resource name in URLs and etcd keys, e.g. "deployments".
	Plural string
	// Singular is the lower-case singular name, e.g. "deployment".
	Singular string
	// Namespaced is true for namespaced resources.
	Namespaced bool
	// ShortNames as upstream, e.g. "deploy".
	ShortNames []string
	// Categories as upstream, e.g. "all".
	Categories []string

	// Status is true when the resource has a /status subresource; the main resource then
	// ignores status changes and /status ignores everything else.
	Status bool
	// Scale, when set, serves a /scale subresource (autoscaling/v1 Scale).
	Scale *Scale

	// Strategy holds the kind's rules. Embed DefaultStrategy to inherit the generic ones.
	Strategy Strategy
	// Table gives the kubectl get columns; nil means upstream's default (Name, Created At).
	Table *Table
	// Fields returns the field-selector fields of obj beyond metadata.name and
	// metadata.namespace, which the generic store adds itself. Nil means none.
	Fields func(obj runtime.Object) fields.Set
	// NameValidation validates metadata.name (prefix is true for generateName). Nil means
	// a DNS-1123 subdomain, the upstream default.
	NameValidation func(name string, prefix bool) []string
}

// GroupResource is r's group and plural, for errors.
func (r *Resource) GroupResource() schema.GroupResource {
	return schema.GroupResource{Group: r.GVK.Group, Resource: r.Plural}
}

// Strategy is the per-kind behaviour of create, update and status update. Every method gets
// objects of the Resource's Go type (e.g. *appsv1.Deployment); old is the stored object.
// Methods may mutate obj but never old.
type Strategy interface {
	// Default sets upstream's defaults for unset fields. It is applied to every incoming object
	// (create, update, patch result) before validation.
	Default(obj runtime.Object)
	// PrepareForCreate clears what a client may not set on create (usually status) and sets
	// initial values (e.g. a Pod's phase Pending).
	PrepareForCreate(ctx context.Context, obj runtime.Object)
	// PrepareForUpdate keeps what the main resource may not change (usually status).
	PrepareForUpdate(ctx context.Context, obj, old runtime.Object)
	// PrepareForStatusUpdate keeps everything the /status subresource may not change.
	PrepareForStatusUpdate(ctx context.Context, obj, old runtime.Object)
	// Validate checks a new object (after Default and PrepareForCreate). ObjectMeta is already
	// validated generically; validate the rest.
	Validate(ctx context.Context, obj runtime.Object) field.ErrorList
	// ValidateUpdate checks an update, including immutable fields. ObjectMeta is already
	// validated generically.
	ValidateUpdate(ctx context.Context, obj, old runtime.Object) field.ErrorList
	// ValidateStatusUpdate checks a /status update.
	ValidateStatusUpdate(ctx context.Context, obj, old runtime.Object) field.ErrorList
}

// Scale describes how the /scale subresource reads and writes a kind.
type Scale struct {
	// Replicas returns spec replicas, status replicas and the label selector in string form
	// (status.selector of the Scale).
	Replicas func(obj runtime.Object) (spec, status int32, selector string)
	// SetReplicas sets spec replicas.
	SetReplicas func(obj runtime.Object, replicas int32)
}

// Table gives the columns of `kubectl get` for a kind (Server-side printing, as=Table).
type Table struct {
	// Columns lists every column, the first being Name; wide-only columns have Priority 1.
	Columns []metav1.TableColumnDefinition
	// Row returns the cells of one object, one per column, in order. now is the time ages are
	// measured from.
	Row func(obj runtime.Object, now time.Time) []any
}
