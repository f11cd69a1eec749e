// Package kubelet holds the end-to-end tests of the node: a real containerd started and
// supervised by the agent in a temporary data directory, the in-process control plane of
// internal/testing, and pods of the project's test images run through the kubelet, all
// through the shared harness test/e2e/framework. The tests need root and skip themselves
// otherwise. Each test cleans up what it made: pods, containerd and its state, cgroups,
// network rules and devices.
package kubelet
