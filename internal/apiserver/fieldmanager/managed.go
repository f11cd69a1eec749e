package fieldmanager

import (
	"bytes"
	"fmt"
	"slices"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"
)

// An entry of managedFields is identified by its manager, operation, apiVersion and
// subresource: writes by the same four merge into one entry. structured-merge-diff keys its
// managers by a string; ours joins the four with a NUL, which no valid manager contains.
type entryID struct {
	manager     string
	operation   metav1.ManagedFieldsOperationType
	apiVersion  string
	subresource string
}

func (id entryID) key() string {
	return id.manager + "\x00" + string(id.operation) + "\x00" + id.apiVersion + "\x00" + id.subresource
}

func parseKey(key string) entryID {
	parts := strings.SplitN(key, "\x00", 4)
	for len(parts) < 4 {
		parts = append(parts, "")
	}
	return entryID{manager: parts[0], operation: metav1.ManagedFieldsOperationType(parts[1]), apiVersion: parts[2], subresource: parts[3]}
}

// managed is the decoded managedFields of an object: the field sets by entry key, each
// entry's time, and the entries as they were (to reuse the encoding of unchanged sets).
// Entries a write cannot touch may stay undecoded (opaque) and are written back as they were.
type managed struct {
	fields fieldpath.ManagedFields
	times  map[string]*metav1.Time
	orig   map[string]origEntry
	opaque map[string]metav1.ManagedFieldsEntry
}

type origEntry struct {
	entry metav1.ManagedFieldsEntry
	set   *fieldpath.Set
}

func emptyManaged() *managed {
	return &managed{fields: fieldpath.ManagedFields{}, times: map[string]*metav1.Time{}}
}

// decodeManaged decodes managedFields entries. Entries naming the same manager, operation,
// apiVersion and subresource are merged.
func decodeManaged(entries []metav1.ManagedFieldsEntry) (*managed, error) {
	return decodeManagedExcept(entries, nil)
}

// decodeManagedExcept is decodeManaged leaving the entries skip says a write cannot touch
// undecoded: parsing the field sets is most of the cost of a small write.
func decodeManagedExcept(entries []metav1.ManagedFieldsEntry, skip func(key string, e *metav1.ManagedFieldsEntry) bool) (*managed, error) {
	m := emptyManaged()
	m.orig = make(map[string]origEntry, len(entries))
	seen := make(map[string]bool, len(entries))
	for i := range entries {
		e := &entries[i]
		switch e.Operation {
		case metav1.ManagedFieldsOperationApply, metav1.ManagedFieldsOperationUpdate:
		default:
			return nil, fmt.Errorf("managed fields entry %d: operation must be Apply or Update, got %q", i, e.Operation)
		}
		if e.APIVersion == "" {
			return nil, fmt.Errorf("managed fields entry %d: apiVersion must not be empty", i)
		}
		if e.FieldsType != "FieldsV1" {
			return nil, fmt.Errorf("managed fields entry %d: invalid fieldsType %q", i, e.FieldsType)
		}
		key := entryID{manager: e.Manager, operation: e.Operation, apiVersion: e.APIVersion, subresource: e.Subresource}.key()
		if skip != nil && !seen[key] && skip(key, e) {
			if m.opaque == nil {
				m.opaque = map[string]metav1.ManagedFieldsEntry{}
			}
			m.opaque[key] = *e
			seen[key] = true
			continue
		}
		if o, ok := m.opaque[key]; ok {
			// A repeated entry: both are decoded and merged.
			delete(m.opaque, key)
			if err := m.decodeInto(key, &o); err != nil {
				return nil, fmt.Errorf("managed fields entry %d: %w", i, err)
			}
		}
		seen[key] = true
		if err := m.decodeInto(key, e); err != nil {
			return nil, fmt.Errorf("managed fields entry %d: %w", i, err)
		}
	}
	return m, nil
}

func (m *managed) decodeInto(key string, e *metav1.ManagedFieldsEntry) error {
	set := &fieldpath.Set{}
	if e.FieldsV1 != nil && len(e.FieldsV1.Raw) > 0 {
		if err := set.FromJSON(bytes.NewReader(e.FieldsV1.Raw)); err != nil {
			return err
		}
	}
	if prev, ok := m.fields[key]; ok {
		set = set.Union(prev.Set())
		delete(m.orig, key)
	} else {
		m.orig[key] = origEntry{entry: *e, set: set}
	}
	m.fields[key] = fieldpath.NewVersionedSet(set, fieldpath.APIVersion(e.APIVersion), e.Operation == metav1.ManagedFieldsOperationApply)
	if e.Time != nil && (m.times[key] == nil || m.times[key].Before(e.Time)) {
		m.times[key] = e.Time
	}
	return nil
}

// decodeOpaque decodes an undecoded entry, for the rare operations that need every set.
func (m *managed) decodeOpaque(key string) error {
	e, ok := m.opaque[key]
	if !ok {
		return nil
	}
	delete(m.opaque, key)
	return m.decodeInto(key, &e)
}

