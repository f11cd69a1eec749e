package apiserver

import (
	"fmt"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"capstan/internal/apiserver/registry"
)

var defaultTableColumns = []metav1.TableColumnDefinition{
	registry.NameColumn,
	{Name: "Created At", Type: "date", Description: "CreationTimestamp is a timestamp representing the server time when this object was created."},
}

// table renders an object or a list as a metav1.Table (server-side printing). include is
// the includeObject option: None, Metadata (default) or Object.
func (h *resourceHandler) table(obj runtime.Object, include metav1.IncludeObjectPolicy, withColumns bool) (*metav1.Table, error) {
	t := &metav1.Table{TypeMeta: metav1.TypeMeta{Kind: "Table", APIVersion: "meta.k8s.io/v1"}}
	var items []runtime.Object
	if meta.IsListType(obj) {
		var err error
		if items, err = meta.ExtractList(obj); err != nil {
			return nil, fmt.Errorf("table: %w", err)
		}
		if lm, err := meta.ListAccessor(obj); err == nil {
			t.ResourceVersion = lm.GetResourceVersion()
			t.Continue = lm.GetContinue()
			t.RemainingItemCount = lm.GetRemainingItemCount()
		}
	} else {
		items = []runtime.Object{obj}
		if m, err := meta.Accessor(obj); err == nil {
			t.ResourceVersion = m.GetResourceVersion()
		}
	}
	if withColumns {
		t.ColumnDefinitions = defaultTableColumns
		if h.res.Table != nil {
			t.ColumnDefinitions = h.res.Table.Columns
		}
	}
	now := h.s.clock.Now()
	for _, item := range items {
		row := metav1.TableRow{}
		m, err := meta.Accessor(item)
		if err != nil {
			return nil, fmt.Errorf("table: %w", err)
		}
		if h.res.Table != nil {
			row.Cells = h.res.Table.Row(item, now)
		} else {
			row.Cells = []any{m.GetName(), m.GetCreationTimestamp().UTC().Format("2006-01-02T15:04:05Z")}
		}
		switch include {
		case metav1.IncludeNone:
		case metav1.IncludeObject:
			item = item.DeepCopyObject()
			item.GetObjectKind().SetGroupVersionKind(h.res.GVK)
			row.Object.Object = item
		default:
			row.Object.Object = partialMetadata(item)
		}
		t.Rows = append(t.Rows, row)
	}
	if t.Rows == nil {
		t.Rows = []metav1.TableRow{}
	}
	return t, nil
}

// partialMetadata turns an object into PartialObjectMetadata, or a list into
// PartialObjectMetadataList.
func partialMetadata(obj runtime.Object) runtime.Object {
	if meta.IsListType(obj) {
		out := &metav1.PartialObjectMetadataList{TypeMeta: metav1.TypeMeta{Kind: "PartialObjectMetadataList", APIVersion: "meta.k8s.io/v1"}}
		if lm, err := meta.ListAccessor(obj); err == nil {
			out.ResourceVersion = lm.GetResourceVersion()
			out.Continue = lm.GetContinue()
			out.RemainingItemCount = lm.GetRemainingItemCount()
		}
		items, _ := meta.ExtractList(obj)
		for _, item := range items {
			out.Items = append(out.Items, *partialMetadata(item).(*metav1.PartialObjectMetadata))
		}
		return out
	}
	out := &metav1.PartialObjectMetadata{TypeMeta: metav1.TypeMeta{Kind: "PartialObjectMetadata", APIVersion: "meta.k8s.io/v1"}}
	if m, err := meta.Accessor(obj); err == nil {
		out.ObjectMeta = metav1.ObjectMeta{
			Name: m.GetName(), GenerateName: m.GetGenerateName(), Namespace: m.GetNamespace(),
			UID: m.GetUID(), ResourceVersion: m.GetResourceVersion(), Generation: m.GetGeneration(),
			CreationTimestamp: m.GetCreationTimestamp(), DeletionTimestamp: m.GetDeletionTimestamp(),
			DeletionGracePeriodSeconds: m.GetDeletionGracePeriodSeconds(), Labels: m.GetLabels(),
			Annotations: m.GetAnnotations(), OwnerReferences: m.GetOwnerReferences(),
			Finalizers: m.GetFinalizers(), ManagedFields: m.GetManagedFields(),
		}
	}
	return out
}
