// Package testing starts a real control plane in-process for integration tests: an
// embedded etcd member and the API server on free loopback ports in a temporary directory,
// and hands back a client-go config and a kubeconfig file for the bundled kubectl.
package testing
