// Package storage is the API server's object store: one Store per resource keeps that
// resource's objects in etcd (keys, encoding, optimistic concurrency, TTL leases) and serves
// reads, lists and watches from a per-resource watch cache fed by a single etcd watch.
//
// What it owns:
//   - the etcd layout of objects: Prefix+"/"+namespace+"/"+name (or Prefix+"/"+name), values
//     encoded with the caller's codec and stored without metadata.resourceVersion;
//   - resourceVersion semantics: an object's resourceVersion is its key's ModRevision, a
//     list's is the etcd revision it reflects;
//   - upstream's error values (apierrors with upstream reasons and messages) for NotFound,
//     AlreadyExists, Conflict, Expired (410), Timeout (504) and BadRequest (400);
//   - the watch cache: a sorted copy of every object, a bounded history of recent events,
//     and the fan-out of events and bookmarks to watchers;
//   - compaction of etcd (RunCompactor).
//
// What it must not do: validate, default or authorize objects (the REST layer's job), decode
// anything on a cached read, or send per-request reads to etcd beyond consistent-read revision
// checks, exact reads older than the cache, continuations and writes.
//
// Sharing: objects inside the cache are never mutated. Get, Create, GuaranteedUpdate and Delete
// return objects the caller owns. List items are shallow copies: their fields may be set, but
// their maps, slices and pointers are shared with the cache. Objects in watch events are shared
// by every watcher and with the cache: treat them as read-only (encode them, deep-copy before
// changing).
package storage
