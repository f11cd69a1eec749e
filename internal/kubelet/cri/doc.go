// Package cri is the kubelet's client of a CRI runtime (containerd) over its gRPC socket:
// dialing, waiting for the runtime to answer, and the two services of k8s.io/cri-api.
// It holds no kubelet logic.
package cri
