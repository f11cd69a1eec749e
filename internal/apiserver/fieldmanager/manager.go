package fieldmanager

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"
	"sigs.k8s.io/structured-merge-diff/v6/merge"
	smdschema "sigs.k8s.io/structured-merge-diff/v6/schema"
	"sigs.k8s.io/structured-merge-diff/v6/typed"
	"sigs.k8s.io/structured-merge-diff/v6/value"
)

// Options select a Manager.
type Options struct {
	// GVK is the kind written (the version of the endpoint). Required.
	GVK schema.GroupVersionKind
	// Subresource is the subresource written through ("status", "scale", ...), "" for the
	// main resource. It is part of every entry the manager records, and a subresource write
	// never takes managedFields from the request.
	Subresource string
	// HasStatus is true for kinds with a status subresource: the main resource then never
	// owns .status, and the status subresource never owns .spec (upstream's reset fields).
	HasStatus bool
}

type managerKey struct {
	gvk         schema.GroupVersionKind
	subresource string
	hasStatus   bool
}

// Manager records field ownership of one kind written through one subresource. It is safe
// for concurrent use.
type Manager struct {
	typ         typed.ParseableType
	gvk         schema.GroupVersionKind
	apiVersion  fieldpath.APIVersion
	subresource string
	updater     *merge.Updater
	// ignore drops the fields the write may not own (upstream's reset fields); nil for none.
	ignore fieldpath.Filter
	// compareType is the type updates compare objects as: the kind's, except that the
	// top-level field the write may not own is an atomic leaf (equal, since the strategy
	// resets it), which spares walking it field by field.
	compareType smdschema.TypeRef
}

// Manager returns the (cached) manager of opts.GVK and opts.Subresource; ok is false when the
// kind has no schema.
func (c *TypeConverter) Manager(opts Options) (*Manager, bool) {
	key := managerKey{opts.GVK, opts.Subresource, opts.HasStatus}
	c.mu.Lock()
	defer c.mu.Unlock()
	if m, ok := c.managers[key]; ok {
		return m, true
	}
	typ, ok := c.Type(opts.GVK)
	if !ok {
		return nil, false
	}
	version := fieldpath.APIVersion(opts.GVK.GroupVersion().String())
	var skip string
	switch {
	case opts.HasStatus && opts.Subresource == "":
		skip = "status"
	case opts.HasStatus && opts.Subresource == "status":
		skip = "spec"
	}
	var ignored *fieldpath.Set
	compareType := typ.TypeRef
	if skip != "" {
		ignored = fieldpath.NewSet(fieldpath.MakePathOrDie(skip))
		if root, ok := typ.Schema.Resolve(typ.TypeRef); ok && root.Map != nil {
			cm := &smdschema.Map{ElementType: named(untypedAtomic), ElementRelationship: root.Map.ElementRelationship}
			for _, f := range root.Map.Fields {
				if f.Name != skip {
					cm.Fields = append(cm.Fields, f)
				}
			}
			compareType = smdschema.TypeRef{Inlined: smdschema.Atom{Map: cm}}
		}
	}
	b := merge.UpdaterBuilder{Converter: versionConverter{version}}
	var ignore fieldpath.Filter
	if ignored != nil {
		ignore = fieldpath.NewExcludeSetFilter(ignored)
		b.IgnoreFilter = map[fieldpath.APIVersion]fieldpath.Filter{version: ignore}
	}
	m := &Manager{typ: typ, gvk: opts.GVK, apiVersion: version, subresource: opts.Subresource, updater: b.BuildUpdater(), ignore: ignore, compareType: compareType}
	c.managers[key] = m
	return m, true
}

// versionConverter converts between versions of a kind. The server serves each kind at one
// version, so entries recorded at another version (imported objects, events read through the
// other group) cannot be converted and are dropped, as upstream drops entries of versions it
// no longer serves.
type versionConverter struct{ version fieldpath.APIVersion }

