package iptables

import (
	"bytes"
	"crypto/sha256"
	"encoding/base32"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"capstan/internal/netfilter/jump"
	"capstan/internal/proxy/desired"
)

// The chains every sync writes whole. The per-service chains are KUBE-SVC-* (Cluster
// policy endpoints), KUBE-SVL-* (Local policy endpoints), KUBE-EXT-* (external traffic),
// KUBE-FW-* (load-balancer source ranges) and KUBE-SEP-* (one endpoint).
const (
	chainServices         = "KUBE-SERVICES"
	chainExternalServices = "KUBE-EXTERNAL-SERVICES"
	chainNodePorts        = "KUBE-NODEPORTS"
	chainPostrouting      = "KUBE-POSTROUTING"
	chainMarkMasq         = "KUBE-MARK-MASQ"
	chainForward          = "KUBE-FORWARD"
	chainProxyFirewall    = "KUBE-PROXY-FIREWALL"
)

// serviceChainPrefixes start the names of the chains owned by one service port.
var serviceChainPrefixes = []string{"KUBE-SVC-", "KUBE-SVL-", "KUBE-EXT-", "KUBE-FW-", "KUBE-SEP-"}

// fixedChains are the tables' chains that are not per service, in declaration order.
var (
	fixedFilterChains = []string{chainServices, chainExternalServices, chainForward, chainProxyFirewall}
	fixedNATChains    = []string{chainServices, chainNodePorts, chainPostrouting, chainMarkMasq}
)

