package fieldmanager

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"
	"sigs.k8s.io/structured-merge-diff/v6/merge"
	"sigs.k8s.io/structured-merge-diff/v6/typed"
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
	var ignored *fieldpath.Set
	switch {
	case opts.HasStatus && opts.Subresource == "":
		ignored = fieldpath.NewSet(fieldpath.MakePathOrDie("status"))
	case opts.HasStatus && opts.Subresource == "status":
		ignored = fieldpath.NewSet(fieldpath.MakePathOrDie("spec"))
	}
	b := merge.UpdaterBuilder{Converter: versionConverter{version}}
	if ignored != nil {
		b.IgnoreFilter = map[fieldpath.APIVersion]fieldpath.Filter{version: fieldpath.NewExcludeSetFilter(ignored)}
	}
	m := &Manager{typ: typ, gvk: opts.GVK, apiVersion: version, subresource: opts.Subresource, updater: b.BuildUpdater()}
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

// currentOperation is the key an Update is computed under before it is merged into its
// manager's entry: only what this write changed moves the entry's time.
const currentOperation = "\x00current-operation"

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
	mf, err := m.managedForUpdate(live, om.GetManagedFields())
	if err != nil {
		return err
	}
	om.SetManagedFields(nil)
	liveTV, err := m.liveTyped(live)
	if err != nil {
		return err
	}
	newTV, err := m.typ.FromStructured(obj, typed.AllowDuplicates)
	if err != nil {
		return fmt.Errorf("converting the new object to its schema: %w", err)
	}
	if err := m.record(mf, liveTV, newTV, manager, now); err != nil {
		return err
	}
	entries, err := mf.encode()
	if err != nil {
		return err
	}
	om.SetManagedFields(entries)
	return nil
}

// record merges the fields changed from liveTV to newTV into manager's Update entry.
func (m *Manager) record(mf *managed, liveTV, newTV *typed.TypedValue, manager string, now time.Time) error {
	_, fields, err := m.updater.Update(liveTV, newTV, m.apiVersion, mf.fields, currentOperation)
	if err != nil {
		return fmt.Errorf("updating managed fields: %w", err)
	}
	mf.fields = fields
	if vs, ok := fields[currentOperation]; ok {
		delete(fields, currentOperation)
		key := entryID{manager: manager, operation: metav1.ManagedFieldsOperationUpdate, apiVersion: string(m.apiVersion), subresource: m.subresource}.key()
		set := vs.Set()
		if prev, ok := fields[key]; ok {
			set = set.Union(prev.Set())
		}
		fields[key] = fieldpath.NewVersionedSet(set, m.apiVersion, false)
		mf.times[key] = &metav1.Time{Time: now.UTC().Truncate(time.Second)}
	}
	mf.strip()
	mf.capUpdates()
	return nil
}

// managedForUpdate picks the managed fields an update starts from: those of the request
// unless they are missing or invalid (clients that do not know the field must not clear it),
// none when the request resets them, and those of live on a subresource.
func (m *Manager) managedForUpdate(live runtime.Object, requested []metav1.ManagedFieldsEntry) (*managed, error) {
	if m.subresource == "" {
		if isReset(requested) {
			return emptyManaged(), nil
		}
		if len(requested) > 0 {
			if mf, err := decodeManaged(requested); err == nil && len(mf.fields) > 0 {
				return mf, nil
			}
		}
	}
	return liveManaged(live), nil
}

func liveManaged(live runtime.Object) *managed {
	if live == nil {
		return emptyManaged()
	}
	lm, err := meta.Accessor(live)
	if err != nil {
		return emptyManaged()
	}
	mf, err := decodeManaged(lm.GetManagedFields())
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

// liveTyped converts live, without its managedFields, to its typed value; nil is an empty
// object. live is not modified: a shallow copy gets the cleared metadata.
func (m *Manager) liveTyped(live runtime.Object) (*typed.TypedValue, error) {
	if live == nil {
		return m.typ.FromUnstructured(map[string]any{})
	}
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
	tv, err := m.typ.FromStructured(cp.Interface(), typed.AllowDuplicates)
	if err != nil {
		return nil, fmt.Errorf("converting the live object to its schema: %w", err)
	}
	return tv, nil
}

// Apply merges config, an applied configuration decoded from YAML or JSON, into live (nil
// when the object does not exist yet) for manager, and decodes the result with its
// managedFields into `into`, an empty object of the kind. Changing fields another manager
// owns is a 409 conflict unless force is set, which takes them over. Bad configurations are
// 400s with upstream's messages. live is never modified.
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
	mf := liveManaged(live)
	liveTV, err := m.liveTyped(live)
	if err != nil {
		return err
	}
	if live != nil && len(mf.fields) == 0 {
		// An object nobody manages yet: what it holds belongs to "before-first-apply".
		empty, err := m.typ.FromUnstructured(map[string]any{})
		if err != nil {
			return err
		}
		if err := m.record(mf, empty, liveTV, beforeFirstApply, now); err != nil {
			return err
		}
	}
	key := entryID{manager: manager, operation: metav1.ManagedFieldsOperationApply, apiVersion: string(m.apiVersion), subresource: m.subresource}.key()
	before := mf.fields[key]
	newTV, fields, err := m.updater.Apply(liveTV, configTV, m.apiVersion, mf.fields, key, force)
	if err != nil {
		var conflicts merge.Conflicts
		if errors.As(err, &conflicts) {
			return conflictError(conflicts)
		}
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
