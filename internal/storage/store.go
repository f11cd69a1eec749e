package storage

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/utils/clock"
)

// Defaults of the cache tuning fields of Options.
const (
	DefaultEventHistoryLength     = 10000
	DefaultEventHistoryMaxAge     = 15 * time.Minute
	DefaultBookmarkInterval       = time.Minute
	DefaultWatcherBuffer          = 10000
	DefaultResourceVersionTimeout = 3 * time.Second
)

// progressRequestInterval paces etcd progress requests while a read waits for the cache to
// reach a revision that may come from writes to other resources.
const progressRequestInterval = 100 * time.Millisecond

// listPageSize is the page size of the cache's own (re)lists from etcd.
const listPageSize = 1000

// Options configures a Store.
type Options struct {
	// Client is the etcd client. Required. The Store does not close it.
	Client *clientv3.Client
	// Codec encodes values for etcd and decodes them into NewFunc() objects. Required. The
	// API server passes a protobuf codec (k8s\x00 envelope).
	Codec runtime.Codec
	// Resource names the resource in errors, e.g. {Resource: "pods"}.
	Resource schema.GroupResource
	// Prefix is the key prefix without a trailing slash, e.g. "/registry/pods". Required.
	Prefix string
	// NewFunc returns an empty object of the resource's Go type. Required.
	NewFunc func() runtime.Object
	// NewListFunc returns an empty list of the resource's list type. Required.
	NewListFunc func() runtime.Object
	// AttrFunc returns the labels and fields that selectors match. Default: the object's
	// labels and the fields metadata.name and metadata.namespace. It is called once per
	// object version entering the cache, never on a cached read.
	AttrFunc func(obj runtime.Object) (labels.Set, fields.Set, error)
	// Logger receives the cache's messages. Default slog.Default().
	Logger *slog.Logger
	// Clock drives bookmarks, history ageing, lease reuse, snapshot expiry and the waits for
	// a resourceVersion. Default the real clock.
	Clock clock.WithTicker

	// EventHistoryLength is the most events the cache keeps for watches that start from a
	// past resourceVersion. Default DefaultEventHistoryLength (10,000).
	EventHistoryLength int
	// EventHistoryMaxAge drops older events from the history. Default
	// DefaultEventHistoryMaxAge (15m); negative keeps events until EventHistoryLength evicts
	// them.
	EventHistoryMaxAge time.Duration
	// BookmarkInterval is how often watchers that allow bookmarks get one (they also get one
	// two seconds before their context's deadline). Default DefaultBookmarkInterval (1m, as
	// upstream).
	BookmarkInterval time.Duration
	// WatcherBuffer is the most events a watcher may have queued behind the batch it is
	// delivering; a watcher that falls further behind is terminated (its result channel
	// closed) and its client re-watches. The queue grows only as needed. Default
	// DefaultWatcherBuffer (10,000, the default history: a watcher further behind could not
	// resume from the history anyway).
	WatcherBuffer int
	// ResourceVersionTimeout bounds the wait for the cache to reach a requested
	// resourceVersion before a 504 "Too large resource version". Default
	// DefaultResourceVersionTimeout (3s, as upstream).
	ResourceVersionTimeout time.Duration

	// hooks lets tests of this package intervene in the cache's etcd watch.
	hooks *testHooks
}

// testHooks are interventions for tests; nil in production.
type testHooks struct {
	// beforeWatch is called before each etcd watch starts (n counts from 1).
	beforeWatch func(ctx context.Context, n int)
}

// Store is the etcd-backed store of one resource with its watch cache. It is safe for
// concurrent use.
type Store struct {
	client    *clientv3.Client
	codec     runtime.Codec
	resource  schema.GroupResource
	prefix    string
	newFunc   func() runtime.Object
	newList   func() runtime.Object
	attrFunc  func(obj runtime.Object) (labels.Set, fields.Set, error)
	logger    *slog.Logger
	clock     clock.WithTicker
	rvTimeout time.Duration
	bookmarks time.Duration
	hooks     *testHooks

	cache  *watchCache
	leases *leaseManager

	cancel context.CancelFunc
	wg     sync.WaitGroup

	// watchMu guards the context and cancel of the current etcd watch, used for progress
	// requests and by tests to interrupt the watch.
	watchMu     sync.Mutex
	watchCtx    context.Context
	watchCancel context.CancelFunc
	// progressWake asks the progress requester to ask etcd for a progress notification now.
	progressWake chan struct{}
	// progressWaiters counts reads waiting for the cache to reach a revision.
	progressWaiters atomic.Int64
}

