package storage

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/btree"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// listAll reads every object under the prefix at one revision, in pages.
func (s *Store) listAll(ctx context.Context) (*btree.BTreeG[*item], int64, error) {
	tree := newTree()
	start := s.prefix + "/"
	end := clientv3.GetPrefixRangeEnd(start)
	var rev int64
	for key := start; ; {
		opts := []clientv3.OpOption{clientv3.WithRange(end), clientv3.WithLimit(listPageSize)}
		if rev > 0 {
			opts = append(opts, clientv3.WithRev(rev))
		}
		resp, err := s.client.Get(ctx, key, opts...)
		if err != nil {
			return nil, 0, err
		}
		if rev == 0 {
			rev = resp.Header.Revision
		}
		for _, kv := range resp.Kvs {
			it, err := s.newItem(kv)
			if err != nil {
				s.logger.Error("skipping an object that does not decode", "key", string(kv.Key), "err", err)
				continue
			}
			tree.ReplaceOrInsert(it)
		}
		if !resp.More || len(resp.Kvs) == 0 {
			return tree, rev, nil
		}
		key = string(resp.Kvs[len(resp.Kvs)-1].Key) + "\x00"
	}
}

// reflect keeps the cache current with one etcd watch from the cache's revision, re-watching
// after errors and relisting when the watch reports that revision compacted.
func (s *Store) reflect(ctx context.Context) {
	const minBackoff, maxBackoff = 100 * time.Millisecond, 5 * time.Second
	backoff := minBackoff
	for n := 1; ctx.Err() == nil; n++ {
		if s.hooks != nil && s.hooks.beforeWatch != nil {
			s.hooks.beforeWatch(ctx, n)
		}
		compacted, healthy, err := s.watchOnce(ctx, s.cache.currentRev()+1)
		if ctx.Err() != nil {
			return
		}
		if healthy {
			backoff = minBackoff
		}
		if compacted {
			s.logger.Info("watch cache fell behind a compaction; relisting", "err", err)
			tree, rev, lerr := s.listAll(ctx)
			if lerr == nil {
				s.cache.replace(tree, rev)
				continue
			}
			err = fmt.Errorf("relisting: %w", lerr)
		}
		if err == nil {
			continue // the watch was interrupted on purpose
		}
		s.logger.Warn("etcd watch failed; retrying", "err", err, "backoff", backoff)
		select {
		case <-ctx.Done():
			return
		case <-s.clock.After(backoff):
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

// watchOnce runs one etcd watch from revision from into the cache until it fails. It reports
// whether the failure is a compaction and whether the watch delivered anything.
func (s *Store) watchOnce(ctx context.Context, from int64) (compacted, healthy bool, err error) {
	// Every Store uses the same context metadata, so the client multiplexes all of them on
	// one gRPC stream and one progress request serves them all.
	wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
	defer cancel()
	s.watchMu.Lock()
	s.watchCtx, s.watchCancel = wctx, cancel
	s.watchMu.Unlock()

	start := s.prefix + "/"
	wch := s.client.Watch(wctx, start, clientv3.WithRange(clientv3.GetPrefixRangeEnd(start)),
		clientv3.WithRev(from), clientv3.WithProgressNotify())
	for resp := range wch {
		if err := resp.Err(); err != nil {
			return resp.CompactRevision != 0, healthy, err
		}
		healthy = true
		if resp.IsProgressNotify() {
			s.cache.progress(resp.Header.Revision)
			continue
		}
		if len(resp.Events) == 0 {
			continue
		}
		changes := make([]change, 0, len(resp.Events))
		for _, ev := range resp.Events {
			ch := change{key: string(ev.Kv.Key), rev: ev.Kv.ModRevision}
			if ev.Type == clientv3.EventTypePut {
				it, err := s.newItem(ev.Kv)
				if err != nil {
					s.logger.Error("ignoring a change that does not decode", "key", ch.key, "err", err)
					ch.skip = true
				}
				ch.cur = it
			}
			changes = append(changes, ch)
		}
		s.cache.apply(changes)
	}
	if wctx.Err() != nil && ctx.Err() == nil {
		return false, healthy, nil // interrupted (restartWatch)
	}
	return false, healthy, errors.New("etcd watch channel closed")
}

// restartWatch interrupts the current etcd watch; the reflector starts a new one from the
// cache's revision.
func (s *Store) restartWatch() {
	s.watchMu.Lock()
	defer s.watchMu.Unlock()
	if s.watchCancel != nil {
		s.watchCancel()
	}
}

// awaitProgress registers a reader waiting for the cache to reach a revision, which may come
// from writes to other resources: until done is called, etcd is asked for progress
// notifications. The first request goes out at once.
func (s *Store) awaitProgress() (done func()) {
	s.progressWaiters.Add(1)
	select {
	case s.progressWake <- struct{}{}:
	default:
	}
	return func() { s.progressWaiters.Add(-1) }
}

// requestProgress asks etcd for progress notifications while readers wait.
func (s *Store) requestProgress(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.progressWake:
		}
		for s.progressWaiters.Load() > 0 {
			s.watchMu.Lock()
			wctx := s.watchCtx
			s.watchMu.Unlock()
			if wctx != nil && wctx.Err() == nil {
				if err := s.client.RequestProgress(wctx); err != nil && wctx.Err() == nil {
					s.logger.Debug("etcd progress request failed", "err", err)
				}
			}
			select {
			case <-ctx.Done():
				return
			case <-s.progressWake:
			case <-s.clock.After(progressRequestInterval):
			}
		}
	}
}

// housekeep sends periodic bookmarks, ages the event history and drops stale snapshots.
func (s *Store) housekeep(ctx context.Context) {
	t := s.clock.NewTicker(s.bookmarks)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C():
			s.cache.bookmark()
			s.cache.housekeep()
		}
	}
}

// currentRev asks etcd for its current revision with a cheap linearizable read.
func (s *Store) currentRev(ctx context.Context) (int64, error) {
	resp, err := s.client.Get(ctx, s.prefix, clientv3.WithCountOnly())
	if err != nil {
		return 0, etcdError(ctx, err)
	}
	return resp.Header.Revision, nil
}

// etcdError maps an etcd failure to an API error; context errors pass through.
func etcdError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return apiInternal(err)
}
