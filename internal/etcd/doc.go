// Package etcd runs the embedded etcd member of a server: start, readiness, clean shutdown.
// It owns the member's data directory and listeners. It does not know about Kubernetes
// objects; internal/storage is the only user of the client it hands out.
package etcd
