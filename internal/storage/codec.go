package storage

import (
	"bytes"
	"fmt"
	"strconv"

	"go.etcd.io/etcd/api/v3/mvccpb"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
)

// item is one object version in the cache. Every field is immutable once the item is built:
// the cache, its snapshots, the event history and watchers share items.
type item struct {
	key    string
	obj    runtime.Object // decoded, with resourceVersion = rev
	labels labels.Set
	fields fields.Set
	rev    int64 // ModRevision
	lease  int64 // etcd lease the key is attached to, 0 for none
}

// itemLess orders items by key, the order of lists.
func itemLess(a, b *item) bool { return a.key < b.key }

// pivot is a search key for the tree.
func pivot(key string) *item { return &item{key: key} }

// encode encodes obj without its resourceVersion. obj is unchanged when encode returns.
func (s *Store) encode(obj runtime.Object) ([]byte, error) {
	m, err := meta.Accessor(obj)
	if err != nil {
		return nil, apiInternal(err)
	}
	rv := m.GetResourceVersion()
	if rv != "" {
		m.SetResourceVersion("")
		defer m.SetResourceVersion(rv)
	}
	var buf bytes.Buffer
	if err := s.codec.Encode(obj, &buf); err != nil {
		return nil, apiInternal(fmt.Errorf("encoding %T: %w", obj, err))
	}
	return buf.Bytes(), nil
}

// decode decodes a stored value and sets its resourceVersion to rev.
func (s *Store) decode(data []byte, rev int64) (runtime.Object, error) {
	obj, _, err := s.codec.Decode(data, nil, s.newFunc())
	if err != nil {
		return nil, err
	}
	if err := setRV(obj, rev); err != nil {
		return nil, err
	}
	return obj, nil
}

// newItem decodes an etcd key-value into a cache item.
func (s *Store) newItem(kv *mvccpb.KeyValue) (*item, error) {
	obj, err := s.decode(kv.Value, kv.ModRevision)
	if err != nil {
		return nil, fmt.Errorf("decoding %s: %w", kv.Key, err)
	}
	return s.itemOf(string(kv.Key), obj, kv.ModRevision, kv.Lease)
}

// itemOf builds an item around obj, which must not change afterwards.
func (s *Store) itemOf(key string, obj runtime.Object, rev, lease int64) (*item, error) {
	l, f, err := s.attrFunc(obj)
	if err != nil {
		return nil, fmt.Errorf("attributes of %s: %w", key, err)
	}
	return &item{key: key, obj: obj, labels: l, fields: f, rev: rev, lease: lease}, nil
}

// setRV sets obj's resourceVersion to rev.
func setRV(obj runtime.Object, rev int64) error {
	m, err := meta.Accessor(obj)
	if err != nil {
		return err
	}
	m.SetResourceVersion(strconv.FormatInt(rev, 10))
	return nil
}

// copyAtRev returns a deep copy of obj with resourceVersion rev.
func copyAtRev(obj runtime.Object, rev int64) runtime.Object {
	c := obj.DeepCopyObject()
	_ = setRV(c, rev) // obj came from the cache, so it has object metadata
	return c
}

// parseRV parses a resourceVersion parameter; "" and "0" are 0.
func parseRV(rv string) (int64, error) {
	if rv == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(rv, 10, 64)
	if err != nil || n < 0 {
		return 0, badRequest(fmt.Sprintf("invalid resource version: %q is not a valid resource version", rv))
	}
	return n, nil
}

// metaOf is meta.Accessor with an API error.
func metaOf(obj runtime.Object) (metav1.Object, error) {
	m, err := meta.Accessor(obj)
	if err != nil {
		return nil, apiInternal(err)
	}
	return m, nil
}