var errMissingVersion = errors.New("fieldmanager: version not served")

func (c versionConverter) Convert(obj *typed.TypedValue, version fieldpath.APIVersion) (*typed.TypedValue, error) {
	if version == c.version {
		return obj, nil
	}
	return nil, errMissingVersion
}

func (versionConverter) IsMissingVersionError(err error) bool {
	return errors.Is(err, errMissingVersion)
}

// beforeFirstApply owns the fields of an object that has no managedFields when it is first
// applied to, so the apply conflicts where it would change them, as upstream.
const beforeFirstApply = "before-first-apply"

// Update records what manager changed from live to obj in obj's managedFields, as an Update
// entry; live is nil for a create. A write through the main resource may replace or reset
// (a [] or [{}] list) the managed fields; otherwise those of live are kept. live is never
// modified. On error obj's managedFields are cleared, as upstream does rather than fail a
// write over bookkeeping, and the error is returned to be logged.
func (m *Manager) Update(live, obj runtime.Object, manager string, now time.Time) error {
	err := m.update(live, obj, manager, now)
	if err != nil {
		if om, merr := meta.Accessor(obj); merr == nil {
			om.SetManagedFields(nil)
		}
	}
	return err
}

func (m *Manager) update(live, obj runtime.Object, manager string, now time.Time) error {
	manager = orUnknown(manager)
	om, err := meta.Accessor(obj)
	if err != nil {
		return err
	}
	requested := om.GetManagedFields()
	om.SetManagedFields(nil)
	var liveEntries []metav1.ManagedFieldsEntry
	if live != nil {
		lm, err := meta.Accessor(live)
		if err != nil {
			return err
		}
		liveEntries = lm.GetManagedFields()
	} else {
		// A create compares with an empty object of the kind, as upstream does: fields every
		// object has (an empty spec) are not changes.
		live = emptyLike(obj)
	}
	liveTV, err := m.liveTyped(live, m.compareType)
	if err != nil {
		return err
	}
	newTV, err := m.structured(obj, m.compareType)
	if err != nil {
		return fmt.Errorf("converting the new object to its schema: %w", err)
	}
	cmp, err := liveTV.Compare(newTV)
	if err != nil {
		return fmt.Errorf("comparing the objects: %w", err)
	}
	if m.ignore != nil {
		cmp = cmp.FilterFields(m.ignore)
	}
	changed := cmp.Modified.Union(cmp.Added).Difference(stripSet)
	keepLive := m.subresource != "" || (!isReset(requested) && (len(requested) == 0 || sameEntries(requested, liveEntries)))
	if keepLive && changed.Empty() && cmp.Removed.Empty() {
		// Nothing anyone owns changed: the stored entries stand as they are.
		om.SetManagedFields(liveEntries)
		return nil
	}
	key := entryID{manager: manager, operation: metav1.ManagedFieldsOperationUpdate, apiVersion: string(m.apiVersion), subresource: m.subresource}.key()
	var mf *managed
	if keepLive {
		mf = m.liveManagedFor(liveEntries, key, changed, cmp.Removed)
	} else if mf, err = m.managedForUpdate(requested, liveEntries); err != nil {
		return err
	}
	m.record(mf, changed, cmp.Removed, manager, now)
	entries, err := mf.encode()
	if err != nil {
		return err
	}
	om.SetManagedFields(entries)
	return nil
}