// isOwnedChain reports whether a chain of the nat or filter table was made by this mode.
func isOwnedChain(name string) bool {
	if slices.Contains(fixedFilterChains, name) || slices.Contains(fixedNATChains, name) {
		return true
	}
	for _, p := range serviceChainPrefixes {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// chainHash is the 16-character suffix of a per-service chain name: chain names are
// limited to 28 characters, service names are not.
func chainHash(s string) string {
	h := sha256.Sum256([]byte(s))
	return base32.StdEncoding.EncodeToString(h[:])[:16]
}

type serviceChains struct{ svc, svl, ext, fw string }

func chainsOf(n desired.ServicePortName) serviceChains {
	h := chainHash(n.String() + protoLower(n))
	return serviceChains{svc: "KUBE-SVC-" + h, svl: "KUBE-SVL-" + h, ext: "KUBE-EXT-" + h, fw: "KUBE-FW-" + h}
}

func endpointChain(n desired.ServicePortName, e desired.Endpoint) string {
	return "KUBE-SEP-" + chainHash(n.String()+protoLower(n)+e.String())
}

func protoLower(n desired.ServicePortName) string { return strings.ToLower(string(n.Protocol)) }

// written is what a sync left in the nat table for one service port: the state it
// rendered and the chains of its own (not KUBE-SERVICES and the other shared chains).
type written struct {
	sp     desired.ServicePort
	chains []string
	rules  int
}

// plan is the iptables-restore inputs of one sync, applied in order, and what applying
// them leaves behind.
type plan struct {
	restores [][]byte
	services map[desired.ServicePortName]*written
	// rules counts the rules per table after the plan is applied.
	rules map[string]int
}

// buffer collects lines and counts them.
type buffer struct {
	bytes.Buffer
	n int
}

func (b *buffer) line(parts ...string) {
	for i, p := range parts {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(p)
	}
	b.WriteByte('\n')
	b.n++
}

func comment(s string) string { return `-m comment --comment "` + s + `"` }

// chunkChains bounds the chains one iptables-restore touches when a sync rewrites many:
// iptables-nft's cost per transaction grows with the square of the chains it touches
// (10,000 services of 10 endpoints did not finish in 15 minutes in one transaction; they
// take about 7 s in transactions of 1,000 chains, with 250 to 2,500 not much different).
const chunkChains = 1000

// ownPart is the text of one service port's own chains.
type ownPart struct {
	decls, rules buffer
	chains       int
}

// planner renders a State.
type planner struct {
	st       *desired.State
	masqMark string // e.g. 0x4000

	filterChains, filterRules buffer
	natChains, natRules       buffer
	own                       []*ownPart
	missing                   []jump.Jump
	// natFirst commits the nat table before the filter table: iptables-restore commits
	// each table on its own, so between the two a port is half-written. A port gaining its
	// first usable endpoints must get its forwarding (nat) before losing its reject
	// (filter), and a port losing them the reverse, or its traffic leaves unforwarded by
	// the default route for that moment.
	natFirst bool
}

// buildPlan renders st. With prev nil every chain is written (a full sync) and existing,
// the chains found in the nat table, says which stale ones to delete; otherwise only the
// chains of the service ports that differ from prev are written, and the chains prev had
// and st does not are deleted.
//
// When it all touches at most chunk chains the plan is one transaction. Otherwise the
// service ports' own chains go first, in transactions of about chunk chains that each hold
// whole service ports (so every port is always consistent); then one transaction rewrites
// the shared chains and the filter table; then the stale chains, no longer referred to, are
// flushed and deleted in chunks.
//
// missing are the jumps from the built-in chains that are not there yet; the transaction
// that rewrites the shared chains adds them, so traffic starts going through all the chains
// at once (a connection DNATed before the masquerade jump exists would keep its unmasqueraded
// source for its whole life).
func buildPlan(st *desired.State, prev map[desired.ServicePortName]*written, existing []string, masqMark string, chunk int, missing []jump.Jump) plan {
	p := &planner{st: st, masqMark: masqMark, missing: missing}
	out := plan{services: make(map[desired.ServicePortName]*written, len(st.Services))}
	for _, c := range fixedFilterChains {
		p.filterChains.line(":" + c + " - [0:0]")
	}
	for _, c := range fixedNATChains {
		p.natChains.line(":" + c + " - [0:0]")
	}
	p.fixedRules()
	var stale []string
	var gaining, losing bool
	for i := range st.Services {
		sp := &st.Services[i]
		old := prev[sp.Name]
		if old != nil {
			gains, loses := forwardingChange(&old.sp, sp)
			gaining, losing = gaining || gains, losing || loses
		}
		w := p.service(sp, old == nil || !old.sp.Equal(sp))
		if w == nil {
			w = old
		} else if old != nil {
			stale = append(stale, difference(old.chains, w.chains)...)
		}
		out.services[sp.Name] = w
	}
	if prev == nil {
		want := map[string]bool{}
		for _, w := range out.services {
			for _, c := range w.chains {
				want[c] = true
			}
		}
		for _, c := range existing {
			if !want[c] && isOwnedChain(c) && !slices.Contains(fixedNATChains, c) {
				stale = append(stale, c)
			}
		}
	} else {
		for name, old := range prev {
			if out.services[name] == nil {
				stale = append(stale, old.chains...)
			}
		}
	}
	// When some ports gain forwarding and others lose it, neither order suits both; the
	// filter table first is the full sync's order.
	p.natFirst = gaining && !losing
	p.nodePortsLast()
	slices.Sort(stale)
	stale = slices.Compact(stale)

	touched := len(stale)
	for _, o := range p.own {
		touched += o.chains
	}
	if touched <= chunk {
		// One transaction. Stale chains are declared (which flushes them) and deleted after
		// every rule that referred to them has been rewritten.
		var decls, rules, deletes bytes.Buffer
		for _, o := range p.own {
			decls.Write(o.decls.Bytes())
			rules.Write(o.rules.Bytes())
		}
		for _, c := range stale {
			decls.WriteString(":" + c + " - [0:0]\n")
			deletes.WriteString("-X " + c + "\n")
		}
		out.restores = [][]byte{p.shared(decls.Bytes(), rules.Bytes(), deletes.Bytes())}
	} else {
		var b bytes.Buffer
		n := 0
		flush := func() {
			if n > 0 {
				out.restores = append(out.restores, []byte("*nat\n"+b.String()+"COMMIT\n"))
			}
			b.Reset()
			n = 0
		}
		// The chains every port's chains jump to must exist first (on the first sync they
		// do not); rewriting them whole in one transaction leaves no gap.
		var fixed bytes.Buffer
		fixed.WriteString(":" + chainMarkMasq + " - [0:0]\n:" + chainPostrouting + " - [0:0]\n")
		for _, l := range strings.SplitAfter(p.natRules.String(), "\n") {
			if strings.HasPrefix(l, "-A "+chainMarkMasq+" ") || strings.HasPrefix(l, "-A "+chainPostrouting+" ") {
				fixed.WriteString(l)
			}
		}
		out.restores = append(out.restores, []byte("*nat\n"+fixed.String()+"COMMIT\n"))
		// Declarations before rules within each chunk: a port's chains refer to each other.
		var rules bytes.Buffer
		for _, o := range p.own {
			b.Write(o.decls.Bytes())
			rules.Write(o.rules.Bytes())
			n += o.chains
			if n >= chunk {
				b.Write(rules.Bytes())
				rules.Reset()
				flush()
			}
		}
		b.Write(rules.Bytes())
		flush()
		out.restores = append(out.restores, p.shared(nil, nil, nil))
		for _, op := range []string{":%s - [0:0]\n", "-X %s\n"} {
			for i, c := range stale {
				fmt.Fprintf(&b, op, c)
				n++
				if n >= chunk || i == len(stale)-1 {
					flush()
				}
			}
		}
	}
	out.rules = map[string]int{"filter": p.filterRules.n, "nat": p.natRules.n}
	for _, w := range out.services {
		out.rules["nat"] += w.rules
	}
	return out
}

// shared is the transaction of the filter table and the nat table's shared chains, with
// the given extra declarations, rules and deletions of the nat table.
func (p *planner) shared(decls, rules, deletes []byte) []byte {
	var b bytes.Buffer
	b.Grow(p.filterChains.Len() + p.filterRules.Len() + p.natChains.Len() + p.natRules.Len() + len(decls) + len(rules) + len(deletes) + 32)
	filter := func() {
		b.WriteString("*filter\n")
		b.Write(p.filterChains.Bytes())
		b.Write(p.filterRules.Bytes())
		p.insertJumps(&b, "filter")
		b.WriteString("COMMIT\n")
	}
	if !p.natFirst {
		filter()
	}
	b.WriteString("*nat\n")
	b.Write(p.natChains.Bytes())
	b.Write(decls)
	b.Write(p.natRules.Bytes())
	b.Write(rules)
	p.insertJumps(&b, "nat")
	b.Write(deletes)
	b.WriteString("COMMIT\n")
	if p.natFirst {
		filter()
	}
	return b.Bytes()
}

// forwardingChange tells whether a service port goes from rejecting or dropping some of
// its traffic to forwarding it (gains), or the reverse (loses).
func forwardingChange(old, sp *desired.ServicePort) (gains, loses bool) {
	for _, a := range [][2]desired.Action{{old.InternalAction(), sp.InternalAction()}, {old.ExternalAction(), sp.ExternalAction()}} {
		gains = gains || (a[0] != desired.Forward && a[1] == desired.Forward)
		loses = loses || (a[0] == desired.Forward && a[1] != desired.Forward)
	}
	return gains, loses
}

func (p *planner) insertJumps(b *bytes.Buffer, table string) {
	for _, j := range p.missing {
		if j.Table == table {
			b.WriteString(j.RestoreLine() + "\n")
		}
	}
}

func difference(a, b []string) []string {
	var out []string
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}

func (p *planner) fixedRules() {
	mark := p.masqMark + "/" + p.masqMark
	p.natRules.line("-A", chainPostrouting, "-m mark ! --mark", mark, "-j RETURN")
	// Clear the mark so a packet that goes through the stack again is judged afresh.
	p.natRules.line("-A", chainPostrouting, "-j MARK --xor-mark", p.masqMark)
	p.natRules.line("-A", chainPostrouting, comment("kubernetes service traffic requiring SNAT"), "-j MASQUERADE --random-fully")
	p.natRules.line("-A", chainMarkMasq, "-j MARK --or-mark", p.masqMark)
	p.filterRules.line("-A", chainForward, "-m conntrack --ctstate INVALID -j DROP")
	p.filterRules.line("-A", chainForward, comment("kubernetes forwarding rules"), "-m mark --mark", mark, "-j ACCEPT")
	p.filterRules.line("-A", chainForward, comment("kubernetes forwarding conntrack rule"), "-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT")
}

func (p *planner) nodePortsLast() {
	// Node ports are matched on every local address but loopback: reaching them through
	// 127.0.0.1 would need route_localnet, which this proxy does not turn on.
	p.natRules.line("-A", chainServices, comment("kubernetes service nodeports; NOTE: this must be the last rule in this chain"),
		"! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j", chainNodePorts)
}

func hostBits(s string) string {
	if strings.Contains(s, ":") {
		return "/128"
	}
	return "/32"
}

// service writes the shared-chain rules of sp, and when writeOwn its own chains; it
// returns what it wrote of its own, or nil when writeOwn is false.
func (p *planner) service(sp *desired.ServicePort, writeOwn bool) *written {
	name := sp.Name.String()
	proto := protoLower(sp.Name)
	match := "-m " + proto + " -p " + proto
	port := strconv.Itoa(int(sp.Port))
	ch := chainsOf(sp.Name)
	clusterIP := sp.ClusterIP.String() + hostBits(sp.ClusterIP.String())

	internal, external := sp.InternalEndpoints(), sp.ExternalEndpoints()
	all := sp.AllEndpoints()
	usesSVC := len(sp.ClusterEndpoints) > 0
	usesSVL := len(sp.LocalEndpoints) > 0
	usesEXT := sp.ExternallyAccessible() && len(all) > 0
	usesFW := usesEXT && len(sp.LoadBalancerIPs) > 0 && len(sp.LoadBalancerSourceRanges) > 0

	internalChain := ch.svc
	if sp.InternalPolicyLocal {
		internalChain = ch.svl
	}
	// Traffic to the cluster IP.
	if len(internal) > 0 {
		p.natRules.line("-A", chainServices, comment(name+" cluster IP"), match, "-d", clusterIP, "--dport", port, "-j", internalChain)
	} else {
		p.filterRules.line("-A", chainServices, comment(name+" "+sp.InternalAction().Why()), match, "-d", clusterIP, "--dport", port, "-j", sp.InternalAction().Target())
	}
	// Traffic to the external addresses.
	if sp.ExternallyAccessible() {
		extAction := sp.ExternalAction()
		for _, ip := range sp.ExternalIPs {
			dst := ip.String() + hostBits(ip.String())
			if usesEXT {
				p.natRules.line("-A", chainServices, comment(name+" external IP"), match, "-d", dst, "--dport", port, "-j", ch.ext)
			}
			if extAction != desired.Forward {
				p.filterRules.line("-A", chainExternalServices, comment(name+" "+extAction.Why()), match, "-d", dst, "--dport", port, "-j", extAction.Target())
			}
		}
		for _, ip := range sp.LoadBalancerIPs {
			dst := ip.String() + hostBits(ip.String())
			if usesEXT {
				to := ch.ext
				if usesFW {
					to = ch.fw
				}
				p.natRules.line("-A", chainServices, comment(name+" loadbalancer IP"), match, "-d", dst, "--dport", port, "-j", to)
			}
			if extAction != desired.Forward {
				p.filterRules.line("-A", chainExternalServices, comment(name+" "+extAction.Why()), match, "-d", dst, "--dport", port, "-j", extAction.Target())
			} else if len(sp.LoadBalancerSourceRanges) > 0 {
				p.filterRules.line("-A", chainProxyFirewall, comment(name+" traffic not accepted by "+ch.fw), match, "-d", dst, "--dport", port, "-j DROP")
			}
		}
		if sp.NodePort != 0 {
			np := strconv.Itoa(int(sp.NodePort))
			if usesEXT {
				p.natRules.line("-A", chainNodePorts, comment(name), match, "--dport", np, "-j", ch.ext)
			}
			if extAction != desired.Forward {
				p.filterRules.line("-A", chainExternalServices, comment(name+" "+extAction.Why()), "-m addrtype --dst-type LOCAL", match, "--dport", np, "-j", extAction.Target())
			}
		}
	}
	if !writeOwn {
		return nil
	}

	w := &written{sp: *sp}
	part := &ownPart{}
	p.own = append(p.own, part)
	own := &part.rules
	declare := func(c string) {
		part.decls.line(":" + c + " - [0:0]")
		part.chains++
		w.chains = append(w.chains, c)
	}
	if usesSVC {
		declare(ch.svc)
		p.balance(own, sp, ch.svc, sp.ClusterEndpoints, !sp.InternalPolicyLocal, match, clusterIP, port)
	}
	if usesSVL {
		declare(ch.svl)
		p.balance(own, sp, ch.svl, sp.LocalEndpoints, sp.InternalPolicyLocal, match, clusterIP, port)
	}
	if usesEXT {
		declare(ch.ext)
		for_ := " for " + name + " external destinations"
		if !sp.ExternalPolicyLocal {
			own.line("-A", ch.ext, comment("masquerade traffic"+for_), "-j", chainMarkMasq)
		} else if usesSVC {
			// Pods and the node itself reach external addresses as if from outside and
			// back in: any endpoint will do, and the node's traffic must be masqueraded
			// since its source is the external address itself.
			if pc := p.st.Masquerade.PodCIDR; pc.IsValid() {
				own.line("-A", ch.ext, comment("pod traffic"+for_), "-s", pc.String(), "-j", ch.svc)
			}
			own.line("-A", ch.ext, comment("masquerade LOCAL traffic"+for_), "-m addrtype --src-type LOCAL -j", chainMarkMasq)
			own.line("-A", ch.ext, comment("route LOCAL traffic"+for_), "-m addrtype --src-type LOCAL -j", ch.svc)
		}
		if len(external) > 0 {
			to := ch.svc
			if sp.ExternalPolicyLocal {
				to = ch.svl
			}
			own.line("-A", ch.ext, "-j", to)
		}
	}
	if usesFW {
		declare(ch.fw)
		for _, r := range sp.LoadBalancerSourceRanges {
			own.line("-A", ch.fw, comment(name+" loadbalancer IP"), "-s", r.String(), "-j", ch.ext)
		}
		own.line("-A", ch.fw, comment("other traffic to "+name+" will be dropped by "+chainProxyFirewall))
	}
	for _, e := range all {
		sep := endpointChain(sp.Name, e)
		declare(sep)
		ip := e.IP.String()
		own.line("-A", sep, comment(name), "-s", ip+hostBits(ip), "-j", chainMarkMasq)
		affinity := ""
		if sp.AffinitySeconds > 0 {
			affinity = "-m recent --name " + sep + " --set "
		}
		own.line("-A", sep, comment(name), affinity+match, "-j DNAT --to-destination", e.String())
	}
	w.rules = own.n
	slices.Sort(w.chains)
	return w
}

// balance writes a KUBE-SVC or KUBE-SVL chain: the masquerade rule for cluster-IP traffic
// (when clusterIPTraffic: the chain is the one the cluster IP jumps to), the affinity rules,
// then one random rule per endpoint.
func (p *planner) balance(b *buffer, sp *desired.ServicePort, chain string, eps []desired.Endpoint, clusterIPTraffic bool, match, clusterIP, port string) {
	name := sp.Name.String()
	if clusterIPTraffic {
		args := []string{"-A", chain, comment(name + " cluster IP"), match, "-d", clusterIP, "--dport", port}
		switch m := p.st.Masquerade; {
		case m.All:
			b.line(append(args, "-j", chainMarkMasq)...)
		case m.PodCIDR.IsValid():
			b.line(append(args, "! -s", m.PodCIDR.String(), "-j", chainMarkMasq)...)
		}
	}
	if sp.AffinitySeconds > 0 {
		secs := strconv.Itoa(int(sp.AffinitySeconds))
		for _, e := range eps {
			sep := endpointChain(sp.Name, e)
			b.line("-A", chain, comment(name+" -> "+e.String()), "-m recent --name", sep, "--rcheck --seconds", secs, "--reap -j", sep)
		}
	}
	n := len(eps)
	for i, e := range eps {
		sep := endpointChain(sp.Name, e)
		if i < n-1 {
			b.line("-A", chain, comment(name+" -> "+e.String()), "-m statistic --mode random --probability", fmt.Sprintf("%0.10f", 1/float64(n-i)), "-j", sep)
		} else {
			b.line("-A", chain, comment(name+" -> "+e.String()), "-j", sep)
		}
	}
}
