// Package agent assembles the node role: a supervised containerd (or an existing CRI
// runtime), the built-in pause image and the airgap image tarballs, the pod network, the
// kubelet and the kubelet's HTTPS API. `capstan agent --kubeconfig FILE` runs it alone;
// `capstan server` runs it in process with a node certificate issued from its CA. It
// contains wiring and start order only: every piece lives in its own package.
package agent