// record applies a write's changes to the entries: what the write changed leaves every
// other manager and joins manager's Update entry; what it removed leaves every manager.
// Entries of another apiVersion cannot be compared and are dropped.
func (m *Manager) record(mf *managed, changed, removed *fieldpath.Set, manager string, now time.Time) {
	for key, e := range mf.opaque {
		if e.APIVersion != string(m.apiVersion) {
			delete(mf.opaque, key)
		}
	}
	for key, vs := range mf.fields {
		if vs.APIVersion() != m.apiVersion {
			delete(mf.fields, key)
			delete(mf.times, key)
			continue
		}
		set := vs.Set()
		if !changed.Empty() {
			set = set.Difference(changed)
		}
		if !removed.Empty() {
			set = set.Difference(removed)
		}
		if set.Empty() {
			delete(mf.fields, key)
			delete(mf.times, key)
		} else if set != vs.Set() {
			mf.fields[key] = fieldpath.NewVersionedSet(set, vs.APIVersion(), vs.Applied())
		}
	}
	if !changed.Empty() {
		key := entryID{manager: manager, operation: metav1.ManagedFieldsOperationUpdate, apiVersion: string(m.apiVersion), subresource: m.subresource}.key()
		set := changed
		if prev, ok := mf.fields[key]; ok {
			set = set.Union(prev.Set())
		}
		mf.fields[key] = fieldpath.NewVersionedSet(set, m.apiVersion, false)
		mf.times[key] = &metav1.Time{Time: now.UTC().Truncate(time.Second)}
	}
	mf.capUpdates()
}

// emptyLike is a new empty object of obj's Go type.
func emptyLike(obj runtime.Object) runtime.Object {
	return reflect.New(reflect.TypeOf(obj).Elem()).Interface().(runtime.Object)
}

// sameEntries reports whether a request sent back the stored entries unchanged, the usual
// case of a read-modify-write, without decoding them.
func sameEntries(a, b []metav1.ManagedFieldsEntry) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := &a[i], &b[i]
		if x.Manager != y.Manager || x.Operation != y.Operation || x.APIVersion != y.APIVersion ||
			x.Subresource != y.Subresource || x.FieldsType != y.FieldsType ||
			(x.Time == nil) != (y.Time == nil) || (x.Time != nil && !x.Time.Equal(y.Time)) ||
			(x.FieldsV1 == nil) != (y.FieldsV1 == nil) || (x.FieldsV1 != nil && !bytes.Equal(x.FieldsV1.Raw, y.FieldsV1.Raw)) {
			return false
		}
	}
	return true
}

// managedForUpdate picks the managed fields an update starts from: those of the request
// unless they are missing or invalid (clients that do not know the field must not clear it),
// none when the request resets them, and those of live on a subresource.
func (m *Manager) managedForUpdate(requested, live []metav1.ManagedFieldsEntry) (*managed, error) {
	if m.subresource == "" && !sameEntries(requested, live) {
		if isReset(requested) {
			return emptyManaged(), nil
		}
		if len(requested) > 0 {
			if mf, err := decodeManaged(requested); err == nil && len(mf.fields) > 0 {
				// Entries written by a client may name fields nobody owns.
				mf.strip()
				return mf, nil
			}
		}
	}
	return liveManaged(live), nil
}

// liveManagedFor decodes the stored entries an update may touch: the writer's own, and
// those whose fields name a top-level field the update changed or removed. The others cannot
// lose a field and are kept as they are.
func (m *Manager) liveManagedFor(entries []metav1.ManagedFieldsEntry, own string, changed, removed *fieldpath.Set) *managed {
	var tops [][]byte
	for _, s := range []*fieldpath.Set{changed, removed} {
		for pe := range s.Members.All() {
			if pe.FieldName != nil {
				tops = append(tops, []byte(`"f:`+*pe.FieldName+`"`))
			}
		}
		for pe := range s.Children.All() {
			if pe.FieldName != nil {
				tops = append(tops, []byte(`"f:`+*pe.FieldName+`"`))
			}
		}
	}
	mf, err := decodeManagedExcept(entries, func(key string, e *metav1.ManagedFieldsEntry) bool {
		if key == own || e.FieldsV1 == nil {
			return false
		}
		for _, top := range tops {
			if bytes.Contains(e.FieldsV1.Raw, top) {
				return false
			}
		}
		return true
	})
	if err != nil {
		return emptyManaged()
	}
	return mf
}

