// Package streaming holds the end-to-end tests of the kubelet API's streams as users reach
// them: kubectl logs (-f, --tail, --previous), exec (with and without a terminal), attach,
// port-forward and cp, through the API server's proxy to a real kubelet over a real
// containerd, and the node's stats through nodes/proxy. The tests need root and skip
// themselves otherwise; the harness is test/e2e/framework.
package streaming
