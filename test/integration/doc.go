// Package integration holds the in-process integration tests: a real embedded etcd and
// API server per test (internal/testing), driven by client-go and by the bundled kubectl.
// They are named TestIntegration* and skipped by -short.
package integration