func liveManaged(entries []metav1.ManagedFieldsEntry) *managed {
	mf, err := decodeManaged(entries)
	if err != nil {
		return emptyManaged()
	}
	return mf
}

// isReset reports whether a request asks to clear managedFields: a present but empty list,
// or a list of one empty entry.
func isReset(entries []metav1.ManagedFieldsEntry) bool {
	switch len(entries) {
	case 0:
		return entries != nil
	case 1:
		return reflect.DeepEqual(entries[0], metav1.ManagedFieldsEntry{})
	}
	return false
}

// liveTyped converts live, without its managedFields, to its typed value. live is not
// modified: a shallow copy gets the cleared metadata.
func (m *Manager) liveTyped(live runtime.Object, tr smdschema.TypeRef) (*typed.TypedValue, error) {
	v := reflect.ValueOf(live)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return nil, fmt.Errorf("live object %T is not a pointer to a struct", live)
	}
	cp := reflect.New(v.Elem().Type())
	cp.Elem().Set(v.Elem())
	cm, err := meta.Accessor(cp.Interface())
	if err != nil {
		return nil, err
	}
	cm.SetManagedFields(nil)
	tv, err := m.structured(cp.Interface(), tr)
	if err != nil {
		return nil, fmt.Errorf("converting the live object to its schema: %w", err)
	}
	return tv, nil
}

// structured is the typed value of a Go object of the kind. The server's objects fit their
// schema by construction, so they are not validated: the comparison walks them anyway.
func (m *Manager) structured(obj any, tr smdschema.TypeRef) (*typed.TypedValue, error) {
	v, err := value.NewValueReflect(obj)
	if err != nil {
		return nil, err
	}
	return typed.AsTypedUnvalidated(v, m.typ.Schema, tr), nil
}

