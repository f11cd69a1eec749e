package storage

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/btree"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
)

// ListOptions selects what a List returns and at which resourceVersion.
type ListOptions struct {
	// Prefix is the key prefix to list: Key("", "") for everything, Key(namespace, "") for
	// one namespace. Empty means everything.
	Prefix string
	// ResourceVersion and ResourceVersionMatch, as upstream:
	//   "" (no match)                 the most recent state (a consistent read);
	//   "0" (no match or NotOlderThan) any state: the cache's, at once;
	//   N (no match or NotOlderThan)   a state at least as new as N (504 when the cache does
	//                                  not reach N within ResourceVersionTimeout);
	//   N with Exact                   the state at exactly N (410 when compacted).
	// A match without a resourceVersion, or Exact with "0", is a 400.
	ResourceVersion      string
	ResourceVersionMatch metav1.ResourceVersionMatch
	// Label and Field filter the items; nil means everything.
	Label labels.Selector
	Field fields.Selector
	// Limit, when positive, caps the number of items; the list then carries a continue
	// token when more may follow, and remainingItemCount when no selector is used.
	Limit int64
	// Continue is the token of a previous page. The continuation reflects the same revision
	// as the first page (410 Expired when it is compacted). ResourceVersion must be "" or "0".
	Continue string
}

// query is a validated list request.
type query struct {
	prefix     string // with a trailing slash
	start      string // first key to consider
	label      labels.Selector
	field      fields.Selector
	limit      int64
	continuing bool
}

func (q *query) filtered() bool { return q.label != nil || q.field != nil }

func (q *query) matches(l labels.Set, f fields.Set) bool {
	return (q.label == nil || q.label.Matches(l)) && (q.field == nil || q.field.Matches(f))
}

// List returns the matching objects in key order as a NewListFunc() list whose
// resourceVersion is the revision it reflects. Lists are served from the cache, except exact
// reads of revisions the cache no longer holds and continuations of pages it did not serve,
// which read etcd at that revision.
//
// Items served from the cache are shallow copies, as upstream's cacher returns them: the
// caller may set an item's fields (name, resourceVersion, managedFields...), but its maps,
// slices and pointed-to structs are shared with the cache and other readers and must not be
// modified in place; deep-copy an item before such changes. (A deep copy of every item costs
// more than the rest of a 10,000-object list together.)
func (s *Store) List(ctx context.Context, opts ListOptions) (runtime.Object, error) {
	prefix, err := s.rangePrefix(opts.Prefix)
	if err != nil {
		return nil, err
	}
	q := query{
		prefix: prefix,
		start:  prefix,
		label:  nonEmptyLabels(opts.Label),
		field:  nonEmptyFields(opts.Field),
		limit:  max(opts.Limit, 0),
	}
	if opts.Continue != "" {
		return s.listContinue(ctx, q, opts)
	}
	rv, err := parseRV(opts.ResourceVersion)
	if err != nil {
		return nil, err
	}
	switch opts.ResourceVersionMatch {
	case "":
	case metav1.ResourceVersionMatchNotOlderThan, metav1.ResourceVersionMatchExact:
		if opts.ResourceVersion == "" {
			return nil, badRequest("resourceVersionMatch is forbidden unless resourceVersion is provided")
		}
		if opts.ResourceVersionMatch == metav1.ResourceVersionMatchExact && rv == 0 {
			return nil, badRequest(`resourceVersionMatch "exact" is forbidden for resourceVersion "0"`)
		}
	default:
		return nil, badRequest(fmt.Sprintf("unknown resourceVersionMatch %q", opts.ResourceVersionMatch))
	}
	switch {
	case opts.ResourceVersionMatch == metav1.ResourceVersionMatchExact:
		if err := s.cache.waitFor(ctx, rv); err != nil {
			return nil, err
		}
		if tree := s.cache.snapshotAt(rv); tree != nil {
			return s.listTree(tree, rv, q)
		}
		return s.listEtcd(ctx, q, rv)
	case opts.ResourceVersion == "":
		return s.listConsistent(ctx, q)
	default:
		if err := s.cache.waitFor(ctx, rv); err != nil {
			return nil, err
		}
		tree, rev := s.cache.snapshot()
		return s.listTree(tree, rev, q)
	}
}

func (s *Store) listContinue(ctx context.Context, q query, opts ListOptions) (runtime.Object, error) {
	if opts.ResourceVersion != "" && opts.ResourceVersion != "0" {
		return nil, badRequest("specifying resource version is not allowed when using continue")
	}
	if opts.ResourceVersionMatch != "" {
		return nil, badRequest("resourceVersionMatch is forbidden when continue is provided")
	}
	start, rev, err := decodeContinue(opts.Continue, q.prefix)
	if err != nil {
		return nil, badRequest(fmt.Sprintf("invalid continue token: %v", err))
	}
	q.start, q.continuing = start, true
	if rev == -1 {
		return s.listConsistent(ctx, q)
	}
	if tree := s.cache.snapshotAt(rev); tree != nil {
		return s.listTree(tree, rev, q)
	}
	return s.listEtcd(ctx, q, rev)
}

