// Package proxy is the service proxy (kube-proxy): it watches Services, EndpointSlices and
// its own Node through the API, computes the forwarding the node should have
// (package desired, a pure function) and hands it to one mode behind the Proxier interface
// (packages iptables, nftables and userspace). It owns the sync loop
// (--sync-period full syncs, partial syncs rate-limited by --min-sync-period), the flushing
// of stale UDP conntrack entries, the health-check node ports of LoadBalancer services with
// the Local external policy, /healthz and /metrics, and the `capstan proxy` command.
//
// It must not write to the API, and it touches netfilter only through the mode it runs and
// the conntrack tool, both through a runner.Runner.
package proxy