// Apply merges config, an applied configuration decoded from YAML or JSON, into live (an
// empty object, or nil, when the object does not exist yet) for manager, and decodes the
// result with its managedFields into `into`, an empty object of the kind. Changing fields
// another manager owns is a 409 conflict unless force is set, which takes them over. Bad
// configurations are 400s with upstream's messages. live is never modified.
//
// For kubectl, as upstream: fields its client-side apply annotation says it set (and that
// still hold those values) are its own, and that annotation, when present, is rewritten to
// the configuration applied.
func (m *Manager) Apply(live runtime.Object, config map[string]any, into runtime.Object, manager string, force bool, now time.Time) error {
	u := &unstructured.Unstructured{Object: config}
	if gvk := u.GroupVersionKind(); gvk != m.gvk {
		return apierrors.NewBadRequest(fmt.Sprintf("invalid object type: %v", gvk))
	}
	if v, found, _ := unstructured.NestedFieldNoCopy(config, "metadata", "managedFields"); found && v != nil {
		return apierrors.NewBadRequest("metadata.managedFields must be nil")
	}
	manager = orUnknown(manager)
	configTV, err := m.typ.FromUnstructured(config)
	if err != nil {
		return apierrors.NewBadRequest(fmt.Sprintf("failed to create typed patch object (%s; %v): %v", objectRef(u.GetNamespace(), u.GetName()), m.gvk, err))
	}
	if live == nil {
		live = emptyLike(into)
	}
	lm, err := meta.Accessor(live)
	if err != nil {
		return err
	}
	mf := liveManaged(lm.GetManagedFields())
	liveTV, err := m.liveTyped(live, m.typ.TypeRef)
	if err != nil {
		return err
	}
	if len(mf.fields) == 0 {
		// An object nobody manages yet: what it holds belongs to "before-first-apply" (nothing,
		// for an object being created).
		emptyTV, err := m.structured(emptyLike(live), m.typ.TypeRef)
		if err != nil {
			return err
		}
		cmp, err := emptyTV.Compare(liveTV)
		if err != nil {
			return fmt.Errorf("comparing the live object: %w", err)
		}
		if m.ignore != nil {
			cmp = cmp.FilterFields(m.ignore)
		}
		m.record(mf, cmp.Modified.Union(cmp.Added).Difference(stripSet), cmp.Removed, beforeFirstApply, now)
	}
	key := entryID{manager: manager, operation: metav1.ManagedFieldsOperationApply, apiVersion: string(m.apiVersion), subresource: m.subresource}.key()
	before := mf.fields[key]
	newTV, fields, err := m.updater.Apply(liveTV, configTV, m.apiVersion, mf.fields.Copy(), key, force)
	var conflicts merge.Conflicts
	if errors.As(err, &conflicts) && manager == kubectlManager {
		// kubectl moving from client-side to server-side apply: fields its last client-side
		// apply set, still at those values, are its own, as upstream.
		if allowed, lerr := m.lastAppliedFields(live, liveTV); lerr == nil {
			conflicts = slices.DeleteFunc(conflicts, func(c merge.Conflict) bool { return allowed.Has(c.Path) })
			if len(conflicts) == 0 {
				newTV, fields, err = m.updater.Apply(liveTV, configTV, m.apiVersion, mf.fields.Copy(), key, true)
			}
		}
	}
	if len(conflicts) > 0 {
		return conflictError(conflicts)
	}
	if err != nil {
		return apierrors.NewBadRequest(err.Error())
	}
	mf.fields = fields
	after := fields[key]
	if newTV != nil || before == nil || after == nil || !before.Set().Equals(after.Set()) {
		mf.times[key] = &metav1.Time{Time: now.UTC().Truncate(time.Second)}
	}
	if newTV == nil {
		newTV = liveTV
	}
	mf.strip()
	mf.capUpdates()
	out, ok := newTV.AsValue().Unstructured().(map[string]any)
	if !ok {
		return fmt.Errorf("applied object is not an object")
	}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(out, into); err != nil {
		return apierrors.NewBadRequest(fmt.Sprintf("decoding the applied object: %v", err))
	}
	into.GetObjectKind().SetGroupVersionKind(schema.GroupVersionKind{})
	if manager == kubectlManager {
		if err := syncLastApplied(into, config); err != nil {
			return err
		}
	}
	entries, err := mf.encode()
	if err != nil {
		return err
	}
	im, err := meta.Accessor(into)
	if err != nil {
		return err
	}
	im.SetManagedFields(entries)
	return nil
}

// kubectlManager is kubectl's manager for server-side apply, whose client-side apply
// annotation upstream keeps in step.
const kubectlManager = "kubectl"

// lastAppliedFields is what kubectl's client-side apply annotation on live says it applied
// and live still holds unchanged.
func (m *Manager) lastAppliedFields(live runtime.Object, liveTV *typed.TypedValue) (*fieldpath.Set, error) {
	lm, err := meta.Accessor(live)
	if err != nil {
		return nil, err
	}
	raw := lm.GetAnnotations()[corev1.LastAppliedConfigAnnotation]
	if raw == "" {
		return nil, errors.New("no last applied configuration")
	}
	var last map[string]any
	if err := json.Unmarshal([]byte(raw), &last); err != nil {
		return nil, err
	}
	if gvk := (&unstructured.Unstructured{Object: last}).GroupVersionKind(); gvk != m.gvk {
		return nil, fmt.Errorf("last applied configuration is a %v", gvk)
	}
	lastTV, err := m.typ.FromUnstructured(last, typed.AllowDuplicates)
	if err != nil {
		return nil, err
	}
	set, err := lastTV.ToFieldSet()
	if err != nil {
		return nil, err
	}
	cmp, err := lastTV.Compare(liveTV)
	if err != nil {
		return nil, err
	}
	return set.Difference(cmp.Modified).Difference(cmp.Added).Difference(cmp.Removed), nil
}

