// Package proxy holds the end-to-end tests of the service proxy (internal/proxy) on the real
// kernel's netfilter. A fake node is a network namespace with a bridge of fake pods (more
// namespaces, joined by veth pairs) and an uplink to a fake outside client; the proxy runs
// in the test process against an in-process API server and programs the node namespace's
// tables by running its tools under `ip netns exec` (the userspace mode also opens its proxy
// sockets and endpoint connections there, from a thread switched into the namespace).
// Services and EndpointSlices are written straight to the API. The tests need root and skip
// themselves otherwise; they never touch the host's own interfaces, routes or tables, and
// every namespace they make is named capproxy-<pid>-* and deleted when its test ends (swept
// at the next run if a test process was killed).
package proxy
