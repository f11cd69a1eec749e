// Package iptables is the proxy's iptables mode: it renders a desired.State as chains of
// the nat and filter tables, named and shaped like upstream kube-proxy's (KUBE-SERVICES,
// KUBE-SVC-*, KUBE-SEP-*, KUBE-NODEPORTS, KUBE-POSTROUTING, KUBE-MARK-MASQ, ...), and loads
// them with one iptables-restore per sync: the whole ruleset on a full sync, only the
// chains of changed service ports on a partial one. Endpoints are chosen at random with the
// statistic module, ClientIP affinity uses the recent module, and service ports without
// endpoints are rejected in the filter table.
//
// Rule text is built by a pure function (rules.go, golden-tested); the Proxier only runs
// iptables-restore, iptables and iptables-save through a runner.Runner. It handles IPv4
// only, and it never touches chains it does not own.
package iptables
