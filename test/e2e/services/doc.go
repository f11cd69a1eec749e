// Package services holds the end-to-end tests of Services and cluster DNS through a real
// node: the control plane of test/e2e/framework with its cluster DNS on the node IP, and one
// agent (kubelet, containerd, the service proxy in one mode) running real pods. For every
// proxy mode a client pod reaches a Deployment of agnhost behind Services created with
// `kubectl expose` by their DNS names (ClusterIP, NodePort from the host, session
// affinity, UDP, headless, ExternalName), an unready or scaled-away backend leaves the
// rotation, and the agent leaves no proxy rules behind when it stops.
//
// The tests need root and real containerd and netfilter, and program the host's own
// tables: run them under the e2e lock (flock /tmp/capstan-e2e.lock go test ...). They skip
// themselves without root.
package services