// encode returns the entries in upstream's order: Apply before Update, then by time,
// manager, apiVersion and subresource. Entries whose set did not change keep their encoding.
func (m *managed) encode() ([]metav1.ManagedFieldsEntry, error) {
	if len(m.fields)+len(m.opaque) == 0 {
		return nil, nil
	}
	out := make([]metav1.ManagedFieldsEntry, 0, len(m.fields)+len(m.opaque))
	for _, e := range m.opaque {
		out = append(out, e)
	}
	for key, vs := range m.fields {
		id := parseKey(key)
		e := metav1.ManagedFieldsEntry{
			Manager:     id.manager,
			Operation:   id.operation,
			APIVersion:  id.apiVersion,
			Time:        m.times[key],
			FieldsType:  "FieldsV1",
			Subresource: id.subresource,
		}
		if o, ok := m.orig[key]; ok && o.entry.FieldsV1 != nil && (o.set == vs.Set() || o.set.Equals(vs.Set())) {
			e.FieldsV1 = o.entry.FieldsV1
		} else {
			raw, err := vs.Set().ToJSON()
			if err != nil {
				return nil, fmt.Errorf("encoding the fields of %q: %w", id.manager, err)
			}
			e.FieldsV1 = &metav1.FieldsV1{Raw: raw}
		}
		out = append(out, e)
	}
	slices.SortFunc(out, compareEntries)
	return out, nil
}

func compareEntries(p, q metav1.ManagedFieldsEntry) int {
	if c := strings.Compare(string(p.Operation), string(q.Operation)); c != 0 {
		return c
	}
	var ps, qs int64
	if p.Time != nil {
		ps = p.Time.Unix()
	}
	if q.Time != nil {
		qs = q.Time.Unix()
	}
	switch {
	case ps < qs:
		return -1
	case ps > qs:
		return 1
	}
	if c := strings.Compare(p.Manager, q.Manager); c != 0 {
		return c
	}
	if c := strings.Compare(p.APIVersion, q.APIVersion); c != 0 {
		return c
	}
	return strings.Compare(p.Subresource, q.Subresource)
}

// stripSet is what no manager owns: identity and server-set metadata, as upstream strips it.
var stripSet = fieldpath.NewSet(
	fieldpath.MakePathOrDie("apiVersion"),
	fieldpath.MakePathOrDie("kind"),
	fieldpath.MakePathOrDie("metadata"),
	fieldpath.MakePathOrDie("metadata", "name"),
	fieldpath.MakePathOrDie("metadata", "namespace"),
	fieldpath.MakePathOrDie("metadata", "creationTimestamp"),
	fieldpath.MakePathOrDie("metadata", "selfLink"),
	fieldpath.MakePathOrDie("metadata", "uid"),
	fieldpath.MakePathOrDie("metadata", "clusterName"),
	fieldpath.MakePathOrDie("metadata", "generation"),
	fieldpath.MakePathOrDie("metadata", "managedFields"),
	fieldpath.MakePathOrDie("metadata", "resourceVersion"),
)

// strip removes the stripped fields from every set, and the sets left empty.
func (m *managed) strip() {
	for key, vs := range m.fields {
		set := vs.Set().Difference(stripSet)
		if set.Empty() {
			delete(m.fields, key)
			delete(m.times, key)
			continue
		}
		m.fields[key] = fieldpath.NewVersionedSet(set, vs.APIVersion(), vs.Applied())
	}
}

// maxUpdateEntries is how many Update entries an object keeps, as upstream: beyond it the
// oldest are merged into one "ancient-changes" entry per apiVersion.
const (
	maxUpdateEntries = 10
	ancientChanges   = "ancient-changes"
)

func (m *managed) capUpdates() {
	var updates []string
	for key, vs := range m.fields {
		if !vs.Applied() {
			updates = append(updates, key)
		}
	}
	for key, e := range m.opaque {
		if e.Operation == metav1.ManagedFieldsOperationUpdate {
			updates = append(updates, key)
		}
	}
	if len(updates) <= maxUpdateEntries {
		return
	}
	for _, key := range updates {
		if err := m.decodeOpaque(key); err != nil {
			// An undecodable stored entry cannot be merged; it is dropped.
			delete(m.fields, key)
			delete(m.times, key)
		}
	}
	unix := func(key string) int64 {
		if t := m.times[key]; t != nil {
			return t.Unix()
		}
		return 0
	}
	slices.SortFunc(updates, func(a, b string) int {
		if ta, tb := unix(a), unix(b); ta != tb {
			if ta < tb {
				return -1
			}
			return 1
		}
		return strings.Compare(a, b)
	})
	n := len(updates)
	for _, key := range updates {
		if n <= maxUpdateEntries {
			break
		}
		vs, ok := m.fields[key]
		if !ok {
			n--
			continue
		}
		bucket := entryID{manager: ancientChanges, operation: metav1.ManagedFieldsOperationUpdate, apiVersion: string(vs.APIVersion())}.key()
		if key == bucket {
			continue
		}
		set := vs.Set()
		if prev, ok := m.fields[bucket]; ok {
			set = set.Union(prev.Set())
			n--
		}
		m.fields[bucket] = fieldpath.NewVersionedSet(set, vs.APIVersion(), false)
		m.times[bucket] = m.times[key]
		delete(m.fields, key)
		delete(m.times, key)
	}
}
