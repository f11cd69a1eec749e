package storage

import (
	"bytes"
	"context"
	"fmt"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// GetOptions qualifies a Get.
type GetOptions struct {
	// ResourceVersion: "" reads the latest state from etcd; "0" serves the cached state; N
	// serves the cached state once the cache reflects at least N (504 Too large resource
	// version after ResourceVersionTimeout); anything else is a 400.
	ResourceVersion string
}

// Get returns the object at key, or NotFound. The caller owns the result.
func (s *Store) Get(ctx context.Context, key string, opts GetOptions) (runtime.Object, error) {
	if err := s.checkKey(key); err != nil {
		return nil, err
	}
	if opts.ResourceVersion == "" {
		st, err := s.stateFromEtcd(ctx, key)
		if err != nil {
			return nil, err
		}
		if !st.exists {
			return nil, s.notFound(key)
		}
		return st.obj, nil
	}
	rv, err := parseRV(opts.ResourceVersion)
	if err != nil {
		return nil, err
	}
	if err := s.cache.waitFor(ctx, rv); err != nil {
		return nil, err
	}
	it, _ := s.cache.get(key)
	if it == nil {
		return nil, s.notFound(key)
	}
	return it.obj.DeepCopyObject(), nil
}

// Create stores obj at key unless the key exists (AlreadyExists). obj must not carry a
// resourceVersion (400). A positive ttlSeconds attaches the key to an etcd lease that deletes
// it after about that long; nearby deadlines share a lease. Create returns the stored object
// with its resourceVersion; obj itself is left unchanged.
func (s *Store) Create(ctx context.Context, key string, obj runtime.Object, ttlSeconds int64) (runtime.Object, error) {
	if err := s.checkKey(key); err != nil {
		return nil, err
	}
	m, err := metaOf(obj)
	if err != nil {
		return nil, err
	}
	if m.GetResourceVersion() != "" {
		return nil, badRequest("resourceVersion should not be set on objects to be created")
	}
	data, err := s.encode(obj)
	if err != nil {
		return nil, err
	}
	var opts []clientv3.OpOption
	if ttlSeconds > 0 {
		id, err := s.leases.lease(ctx, ttlSeconds)
		if err != nil {
			return nil, etcdError(ctx, fmt.Errorf("granting a lease: %w", err))
		}
		opts = append(opts, clientv3.WithLease(id))
	}
	resp, err := s.client.Txn(ctx).
		If(clientv3.Compare(clientv3.ModRevision(key), "=", 0)).
		Then(clientv3.OpPut(key, string(data), opts...)).
		Commit()
	if err != nil {
		return nil, etcdError(ctx, err)
	}
	if !resp.Succeeded {
		return nil, s.alreadyExists(key)
	}
	return s.decodeStored(data, resp.Header.Revision)
}

// GuaranteedUpdate applies tryUpdate to the current object at key and writes the result with
// a compare-and-swap on the key's revision, calling tryUpdate again on the newer state when
// another writer wins the race. It may start from the cached state and then confirms against
// etcd before failing.
//
// tryUpdate receives a copy it may change and return; its errors are returned unchanged.
// When the key is missing the result is NotFound, or with ignoreNotFound tryUpdate receives
// an empty NewFunc() object and its result is created. Preconditions that do not hold give
// upstream's Conflict. When the result encodes to the stored bytes nothing is written and the
// stored object is returned with its unchanged resourceVersion. An object attached to a TTL
// lease keeps that lease. The result's resourceVersion is cleared before encoding.
func (s *Store) GuaranteedUpdate(ctx context.Context, key string, pre *metav1.Preconditions, ignoreNotFound bool,
	tryUpdate func(existing runtime.Object) (runtime.Object, error)) (runtime.Object, error) {
	if err := s.checkKey(key); err != nil {
		return nil, err
	}
	st, err := s.startState(ctx, key)
	if err != nil {
		return nil, err
	}
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if !st.exists && !ignoreNotFound {
			return nil, s.notFound(key)
		}
		existing, orig, err := st.mutableCopy(s)
		if err != nil {
			return nil, err
		}
		err = s.checkPreconditions(key, pre, existing)
		var ret runtime.Object
		if err == nil {
			ret, err = tryUpdate(existing)
		}
		if err != nil {
			if st.cached { // the cache may be behind: decide on the current state
				if st, err = s.stateFromEtcd(ctx, key); err != nil {
					return nil, err
				}
				continue
			}
			return nil, err
		}
		data, err := s.encode(ret)
		if err != nil {
			return nil, err
		}
		if st.exists && bytes.Equal(data, orig) {
			if st.cached {
				if st, err = s.stateFromEtcd(ctx, key); err != nil {
					return nil, err
				}
				continue
			}
			return s.decodeStored(st.data, st.rev)
		}
		var opts []clientv3.OpOption
		if st.lease != 0 {
			opts = append(opts, clientv3.WithLease(clientv3.LeaseID(st.lease)))
		}
		resp, err := s.client.Txn(ctx).
			If(clientv3.Compare(clientv3.ModRevision(key), "=", st.rev)).
			Then(clientv3.OpPut(key, string(data), opts...)).
			Else(clientv3.OpGet(key)).
			Commit()
		if err != nil {
			return nil, etcdError(ctx, err)
		}
		if !resp.Succeeded {
			if st, err = s.stateOfKVs(resp.Responses[0].GetResponseRange().Kvs); err != nil {
				return nil, err
			}
			continue
		}
		return s.decodeStored(data, resp.Header.Revision)
	}
}

