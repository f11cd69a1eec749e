package storage

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// compactRevKey is the key API servers coordinate compaction through, the same as upstream's
// so that capstan and kube-apiserver servers sharing an etcd cooperate. Its value is the last
// compacted revision; its version counts compaction rounds and serves as a logical clock.
const compactRevKey = "compact_rev_key"

// RunCompactor compacts etcd until ctx ends, like upstream's API server: every interval it
// compacts to the revision it saw one interval earlier, so history younger than one interval
// (at most two) always survives. Several servers may run it against one etcd: each round
// starts with a compare-and-swap on compactRevKey's version, and only the server whose view
// of that clock is current compacts; the others adopt the clock and try next interval, taking
// over if the compacting server goes away.
func RunCompactor(ctx context.Context, client *clientv3.Client, interval time.Duration, logger *slog.Logger) {
	if logger == nil {
		logger = slog.Default()
	}
	logger = logger.With("component", "etcd-compactor")
	var version, rev int64
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		var err error
		version, rev, err = compactOnce(ctx, client, version, rev)
		if err != nil && ctx.Err() == nil {
			logger.Warn("etcd compaction failed", "err", err)
		}
	}
}

// compactOnce runs one round. version is this server's view of the compaction clock and rev
// the revision it observed last round; it returns the new view and the current revision.
func compactOnce(ctx context.Context, client *clientv3.Client, version, rev int64) (int64, int64, error) {
	resp, err := client.Txn(ctx).
		If(clientv3.Compare(clientv3.Version(compactRevKey), "=", version)).
		Then(clientv3.OpPut(compactRevKey, strconv.FormatInt(rev, 10))).
		Else(clientv3.OpGet(compactRevKey)).
		Commit()
	if err != nil {
		return version, rev, err
	}
	current := resp.Header.Revision
	if !resp.Succeeded {
		// Another server compacted this round (or the key was reset): adopt its clock.
		var seen int64
		if kvs := resp.Responses[0].GetResponseRange().Kvs; len(kvs) > 0 {
			seen = kvs[0].Version
		}
		return seen, current, nil
	}
	if rev == 0 {
		return version + 1, current, nil // first round: nothing observed to compact to yet
	}
	if _, err := client.Compact(ctx, rev); err != nil && !errors.Is(err, rpctypes.ErrCompacted) {
		return version + 1, current, err
	}
	return version + 1, current, nil
}
