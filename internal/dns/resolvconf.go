package dns

import (
	"bufio"
	"bytes"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// parseResolvConf returns the nameserver addresses of a resolv.conf, in order, as
// host:port with port 53.
func parseResolvConf(data []byte) []string {
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := sc.Text()
		if i := strings.IndexAny(line, "#;"); i >= 0 {
			line = line[:i]
		}
		f := strings.Fields(line)
		if len(f) < 2 || f[0] != "nameserver" {
			continue
		}
		ip, err := netip.ParseAddr(f[1])
		if err != nil {
			continue
		}
		out = append(out, net.JoinHostPort(ip.String(), "53"))
	}
	return out
}

// withoutLoops drops the upstreams that are this server itself: the same port on an
// address it listens on (an unspecified listen address covers every local address, of
// which loopback ones are all that matter to a resolv.conf). Forwarding to them would send
// every unknown name around in a circle.
func withoutLoops(upstreams []string, listen string, local []netip.Addr) (kept, dropped []string) {
	lhost, lport, err := net.SplitHostPort(listen)
	if err != nil {
		return upstreams, nil
	}
	lip, _ := netip.ParseAddr(lhost)
	for _, u := range upstreams {
		host, port, err := net.SplitHostPort(u)
		ip, perr := netip.ParseAddr(host)
		if err != nil || perr != nil || port != lport {
			kept = append(kept, u)
			continue
		}
		self := ip == lip
		if !lip.IsValid() || lip.IsUnspecified() {
			self = ip.IsLoopback() || containsAddr(local, ip)
		}
		if self {
			dropped = append(dropped, u)
		} else {
			kept = append(kept, u)
		}
	}
	return kept, dropped
}

func containsAddr(list []netip.Addr, ip netip.Addr) bool {
	for _, a := range list {
		if a == ip.Unmap() {
			return true
		}
	}
	return false
}

// normalizeUpstream accepts "ip" or "ip:port" (and "[v6]:port") and returns host:port.
func normalizeUpstream(s string) (string, bool) {
	if ip, err := netip.ParseAddr(s); err == nil {
		return net.JoinHostPort(ip.String(), "53"), true
	}
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return "", false
	}
	ip, err := netip.ParseAddr(host)
	if p, perr := strconv.Atoi(port); err != nil || perr != nil || p < 1 || p > 65535 {
		return "", false
	}
	return net.JoinHostPort(ip.String(), port), true
}
