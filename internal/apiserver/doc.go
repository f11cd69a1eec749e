// Package apiserver is the Kubernetes API server: the HTTPS request pipeline
// (authentication, routing, content negotiation, admission), the generic REST handlers
// (get, list, watch, create, update, patch, delete, deletecollection and subresources),
// discovery, health checks and the bootstrap of system objects.
//
// It is the only component that talks to etcd, and only through internal/storage. The
// per-kind rules live in internal/apiserver/registry; this package applies them generically.
package apiserver