// syncLastApplied rewrites client-side apply's annotation, when obj has it, to the
// configuration kubectl just applied server-side, as upstream does: a later client-side
// apply then diffs against what was really applied last.
func syncLastApplied(obj runtime.Object, config map[string]any) error {
	m, err := meta.Accessor(obj)
	if err != nil {
		return err
	}
	annotations := m.GetAnnotations()
	if _, ok := annotations[corev1.LastAppliedConfigAnnotation]; !ok {
		return nil
	}
	cfg := maps.Clone(config)
	if md, ok := cfg["metadata"].(map[string]any); ok {
		md = maps.Clone(md)
		if ann, ok := md["annotations"].(map[string]any); ok {
			ann = maps.Clone(ann)
			delete(ann, corev1.LastAppliedConfigAnnotation)
			md["annotations"] = ann
		}
		cfg["metadata"] = md
	}
	data, err := json.Marshal(cfg)
	if err != nil {
		return fmt.Errorf("encoding the last applied configuration: %w", err)
	}
	annotations[corev1.LastAppliedConfigAnnotation] = string(data) + "\n"
	m.SetAnnotations(annotations)
	return nil
}

func orUnknown(manager string) string {
	if manager == "" {
		return "unknown"
	}
	return manager
}

func objectRef(ns, name string) string {
	if ns == "" {
		return "/" + name
	}
	return ns + "/" + name
}

// conflictError is upstream's 409 for apply conflicts: one FieldManagerConflict cause per
// field, and a message grouping the fields by manager.
func conflictError(conflicts merge.Conflicts) *apierrors.StatusError {
	conflicts = slices.Clone(conflicts)
	slices.SortStableFunc(conflicts, func(a, b merge.Conflict) int {
		if c := strings.Compare(a.Manager, b.Manager); c != 0 {
			return c
		}
		return a.Path.Compare(b.Path)
	})
	causes := make([]metav1.StatusCause, 0, len(conflicts))
	for _, c := range conflicts {
		causes = append(causes, metav1.StatusCause{
			Type:    metav1.CauseTypeFieldManagerConflict,
			Message: "conflict with " + describeManager(c.Manager),
			Field:   c.Path.String(),
		})
	}
	var msg string
	if len(conflicts) == 1 {
		msg = fmt.Sprintf("Apply failed with 1 conflict: conflict with %s: %v", describeManager(conflicts[0].Manager), conflicts[0].Path)
	} else {
		var lines []string
		for i, c := range conflicts {
			if i == 0 || c.Manager != conflicts[i-1].Manager {
				lines = append(lines, fmt.Sprintf("conflicts with %s:", describeManager(c.Manager)))
			}
			lines = append(lines, fmt.Sprintf("- %v", c.Path))
		}
		msg = fmt.Sprintf("Apply failed with %d conflicts: %s", len(conflicts), strings.Join(lines, "\n"))
	}
	return apierrors.NewApplyConflict(causes, msg)
}

// describeManager names an entry in a conflict: "name", with its subresource, and for Update
// entries the apiVersion ("kubectl" using apps/v1).
func describeManager(key string) string {
	id := parseKey(key)
	s := fmt.Sprintf("%q", id.manager)
	if id.subresource != "" {
		s = fmt.Sprintf("%s with subresource %q", s, id.subresource)
	}
	if id.operation == metav1.ManagedFieldsOperationUpdate {
		s = fmt.Sprintf("%s using %s", s, id.apiVersion)
	}
	return s
}

// ManagerName is the manager of a write: the fieldManager option, else the User-Agent up to
// its first "/", without unprintable characters and cut to the 128 bytes a manager may have.
func ManagerName(fieldManager, userAgent string) string {
	if fieldManager != "" {
		return fieldManager
	}
	prefix, _, _ := strings.Cut(userAgent, "/")
	var b strings.Builder
	for _, r := range prefix {
		if !unicode.IsPrint(r) {
			continue
		}
		if b.Len()+utf8.RuneLen(r) > validation.FieldManagerMaxLength {
			break
		}
		b.WriteRune(r)
	}
	return b.String()
}
