package userspace

import (
	"bytes"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"capstan/internal/netfilter/jump"
	"capstan/internal/proxy/desired"
)

// The chains of the mode, all written whole on a full sync.
const (
	chainPortalsContainer  = "KUBE-PORTALS-CONTAINER"
	chainPortalsHost       = "KUBE-PORTALS-HOST"
	chainNodePortContainer = "KUBE-NODEPORT-CONTAINER"
	chainNodePortHost      = "KUBE-NODEPORT-HOST"
	chainFilter            = "KUBE-PORTALS-FILTER"
)

// ownedChains are the mode's chains per table, in declaration order.
var ownedChains = []struct {
	table  string
	chains []string
}{
	{"filter", []string{chainFilter}},
	{"nat", []string{chainPortalsContainer, chainPortalsHost, chainNodePortContainer, chainNodePortHost}},
}

// jumps are the rules in the built-in chains that send traffic into the mode's chains.
func jumps() []jump.Jump {
	c := func(s string) []string { return []string{"-m", "comment", "--comment", s} }
	newConn := []string{"-m", "conntrack", "--ctstate", "NEW"}
	local := []string{"-m", "addrtype", "--dst-type", "LOCAL"}
	to := func(parts [][]string, chain string) []string { return append(slices.Concat(parts...), "-j", chain) }
	portals, nodePorts := c("kubernetes service portals"), c("kubernetes service node ports; NOTE: this must be the last rule in this chain")
	return []jump.Jump{
		{Table: "filter", Chain: "INPUT", Args: to([][]string{newConn, portals}, chainFilter)},
		{Table: "filter", Chain: "FORWARD", Args: to([][]string{newConn, portals}, chainFilter)},
		{Table: "filter", Chain: "OUTPUT", Args: to([][]string{newConn, portals}, chainFilter)},
		{Table: "nat", Chain: "PREROUTING", Args: to([][]string{portals}, chainPortalsContainer)},
		{Table: "nat", Chain: "PREROUTING", Append: true, Args: to([][]string{local, nodePorts}, chainNodePortContainer)},
		{Table: "nat", Chain: "OUTPUT", Args: to([][]string{portals}, chainPortalsHost)},
		{Table: "nat", Chain: "OUTPUT", Append: true, Args: to([][]string{local, nodePorts}, chainNodePortHost)},
	}
}

// rule is one rule in one of the mode's chains; spec is its text after the chain name, the
// same for adding (-A) and deleting (-D) it.
type rule struct {
	table, chain, spec string
}

// ports are the proxy ports of a service port: internal for its cluster IP, external for
// its node port, external IPs and load-balancer IPs (0 when it has none of them).
type ports struct{ internal, external int }

// ruleSet is the rules of every service port the mode serves.
type ruleSet map[desired.ServicePortName][]rule

func comment(s string) string { return `-m comment --comment "` + s + `"` }

// ruleBuilder collects rules; empty parts are left out.
type ruleBuilder struct{ out []rule }

func (b *ruleBuilder) add(table, chain string, parts ...string) {
	parts = slices.DeleteFunc(parts, func(s string) bool { return s == "" })
	b.out = append(b.out, rule{table, chain, strings.Join(parts, " ")})
}

// serviceRules renders one service port whose traffic goes to the proxy ports p. podCIDR
// (may be invalid) is the pods' range: pods still reach a port whose external traffic is
// dropped under the Local policy.
func serviceRules(sp *desired.ServicePort, p ports, podCIDR netip.Prefix) []rule {
	b := &ruleBuilder{}
	name := sp.Name.String()
	match := protoMatch(sp)
	port := strconv.Itoa(int(sp.Port))
	clusterIP := hostPrefix(sp.ClusterIP)
	if act := sp.InternalAction(); act == desired.Forward {
		to := redirect(p.internal)
		b.add("nat", chainPortalsContainer, comment(name+" cluster IP"), match, "-d", clusterIP, "--dport", port, to)
		b.add("nat", chainPortalsHost, comment(name+" cluster IP"), match, "-d", clusterIP, "--dport", port, to)
	} else {
		b.add("filter", chainFilter, comment(name+" "+act.Why()), match, "-d", clusterIP, "--dport", port, "-j", act.Target())
	}
	if sp.ExternallyAccessible() {
		b.external(sp, p.external, podCIDR)
	}
	return b.out
}

func protoMatch(sp *desired.ServicePort) string {
	proto := strings.ToLower(string(sp.Name.Protocol))
	return "-m " + proto + " -p " + proto
}

