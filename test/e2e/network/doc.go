// Package network holds the end-to-end tests of internal/network on the real kernel: fake
// nodes and pods are network namespaces made by the tests (ip netns + veth), wired by the
// real CNI plugins from /usr/lib/cni and by the pod network's routes, VXLAN overlay and
// masquerade rules. The tests need root and skip themselves otherwise. They never touch the
// host's own interfaces, addresses or routes; everything they make lives in namespaces named
// capnet-<pid>-* that are deleted when a test ends (and swept at the next run if a test
// process was killed).
package network