// Delete deletes the object at key with a compare-and-swap on its revision, after checking
// pre and validate (which must not change its argument) against the current state, and
// returns the last state with resourceVersion set to the deletion's revision. A missing key
// is NotFound; validate's errors are returned unchanged.
func (s *Store) Delete(ctx context.Context, key string, pre *metav1.Preconditions,
	validate func(existing runtime.Object) error) (runtime.Object, error) {
	if err := s.checkKey(key); err != nil {
		return nil, err
	}
	st, err := s.startState(ctx, key)
	if err != nil {
		return nil, err
	}
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if !st.exists {
			return nil, s.notFound(key)
		}
		existing := st.obj
		if st.cached {
			existing = existing.DeepCopyObject()
		}
		err := s.checkPreconditions(key, pre, existing)
		if err == nil && validate != nil {
			err = validate(existing)
		}
		if err != nil {
			if st.cached {
				if st, err = s.stateFromEtcd(ctx, key); err != nil {
					return nil, err
				}
				continue
			}
			return nil, err
		}
		resp, err := s.client.Txn(ctx).
			If(clientv3.Compare(clientv3.ModRevision(key), "=", st.rev)).
			Then(clientv3.OpDelete(key)).
			Else(clientv3.OpGet(key)).
			Commit()
		if err != nil {
			return nil, etcdError(ctx, err)
		}
		if !resp.Succeeded {
			if st, err = s.stateOfKVs(resp.Responses[0].GetResponseRange().Kvs); err != nil {
				return nil, err
			}
			continue
		}
		if err := setRV(existing, resp.Header.Revision); err != nil {
			return nil, apiInternal(err)
		}
		return existing, nil
	}
}

// state is a version of one key as a write starts from it.
type state struct {
	exists bool
	obj    runtime.Object // with resourceVersion; shared with the cache when cached
	rev    int64          // ModRevision; 0 when the key does not exist
	lease  int64
	data   []byte // the stored bytes; nil when cached
	cached bool   // read from the cache, so possibly stale
}

// startState is the cached state of key, or etcd's when the cache does not have it.
func (s *Store) startState(ctx context.Context, key string) (*state, error) {
	if it, _ := s.cache.get(key); it != nil {
		return &state{exists: true, obj: it.obj, rev: it.rev, lease: it.lease, cached: true}, nil
	}
	return s.stateFromEtcd(ctx, key)
}

func (s *Store) stateFromEtcd(ctx context.Context, key string) (*state, error) {
	resp, err := s.client.Get(ctx, key)
	if err != nil {
		return nil, etcdError(ctx, err)
	}
	return s.stateOfKVs(resp.Kvs)
}

func (s *Store) stateOfKVs(kvs []*mvccpb.KeyValue) (*state, error) {
	if len(kvs) == 0 {
		return &state{}, nil
	}
	kv := kvs[0]
	obj, err := s.decodeStored(kv.Value, kv.ModRevision)
	if err != nil {
		return nil, err
	}
	return &state{exists: true, obj: obj, rev: kv.ModRevision, lease: kv.Lease, data: kv.Value}, nil
}

// mutableCopy returns an object tryUpdate may change (an empty one when the key is missing)
// and the stored bytes to compare its result with.
func (st *state) mutableCopy(s *Store) (runtime.Object, []byte, error) {
	if !st.exists {
		return s.newFunc(), nil, nil
	}
	obj := st.obj.DeepCopyObject()
	if st.data != nil {
		return obj, st.data, nil
	}
	// A cached state has no bytes: encode it as it would be stored.
	data, err := s.encode(obj)
	return obj, data, err
}

// decodeStored decodes bytes this Store wrote or read, as an API error.
func (s *Store) decodeStored(data []byte, rev int64) (runtime.Object, error) {
	obj, err := s.decode(data, rev)
	if err != nil {
		return nil, apiInternal(fmt.Errorf("decoding %s: %w", s.resource, err))
	}
	return obj, nil
}
