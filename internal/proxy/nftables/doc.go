// Package nftables is the proxy's nftables mode: it renders a desired.State into one table,
// `ip kube-proxy`, shaped like upstream kube-proxy's: verdict maps from service address,
// protocol and port to a chain per service port (service-*, local-*, external-*,
// firewall-*) and per endpoint (endpoint-*), random balancing with numgen, ClientIP
// affinity with dynamic sets, and rejection of service ports without endpoints from the
// no-endpoint maps. Each sync is one `nft -f` transaction: a full one rewrites every chain
// and map, a partial one only the chains of changed service ports and the map elements
// that changed, so its size follows the change, not the cluster.
//
// The script is built by a pure function (rules.go, golden-tested); the Proxier only runs
// nft through a runner.Runner. It handles IPv4 only and never touches other tables.
package nftables