// listConsistent serves the most recent state: it asks etcd for its revision and serves the
// cache once it has caught up; if it does not in time, it reads etcd like upstream does.
func (s *Store) listConsistent(ctx context.Context, q query) (runtime.Object, error) {
	rev, err := s.currentRev(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.cache.waitFor(ctx, rev); err != nil {
		if !apierrors.IsTimeout(err) {
			return nil, err
		}
		s.logger.Warn("watch cache is behind etcd; listing from etcd", "want", rev, "err", err)
		return s.listEtcd(ctx, q, 0)
	}
	tree, cur := s.cache.snapshot()
	return s.listTree(tree, cur, q)
}

// listTree serves q from an immutable tree reflecting rev. It decodes nothing.
func (s *Store) listTree(tree *btree.BTreeG[*item], rev int64, q query) (runtime.Object, error) {
	var (
		items     []*item
		more      bool
		remaining int64
	)
	tree.AscendRange(pivot(q.start), pivot(clientv3.GetPrefixRangeEnd(q.prefix)), func(it *item) bool {
		if q.limit > 0 && int64(len(items)) == q.limit {
			if q.filtered() { // more only if another item matches
				more = q.matches(it.labels, it.fields)
				return !more
			}
			more = true
			remaining++
			return true
		}
		if q.matches(it.labels, it.fields) {
			items = append(items, it)
		}
		return true
	})
	objs := make([]runtime.Object, len(items))
	for i, it := range items {
		objs[i] = it.obj // SetList copies each struct: the caller gets shallow copies
	}
	var next string
	if more {
		next = items[len(items)-1].key + "\x00"
		s.cache.keepSnapshot(rev, tree)
	}
	return s.newListOf(objs, rev, q, next, remaining)
}

// listEtcd serves q from etcd at rev (0: the latest revision).
func (s *Store) listEtcd(ctx context.Context, q query, rev int64) (runtime.Object, error) {
	end := clientv3.GetPrefixRangeEnd(q.prefix)
	pageSize := int64(10 * listPageSize)
	switch {
	case q.limit > 0 && q.filtered():
		pageSize = max(q.limit, listPageSize)
	case q.limit > 0:
		pageSize = q.limit
	}
	var (
		objs      []runtime.Object
		next      string
		remaining int64
	)
	key := q.start
pages:
	for {
		opts := []clientv3.OpOption{clientv3.WithRange(end), clientv3.WithLimit(pageSize)}
		if rev > 0 {
			opts = append(opts, clientv3.WithRev(rev))
		}
		resp, err := s.client.Get(ctx, key, opts...)
		if err != nil {
			return nil, s.listError(ctx, err, q, rev)
		}
		if rev == 0 {
			rev = resp.Header.Revision
		}
		for i, kv := range resp.Kvs {
			if q.limit > 0 && int64(len(objs)) == q.limit {
				next = key
				remaining = resp.Count - int64(i)
				break pages
			}
			key = string(kv.Key) + "\x00"
			obj, err := s.decodeStored(kv.Value, kv.ModRevision)
			if err != nil {
				return nil, err
			}
			if q.filtered() {
				l, f, err := s.attrFunc(obj)
				if err != nil {
					return nil, apiInternal(err)
				}
				if !q.matches(l, f) {
					continue
				}
			}
			objs = append(objs, obj)
		}
		if !resp.More || len(resp.Kvs) == 0 {
			break
		}
	}
	return s.newListOf(objs, rev, q, next, remaining)
}

// listError maps an etcd list failure; a compacted revision is upstream's 410.
func (s *Store) listError(ctx context.Context, err error, q query, rev int64) error {
	switch {
	case errors.Is(err, rpctypes.ErrCompacted) && q.continuing:
		se := apierrors.NewResourceExpired(msgContinueExpired)
		if token, terr := encodeContinue(q.start, q.prefix, -1); terr == nil {
			se.ErrStatus.ListMeta.Continue = token
		}
		return se
	case errors.Is(err, rpctypes.ErrCompacted):
		return apierrors.NewResourceExpired(msgListExpired)
	case errors.Is(err, rpctypes.ErrFutureRev):
		return tooLargeRV(rev, s.cache.currentRev())
	}
	return etcdError(ctx, err)
}

// newListOf builds the list object. next, when set, is the key the following page starts at.
func (s *Store) newListOf(objs []runtime.Object, rev int64, q query, next string, remaining int64) (runtime.Object, error) {
	list := s.newList()
	if err := meta.SetList(list, objs); err != nil {
		return nil, apiInternal(err)
	}
	lm, err := meta.ListAccessor(list)
	if err != nil {
		return nil, apiInternal(err)
	}
	lm.SetResourceVersion(fmt.Sprint(rev))
	if next != "" {
		token, err := encodeContinue(next, q.prefix, rev)
		if err != nil {
			return nil, apiInternal(err)
		}
		lm.SetContinue(token)
		if !q.filtered() {
			lm.SetRemainingItemCount(&remaining)
		}
	}
	return list, nil
}