// external renders the rules of the external addresses and node port of sp, whose traffic
// goes to proxyPort.
func (b *ruleBuilder) external(sp *desired.ServicePort, proxyPort int, podCIDR netip.Prefix) {
	name, match, port := sp.Name.String(), protoMatch(sp), strconv.Itoa(int(sp.Port))
	act := sp.ExternalAction()
	to := redirect(proxyPort)
	// The sources whose traffic is sent to the proxy, from pods and the outside (container)
	// and from the node itself (host); "" is every source. Without a local endpoint under
	// the Local policy only pods and the node are served, by any endpoint.
	container, host := []string{""}, []string{""}
	if act == desired.Drop {
		container = nil
		if podCIDR.IsValid() {
			container = []string{"-s " + podCIDR.String()}
		}
	}
	if act == desired.Reject {
		container, host = nil, nil
	}
	address := func(kind string, ip netip.Addr, ranges []netip.Prefix) {
		cont, hst := container, host
		if len(ranges) > 0 && act != desired.Reject {
			hst = nil
			for _, r := range ranges {
				hst = append(hst, "-s "+r.String())
			}
			if act == desired.Forward {
				cont = hst
			}
		}
		dst := hostPrefix(ip)
		for _, src := range cont {
			b.add("nat", chainPortalsContainer, comment(name+" "+kind), src, match, "-d", dst, "--dport", port, to)
		}
		for _, src := range hst {
			b.add("nat", chainPortalsHost, comment(name+" "+kind), src, match, "-d", dst, "--dport", port, to)
		}
		switch {
		case act != desired.Forward:
			b.add("filter", chainFilter, comment(name+" "+act.Why()), match, "-d", dst, "--dport", port, "-j", act.Target())
		case len(ranges) > 0:
			b.add("filter", chainFilter, comment(name+" traffic not from loadBalancerSourceRanges"), match, "-d", dst, "--dport", port, "-j DROP")
		}
	}
	for _, ip := range sp.ExternalIPs {
		address("external IP", ip, nil)
	}
	for _, ip := range sp.LoadBalancerIPs {
		address("loadbalancer IP", ip, sp.LoadBalancerSourceRanges)
	}
	if sp.NodePort != 0 {
		np := strconv.Itoa(int(sp.NodePort))
		for _, src := range container {
			b.add("nat", chainNodePortContainer, comment(name), src, match, "--dport", np, to)
		}
		for _, src := range host {
			b.add("nat", chainNodePortHost, comment(name), src, match, "--dport", np, to)
		}
		if act != desired.Forward {
			b.add("filter", chainFilter, comment(name+" "+act.Why()), "-m addrtype --dst-type LOCAL", match, "--dport", np, "-j", act.Target())
		}
	}
}

func redirect(port int) string { return "-j REDIRECT --to-ports " + strconv.Itoa(port) }

func hostPrefix(ip netip.Addr) string { return netip.PrefixFrom(ip, ip.BitLen()).String() }

// sortedNames are the service ports of the sets, sorted, each once.
func sortedNames(sets ...ruleSet) []desired.ServicePortName {
	var out []desired.ServicePortName
	for _, s := range sets {
		for n := range s {
			out = append(out, n)
		}
	}
	slices.SortFunc(out, func(a, b desired.ServicePortName) int {
		switch {
		case a.Less(b):
			return -1
		case b.Less(a):
			return 1
		}
		return 0
	})
	return slices.Compact(out)
}

// tableText collects the lines of iptables-restore input per table.
type tableText map[string]*bytes.Buffer

func (t tableText) add(table string, line string) {
	if t[table] == nil {
		t[table] = &bytes.Buffer{}
	}
	t[table].WriteString(line)
	t[table].WriteByte('\n')
}

// render writes the tables in ownedChains order; nil when there is nothing to write.
func (t tableText) render() []byte {
	var b bytes.Buffer
	for _, o := range ownedChains {
		if t[o.table] == nil {
			continue
		}
		b.WriteString("*" + o.table + "\n")
		b.Write(t[o.table].Bytes())
		b.WriteString("COMMIT\n")
	}
	if b.Len() == 0 {
		return nil
	}
	return b.Bytes()
}

// fullRestore is the iptables-restore input that rewrites every chain of the mode with rs,
// and adds the missing jumps to them after the chains are filled.
func fullRestore(rs ruleSet, missing []jump.Jump) []byte {
	t := tableText{}
	for _, o := range ownedChains {
		for _, c := range o.chains {
			t.add(o.table, ":"+c+" - [0:0]")
		}
	}
	for _, n := range sortedNames(rs) {
		for _, r := range rs[n] {
			t.add(r.table, "-A "+r.chain+" "+r.spec)
		}
	}
	for _, j := range missing {
		t.add(j.Table, j.RestoreLine())
	}
	return t.render()
}

// partialRestore is the iptables-restore input that moves the chains from prev to next:
// it deletes the rules only prev has and adds those only next has, touching no other
// service port's rules. nil when nothing changes.
func partialRestore(prev, next ruleSet) []byte {
	deletes, adds := tableText{}, tableText{}
	for _, n := range sortedNames(prev, next) {
		old, cur := prev[n], next[n]
		if slices.Equal(old, cur) {
			continue
		}
		for _, r := range old {
			if !slices.Contains(cur, r) {
				deletes.add(r.table, "-D "+r.chain+" "+r.spec)
			}
		}
		for _, r := range cur {
			if !slices.Contains(old, r) {
				adds.add(r.table, "-A "+r.chain+" "+r.spec)
			}
		}
	}
	for table, b := range adds {
		deletes.add(table, strings.TrimSuffix(b.String(), "\n"))
	}
	return deletes.render()
}

// countRules counts the rules of rs per table.
func countRules(rs ruleSet) map[string]int {
	out := map[string]int{"filter": 0, "nat": 0}
	for _, rules := range rs {
		for _, r := range rules {
			out[r.table]++
		}
	}
	return out
}
