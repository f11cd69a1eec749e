// Package framework is the end-to-end harness shared by the packages under test/e2e: it
// builds the project's test images (test/images/agnhost, and busybox from Debian's
// busybox-static) into image tarballs, starts the in-process control plane of
// internal/testing with an agent (kubelet + supervised containerd) in temporary
// directories that imports them, and offers helpers to create pods, wait for their phases
// and conditions, run kubectl, reach the node behind the API (its kubelet, container logs
// and CRI exec), stop and restart its agent, and clean up.
//
// Everything a Cluster starts is stopped and removed when the test ends: the agent, its
// containerd and pods, their cgroups, the CNI bridge if it made one, and its temporary
// directories. Tests using it need root and call RequireRoot first (Start does), which
// skips them with the reason otherwise.
//
// It is test support: it must not be imported by the product.
package framework
