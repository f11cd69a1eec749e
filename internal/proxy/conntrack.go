package proxy

import (
	"context"
	"log/slog"
	"net/netip"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"capstan/internal/proxy/desired"
	"capstan/internal/proxy/runner"
)

// staleConntrack returns the conntrack deletions (argument lists of `conntrack -D`) that a
// move from prev to next needs. Only UDP matters: a UDP "connection" to a service address
// keeps its NAT to a gone endpoint for as long as the client keeps sending, and a flow
// seen while a service had no endpoints stays un-NATed. So:
//   - for every endpoint a UDP port no longer uses, entries from its service addresses or
//     node port to that endpoint go;
//   - for every UDP port that had no endpoint to use and now has one, entries to its
//     service addresses and node port go.
//
// An endpoint is its address and port: one that moves to another port on the same address
// (a DNS server restarted on a free port) is gone too. A nil prev (the first sync) is a
// state without services, as upstream has it: every UDP port with endpoints loses its
// entries, which may NAT to what an earlier run had, at a port nothing listens on now.
//
// Ports of other protocols keep their connections (TCP ends them by itself).
func staleConntrack(prev, next *desired.State) [][]string {
	if prev == nil {
		prev = &desired.State{}
	}
	nextByName := make(map[desired.ServicePortName]*desired.ServicePort, len(next.Services))
	for i := range next.Services {
		if next.Services[i].Name.Protocol == corev1.ProtocolUDP {
			nextByName[next.Services[i].Name] = &next.Services[i]
		}
	}
	var out [][]string
	prevUsable := map[desired.ServicePortName]bool{}
	for i := range prev.Services {
		old := &prev.Services[i]
		if old.Name.Protocol != corev1.ProtocolUDP {
			continue
		}
		prevUsable[old.Name] = len(old.AllEndpoints()) > 0
		var keep map[netip.AddrPort]bool
		if cur := nextByName[old.Name]; cur != nil {
			keep = map[netip.AddrPort]bool{}
			for _, e := range cur.AllEndpoints() {
				keep[netip.AddrPortFrom(e.IP, uint16(e.Port))] = true
			}
		}
		for _, e := range old.AllEndpoints() {
			if keep[netip.AddrPortFrom(e.IP, uint16(e.Port))] {
				continue
			}
			ep := e.IP.String()
			for _, ip := range serviceIPs(old) {
				out = append(out, []string{"-D", "-p", "udp", "--orig-dst", ip.String(), "--dst-nat", ep})
			}
			if old.NodePort != 0 {
				out = append(out, []string{"-D", "-p", "udp", "--orig-port-dst", strconv.Itoa(int(old.NodePort)), "--dst-nat", ep})
			}
		}
	}
	for i := range next.Services {
		cur := &next.Services[i]
		if cur.Name.Protocol != corev1.ProtocolUDP || len(cur.AllEndpoints()) == 0 || prevUsable[cur.Name] {
			continue
		}
		for _, ip := range serviceIPs(cur) {
			out = append(out, []string{"-D", "-p", "udp", "--orig-dst", ip.String()})
		}
		if cur.NodePort != 0 {
			out = append(out, []string{"-D", "-p", "udp", "--orig-port-dst", strconv.Itoa(int(cur.NodePort))})
		}
	}
	return out
}

func serviceIPs(sp *desired.ServicePort) []netip.Addr {
	out := append([]netip.Addr{sp.ClusterIP}, sp.ExternalIPs...)
	return append(out, sp.LoadBalancerIPs...)
}

// flushConntrack runs the deletions. conntrack exits non-zero when nothing matched; that
// is not an error.
func flushConntrack(ctx context.Context, run runner.Runner, log *slog.Logger, deletions [][]string) {
	for _, args := range deletions {
		if _, err := run.Run(ctx, nil, "conntrack", args...); err != nil && !strings.Contains(err.Error(), "0 flow entries") {
			log.Warn("Flushing stale conntrack entries failed", "args", strings.Join(args, " "), "err", err)
		}
	}
}
