// Package dns is Capstan's cluster DNS: a DNS server (github.com/miekg/dns) that answers the
// names of the cluster domain (cluster.local by default) from informer caches of Services,
// EndpointSlices and Pods, and forwards every other name to the host's resolvers through a
// TTL-respecting cache.
//
// Names answered, following the Kubernetes DNS specification:
//   - <svc>.<ns>.svc.<zone> A/AAAA: the ClusterIPs; for a headless Service the addresses of its
//     ready endpoints; for an ExternalName Service a CNAME to the external name (chased, so
//     stub resolvers get the addresses too).
//   - <ep>.<svc>.<ns>.svc.<zone>: an endpoint of a headless Service, by its hostname or, without
//     one, its address with dashes (1-2-3-4).
//   - _<port>._<proto>.<svc>.<ns>.svc.<zone> SRV for named ports (one target per endpoint for
//     headless Services).
//   - <a-b-c-d>.<ns>.pod.<zone> A/AAAA when a pod in <ns> has that IP.
//   - PTR (in-addr.arpa, ip6.arpa) for Service ClusterIPs, headless endpoints and pod IPs.
//
// Within the zone the answers are authoritative: NXDOMAIN when a name does not exist, NODATA
// (NOERROR, no answer, SOA in authority) when it exists without records of the asked type;
// positive TTL 30 s, negative 5 s. Answers never call the API server: the informers are the
// only readers. Until they have synced, cluster names answer SERVFAIL.
//
// The package also publishes itself: the Service kube-system/kube-dns and one EndpointSlice
// per DNS server (managed-by capstan-dns), plus an Endpoints object that is the union of those
// slices, labelled so the mirroring controller leaves it alone.
//
// Decisions (name parsing, answer building, cache TTLs, resolv.conf parsing, the published
// objects) are pure functions tested with tables; sockets, informers and the API are at the
// edges, in server.go, forward.go and publish.go.
package dns
