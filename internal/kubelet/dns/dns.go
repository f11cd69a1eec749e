package dns

import (
	"bufio"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// Limits of resolv.conf search paths, as upstream enforces them.
const (
	MaxSearchPaths  = 32
	MaxSearchLength = 2048
)

// Config is resolv.conf content.
type Config struct {
	Servers  []string
	Searches []string
	Options  []string
}

// ParseResolvConf reads nameserver, search/domain and options lines.
func ParseResolvConf(data string) Config {
	var c Config
	sc := bufio.NewScanner(strings.NewReader(data))
	for sc.Scan() {
		line := sc.Text()
		if i := strings.IndexAny(line, "#;"); i >= 0 {
			line = line[:i]
		}
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		switch f[0] {
		case "nameserver":
			if len(f) > 1 {
				c.Servers = append(c.Servers, f[1])
			}
		case "search":
			// The last search line wins, as in the resolver.
			c.Searches = append([]string(nil), f[1:]...)
		case "domain":
			if len(f) > 1 {
				c.Searches = []string{f[1]}
			}
		case "options":
			c.Options = append(c.Options, f[1:]...)
		}
	}
	return c
}

// Cluster is the cluster DNS a kubelet points ClusterFirst pods at.
type Cluster struct {
	// Servers: the cluster DNS service IPs (10.43.0.10). Empty: no cluster DNS.
	Servers []string
	// Domain: cluster.local.
	Domain string
}

// ForPod computes the resolv.conf of a pod. host is the node's resolv.conf.
func ForPod(pod *corev1.Pod, cluster Cluster, host Config) Config {
	policy := pod.Spec.DNSPolicy
	if policy == "" {
		policy = corev1.DNSClusterFirst
	}
	switch {
	case policy == corev1.DNSClusterFirstWithHostNet:
		policy = corev1.DNSClusterFirst
	case policy == corev1.DNSClusterFirst && pod.Spec.HostNetwork:
		// Host-network pods use the node's resolvers unless they ask for the cluster's.
		policy = corev1.DNSDefault
	}
	if policy == corev1.DNSClusterFirst && len(cluster.Servers) == 0 {
		policy = corev1.DNSDefault
	}
	var c Config
	switch policy {
	case corev1.DNSClusterFirst:
		c.Servers = append(c.Servers, cluster.Servers...)
		c.Searches = []string{pod.Namespace + ".svc." + cluster.Domain, "svc." + cluster.Domain, cluster.Domain}
		c.Searches = append(c.Searches, host.Searches...)
		c.Options = []string{"ndots:5"}
	case corev1.DNSDefault:
		c = Config{Servers: host.Servers, Searches: host.Searches, Options: host.Options}
	case corev1.DNSNone:
	}
	if dc := pod.Spec.DNSConfig; dc != nil {
		c.Servers = append(append([]string(nil), c.Servers...), dc.Nameservers...)
		c.Searches = append(append([]string(nil), c.Searches...), dc.Searches...)
		c.Options = mergeOptions(c.Options, dc.Options)
	}
	c.Searches = trimSearches(dedupe(c.Searches))
	c.Servers = dedupe(c.Servers)
	return c
}

// mergeOptions adds pod options to the base ones; a pod option replaces a base option of
// the same name.
func mergeOptions(base []string, add []corev1.PodDNSConfigOption) []string {
	var names []string
	values := map[string]string{}
	set := func(name, opt string) {
		if _, ok := values[name]; !ok {
			names = append(names, name)
		}
		values[name] = opt
	}
	for _, o := range base {
		name, _, _ := strings.Cut(o, ":")
		set(name, o)
	}
	for _, o := range add {
		opt := o.Name
		if o.Value != nil {
			opt += ":" + *o.Value
		}
		set(o.Name, opt)
	}
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = values[n]
	}
	return out
}

func dedupe(in []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range in {
		if s != "" && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

func trimSearches(s []string) []string {
	if len(s) > MaxSearchPaths {
		s = s[:MaxSearchPaths]
	}
	for len(s) > 0 && len(strings.Join(s, " ")) > MaxSearchLength {
		s = s[:len(s)-1]
	}
	return s
}

// Render writes c as a resolv.conf file.
func Render(c Config) []byte {
	var b strings.Builder
	if len(c.Searches) > 0 {
		fmt.Fprintf(&b, "search %s\n", strings.Join(c.Searches, " "))
	}
	for _, s := range c.Servers {
		fmt.Fprintf(&b, "nameserver %s\n", s)
	}
	if len(c.Options) > 0 {
		fmt.Fprintf(&b, "options %s\n", strings.Join(c.Options, " "))
	}
	return []byte(b.String())
}

// HostsFile is the /etc/hosts of a pod: localhost entries, the pod's own names on its
// IPs, then its hostAliases. hostHosts is the node's /etc/hosts, used for host-network
// pods instead of the generated entries.
func HostsFile(pod *corev1.Pod, podIPs []string, hostname, clusterDomain string, hostHosts []byte) []byte {
	var b strings.Builder
	if pod.Spec.HostNetwork {
		b.WriteString("# Kubernetes-managed hosts file (host network).\n")
		b.Write(hostHosts)
		if len(hostHosts) > 0 && hostHosts[len(hostHosts)-1] != '\n' {
			b.WriteByte('\n')
		}
	} else {
		b.WriteString("# Kubernetes-managed hosts file.\n")
		b.WriteString("127.0.0.1\tlocalhost\n")
		b.WriteString("::1\tlocalhost ip6-localhost ip6-loopback\n")
		b.WriteString("fe00::0\tip6-localnet\n")
		b.WriteString("fe00::0\tip6-mcastprefix\n")
		b.WriteString("fe00::1\tip6-allnodes\n")
		b.WriteString("fe00::2\tip6-allrouters\n")
		for _, ip := range podIPs {
			if pod.Spec.Subdomain != "" {
				fqdn := fmt.Sprintf("%s.%s.%s.svc.%s", hostname, pod.Spec.Subdomain, pod.Namespace, clusterDomain)
				fmt.Fprintf(&b, "%s\t%s\t%s\n", ip, fqdn, hostname)
			} else {
				fmt.Fprintf(&b, "%s\t%s\n", ip, hostname)
			}
		}
	}
	if len(pod.Spec.HostAliases) > 0 {
		b.WriteString("\n# Entries added by HostAliases.\n")
		for _, a := range pod.Spec.HostAliases {
			fmt.Fprintf(&b, "%s\t%s\n", a.IP, strings.Join(a.Hostnames, "\t"))
		}
	}
	return []byte(b.String())
}

// Hostname is the pod's host name: spec.hostname, else the pod name, cut to 63 characters
// (without a trailing '-' or '.').
func Hostname(pod *corev1.Pod) string {
	h := pod.Spec.Hostname
	if h == "" {
		h = pod.Name
	}
	if len(h) > 63 {
		h = strings.TrimRight(h[:63], "-.")
	}
	return h
}