// New lists the resource from etcd at one revision, fills the cache, starts the etcd watch
// that keeps the cache current (relisting if the watch falls behind a compaction) and returns
// once the cache is filled. ctx bounds only the initial list; Stop ends the Store.
func New(ctx context.Context, opts Options) (*Store, error) {
	switch {
	case opts.Client == nil:
		return nil, errors.New("storage: Client is required")
	case opts.Codec == nil:
		return nil, errors.New("storage: Codec is required")
	case opts.NewFunc == nil || opts.NewListFunc == nil:
		return nil, errors.New("storage: NewFunc and NewListFunc are required")
	case opts.Prefix == "" || strings.HasSuffix(opts.Prefix, "/"):
		return nil, fmt.Errorf("storage: Prefix %q must be non-empty without a trailing slash", opts.Prefix)
	}
	if opts.AttrFunc == nil {
		opts.AttrFunc = defaultAttrs
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Clock == nil {
		opts.Clock = clock.RealClock{}
	}
	if opts.EventHistoryLength <= 0 {
		opts.EventHistoryLength = DefaultEventHistoryLength
	}
	if opts.EventHistoryMaxAge == 0 {
		opts.EventHistoryMaxAge = DefaultEventHistoryMaxAge
	}
	if opts.BookmarkInterval <= 0 {
		opts.BookmarkInterval = DefaultBookmarkInterval
	}
	if opts.WatcherBuffer <= 0 {
		opts.WatcherBuffer = DefaultWatcherBuffer
	}
	if opts.ResourceVersionTimeout <= 0 {
		opts.ResourceVersionTimeout = DefaultResourceVersionTimeout
	}
	s := &Store{
		client:       opts.Client,
		codec:        opts.Codec,
		resource:     opts.Resource,
		prefix:       opts.Prefix,
		newFunc:      opts.NewFunc,
		newList:      opts.NewListFunc,
		attrFunc:     opts.AttrFunc,
		logger:       opts.Logger.With("component", "storage", "resource", opts.Resource.String()),
		clock:        opts.Clock,
		rvTimeout:    opts.ResourceVersionTimeout,
		bookmarks:    opts.BookmarkInterval,
		hooks:        opts.hooks,
		progressWake: make(chan struct{}, 1),
	}
	s.cache = newWatchCache(s, opts.EventHistoryLength, opts.EventHistoryMaxAge, opts.WatcherBuffer)
	s.leases = newLeaseManager(opts.Client, opts.Clock)

	tree, rev, err := s.listAll(ctx)
	if err != nil {
		return nil, fmt.Errorf("storage: initial list of %s: %w", s.prefix, err)
	}
	s.cache.replace(tree, rev)

	runCtx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	s.wg.Add(3)
	go func() { defer s.wg.Done(); s.reflect(runCtx) }()
	go func() { defer s.wg.Done(); s.requestProgress(runCtx) }()
	go func() { defer s.wg.Done(); s.housekeep(runCtx) }()
	return s, nil
}

// Stop ends the cache's etcd watch and every watch of the Store (their result channels are
// closed). Reads keep answering from the last cached state; use a new Store to resume.
func (s *Store) Stop() {
	s.cancel()
	s.wg.Wait()
	s.cache.stop()
}

// Key returns the etcd key of an object: Prefix+"/"+namespace+"/"+name, or Prefix+"/"+name
// when namespace is empty (cluster-scoped resources). Key(namespace, "") is the prefix of a
// namespace, suitable for ListOptions.Prefix and WatchOptions.Prefix.
func (s *Store) Key(namespace, name string) string {
	switch {
	case namespace == "" && name == "":
		return s.prefix
	case namespace == "":
		return s.prefix + "/" + name
	case name == "":
		return s.prefix + "/" + namespace
	}
	return s.prefix + "/" + namespace + "/" + name
}

// rangePrefix validates a list or watch prefix and returns it with a trailing slash.
func (s *Store) rangePrefix(p string) (string, error) {
	if p == "" {
		p = s.prefix
	}
	p = strings.TrimSuffix(p, "/")
	if p != s.prefix && !strings.HasPrefix(p, s.prefix+"/") {
		return "", apiInternal(fmt.Errorf("key %q is outside the store prefix %q", p, s.prefix))
	}
	return p + "/", nil
}

// checkKey rejects an object key outside the store's prefix.
func (s *Store) checkKey(key string) error {
	if !strings.HasPrefix(key, s.prefix+"/") || strings.HasSuffix(key, "/") {
		return apiInternal(fmt.Errorf("key %q is not an object key under %q", key, s.prefix))
	}
	return nil
}

// defaultAttrs gives the object's labels and its metadata.name and metadata.namespace fields.
func defaultAttrs(obj runtime.Object) (labels.Set, fields.Set, error) {
	m, err := meta.Accessor(obj)
	if err != nil {
		return nil, nil, err
	}
	return labels.Set(m.GetLabels()), fields.Set{
		"metadata.name":      m.GetName(),
		"metadata.namespace": m.GetNamespace(),
	}, nil
}
