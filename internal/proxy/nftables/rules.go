package nftables

import (
	"crypto/sha256"
	"encoding/base32"
	"maps"
	"slices"
	"strconv"
	"strings"

	"capstan/internal/proxy/desired"
)

// table is the one table this mode owns, in the ip family.
const (
	family = "ip"
	table  = "kube-proxy"
	prefix = "ip kube-proxy "
)

// The maps and the set every sync keeps up to date, element by element.
const (
	mapServiceIPs          = "service-ips"
	mapServiceNodePorts    = "service-nodeports"
	mapNoEndpointServices  = "no-endpoint-services"
	mapNoEndpointNodePorts = "no-endpoint-nodeports"
	mapFirewallIPs         = "firewall-ips"
	setClusterIPs          = "cluster-ips"
)

var mapTypes = []struct{ name, typ, comment string }{
	{mapServiceIPs, "ipv4_addr . inet_proto . inet_service : verdict", "ClusterIP, ExternalIP and LoadBalancer IP traffic"},
	{mapServiceNodePorts, "inet_proto . inet_service : verdict", "NodePort traffic"},
	{mapNoEndpointServices, "ipv4_addr . inet_proto . inet_service : verdict", "vmap to drop or reject packets to services with no endpoints"},
	{mapNoEndpointNodePorts, "inet_proto . inet_service : verdict", "vmap to drop or reject packets to service nodeports with no endpoints"},
	{mapFirewallIPs, "ipv4_addr . inet_proto . inet_service : verdict", "destinations that are subject to LoadBalancerSourceRanges"},
}

// baseChains hook into the kernel; fixedChains are the shared regular chains. Both are
// rewritten whole on every full sync.
var baseChains = []struct{ name, hook string }{
	{"filter-prerouting", "type filter hook prerouting priority -110"},
	{"filter-input", "type filter hook input priority -110"},
	{"filter-forward", "type filter hook forward priority -110"},
	{"filter-output", "type filter hook output priority -110"},
	{"filter-output-post-dnat", "type filter hook output priority -90"},
	{"nat-prerouting", "type nat hook prerouting priority -100"},
	{"nat-output", "type nat hook output priority -100"},
	{"nat-postrouting", "type nat hook postrouting priority 100"},
}

func fixedRules(mark string) [][2]string {
	return [][2]string{
		{"mark-for-masquerade", "mark set mark or " + mark},
		{"masquerading", "mark and " + mark + " == 0 return"},
		// Clear the mark so a packet that goes through the stack again is judged afresh.
		{"masquerading", "mark set mark xor " + mark},
		{"masquerading", "masquerade fully-random"},
		{"services", "ip daddr . meta l4proto . th dport vmap @" + mapServiceIPs},
		// Node ports on every local address but loopback (that would need route_localnet).
		{"services", "fib daddr type local ip daddr != 127.0.0.0/8 meta l4proto . th dport vmap @" + mapServiceNodePorts},
		{"service-endpoints-check", "ip daddr . meta l4proto . th dport vmap @" + mapNoEndpointServices},
		{"nodeport-endpoints-check", "fib daddr type local ip daddr != 127.0.0.0/8 meta l4proto . th dport vmap @" + mapNoEndpointNodePorts},
		{"firewall-check", "ip daddr . meta l4proto . th dport vmap @" + mapFirewallIPs},
		// Traffic to a cluster IP that no rule translated is for a port the service lacks.
		{"cluster-ips-check", "ip daddr @" + setClusterIPs + " reject"},
		{"reject-chain", "reject"},
		{"filter-prerouting", "ct state new jump firewall-check"},
		{"filter-input", "ct state new jump nodeport-endpoints-check"},
		{"filter-input", "ct state new jump service-endpoints-check"},
		{"filter-forward", "ct state new jump service-endpoints-check"},
		{"filter-forward", "ct state new jump cluster-ips-check"},
		{"filter-output", "ct state new jump service-endpoints-check"},
		{"filter-output", "ct state new jump firewall-check"},
		{"filter-output-post-dnat", "ct state new jump cluster-ips-check"},
		{"nat-prerouting", "jump services"},
		{"nat-output", "jump services"},
		{"nat-postrouting", "jump masquerading"},
	}
}

var fixedChains = []string{"mark-for-masquerade", "masquerading", "services", "service-endpoints-check",
	"nodeport-endpoints-check", "firewall-check", "cluster-ips-check", "reject-chain"}

func hash8(s string) string {
	h := sha256.Sum256([]byte(s))
	return base32.StdEncoding.EncodeToString(h[:])[:8]
}

// portSuffix names a service port in chain names: readable, with a hash that keeps
// names unique whatever the characters.
func portSuffix(n desired.ServicePortName) string {
	id := n.Namespace + "/" + n.Name + "/" + protoLower(n) + "/" + n.Port
	return hash8(id) + "-" + id
}

type serviceChains struct{ svc, local, ext, fw string }

func chainsOf(n desired.ServicePortName) serviceChains {
	s := portSuffix(n)
	return serviceChains{svc: "service-" + s, local: "local-" + s, ext: "external-" + s, fw: "firewall-" + s}
}

func endpointSuffix(n desired.ServicePortName, e desired.Endpoint) string {
	id := n.Namespace + "/" + n.Name + "/" + protoLower(n) + "/" + n.Port
	return hash8(id+"/"+e.String()) + "-" + id + "__" + e.IP.String() + "/" + strconv.Itoa(int(e.Port))
}

func protoLower(n desired.ServicePortName) string { return strings.ToLower(string(n.Protocol)) }

// isServiceObject reports whether a chain or set name is per service port.
func isServiceObject(name string) bool {
	for _, p := range []string{"service-", "local-", "external-", "firewall-", "endpoint-", "affinity-"} {
		if strings.HasPrefix(name, p) && !slices.Contains(fixedChains, name) {
			return true
		}
	}
	return false
}

// written is what a sync left for one service port: its state, its own chains and its
// affinity sets.
type written struct {
	sp     desired.ServicePort
	chains []string
	sets   []string
	rules  int
}

// elements are the desired contents of the maps (key to verdict) and of the cluster-ips set
// (key to "").
type elements map[string]map[string]string

func newElements() elements {
	e := elements{setClusterIPs: {}}
	for _, m := range mapTypes {
		e[m.name] = map[string]string{}
	}
	return e
}

// add keeps the first value for a key: two services claiming one address and port is a
// conflict the first (in name order) wins.
func (e elements) add(m, key, value string) {
	if _, ok := e[m][key]; !ok {
		e[m][key] = value
	}
}

// existing lists the objects found in the table before a full sync.
type existing struct {
	chains, sets []string
}

// plan is the nft scripts of one sync, each one transaction, applied in order, and what
// applying them leaves behind.
type plan struct {
	scripts  [][]byte
	services map[desired.ServicePortName]*written
	elements elements
	rules    int
}

// chunkChains bounds the chains one transaction creates or rewrites when a sync touches
// many. The kernel's cost per transaction grows with the square of the chains it adds
// rules to, while nft's own cost per transaction grows with the size of the table (it
// lists every chain first): 10,000 services of 10 endpoints take 80 s in one transaction,
// 22 s in transactions of 1,000 chains and 11 s in transactions of 5,000.
const chunkChains = 5000

// ownPart is the text of one service port's own chains and sets.
type ownPart struct {
	b      strings.Builder
	chains int
}

// script collects nft commands by the part of the sync they belong to.
type script struct {
	elemDeletes, fixed, elemAdds strings.Builder
	own                          []*ownPart
	// cur is where rule writes go.
	cur   *strings.Builder
	rules int
}

func (s *script) rule(chain, rule string) {
	s.cur.WriteString("add rule " + prefix + chain + " " + rule + "\n")
	s.rules++
}

// buildPlan renders st. With prev nil it writes everything (a full sync), flushing the
// maps and deleting the per-service objects of old that st lacks; otherwise it writes the
// chains of the service ports that differ from prev and only the map elements that differ
// from prevElems.
//
// When it touches at most chunk chains the plan is one transaction. Otherwise the table
// and its shared chains come first, then the service ports' own chains in transactions of
// about chunk chains holding whole ports, then the map elements in one transaction (the
// moment the new forwarding takes effect), then the stale objects, no longer referred to,
// flushed and deleted in chunks.
func buildPlan(st *desired.State, prev map[desired.ServicePortName]*written, prevElems elements, old existing, mark string, chunk int) plan {
	full := prev == nil
	s := &script{}
	s.cur = &s.fixed
	out := plan{services: make(map[desired.ServicePortName]*written, len(st.Services)), elements: newElements()}
	if full {
		s.fixed.WriteString("add table " + prefix + "{ comment \"rules for kube-proxy\" ; }\n")
		for _, c := range baseChains {
			s.fixed.WriteString("add chain " + prefix + c.name + " { " + c.hook + " ; }\n")
			s.fixed.WriteString("flush chain " + prefix + c.name + "\n")
		}
		for _, c := range fixedChains {
			s.fixed.WriteString("add chain " + prefix + c + "\n")
			s.fixed.WriteString("flush chain " + prefix + c + "\n")
		}
		for _, m := range mapTypes {
			s.fixed.WriteString("add map " + prefix + m.name + " { type " + m.typ + " ; comment \"" + m.comment + "\" ; }\n")
			s.elemAdds.WriteString("flush map " + prefix + m.name + "\n")
		}
		s.fixed.WriteString("add set " + prefix + setClusterIPs + " { type ipv4_addr ; comment \"Active ClusterIPs\" ; }\n")
		s.elemAdds.WriteString("flush set " + prefix + setClusterIPs + "\n")
		for _, r := range fixedRules(mark) {
			s.rule(r[0], r[1])
		}
	}
	var staleChains, staleSets []string
	for i := range st.Services {
		sp := &st.Services[i]
		o := prev[sp.Name]
		changed := o == nil || !o.sp.Equal(sp)
		w := service(s, st, sp, out.elements, changed)
		if !changed {
			out.services[sp.Name] = o
			continue
		}
		out.services[sp.Name] = w
		if o != nil {
			staleChains = append(staleChains, difference(o.chains, w.chains)...)
			staleSets = append(staleSets, difference(o.sets, w.sets)...)
		}
	}
	if full {
		want := map[string]bool{}
		for _, w := range out.services {
			for _, c := range w.chains {
				want[c] = true
			}
			for _, c := range w.sets {
				want[c] = true
			}
		}
		for _, c := range old.chains {
			if isServiceObject(c) && !want[c] {
				staleChains = append(staleChains, c)
			}
		}
		for _, c := range old.sets {
			if isServiceObject(c) && !want[c] {
				staleSets = append(staleSets, c)
			}
		}
		writeElements(&s.elemAdds, "add", out.elements, nil)
	} else {
		for name, o := range prev {
			if out.services[name] == nil {
				staleChains = append(staleChains, o.chains...)
				staleSets = append(staleSets, o.sets...)
			}
		}
		// Changed elements are deleted, then added with their new verdict.
		writeElements(&s.elemDeletes, "delete", prevElems, out.elements)
		writeElements(&s.elemAdds, "add", out.elements, prevElems)
	}
	slices.Sort(staleChains)
	slices.Sort(staleSets)
	var flushes, deletes []string
	for _, c := range staleChains {
		flushes = append(flushes, "flush chain "+prefix+c+"\n")
		deletes = append(deletes, "delete chain "+prefix+c+"\n")
	}
	for _, c := range staleSets {
		deletes = append(deletes, "delete set "+prefix+c+"\n")
	}

	touched := len(staleChains)
	for _, o := range s.own {
		touched += o.chains
	}
	if touched <= chunk {
		var b strings.Builder
		b.WriteString(s.elemDeletes.String())
		b.WriteString(s.fixed.String())
		for _, o := range s.own {
			b.WriteString(o.b.String())
		}
		b.WriteString(s.elemAdds.String())
		b.WriteString(strings.Join(flushes, ""))
		b.WriteString(strings.Join(deletes, ""))
		if b.Len() > 0 {
			out.scripts = [][]byte{[]byte(b.String())}
		}
	} else {
		add := func(text string) {
			if text != "" {
				out.scripts = append(out.scripts, []byte(text))
			}
		}
		add(s.fixed.String())
		var b strings.Builder
		n := 0
		for _, o := range s.own {
			b.WriteString(o.b.String())
			if n += o.chains; n >= chunk {
				add(b.String())
				b.Reset()
				n = 0
			}
		}
		add(b.String())
		add(s.elemDeletes.String() + s.elemAdds.String())
		for _, lines := range [][]string{flushes, deletes} {
			for len(lines) > 0 {
				k := min(chunk, len(lines))
				add(strings.Join(lines[:k], ""))
				lines = lines[k:]
			}
		}
	}
	out.rules = len(fixedRules(mark))
	for _, w := range out.services {
		out.rules += w.rules
	}
	return out
}

// writeElements writes op commands for the elements of want whose key is not in other
// with the same value, map by map in a stable order.
func writeElements(b *strings.Builder, op string, want, other elements) {
	names := slices.Sorted(maps.Keys(want))
	for _, m := range names {
		var keys []string
		for k, v := range want[m] {
			if ov, ok := other[m][k]; ok && ov == v {
				continue
			}
			keys = append(keys, k)
		}
		if len(keys) == 0 {
			continue
		}
		slices.Sort(keys)
		b.WriteString(op + " element " + prefix + m + " { ")
		for i, k := range keys {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(k)
			if v := want[m][k]; v != "" && op == "add" {
				b.WriteString(" : " + v)
			}
		}
		b.WriteString(" }\n")
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

func verdict(a desired.Action) string {
	if a == desired.Drop {
		return "drop"
	}
	return "goto reject-chain"
}

// service adds sp's map elements to elems and, when writeOwn, writes its chains and sets.
func service(s *script, st *desired.State, sp *desired.ServicePort, elems elements, writeOwn bool) *written {
	proto := protoLower(sp.Name)
	port := strconv.Itoa(int(sp.Port))
	ch := chainsOf(sp.Name)
	all := sp.AllEndpoints()
	usesSVC := len(sp.ClusterEndpoints) > 0
	usesLocal := len(sp.LocalEndpoints) > 0
	usesEXT := sp.ExternallyAccessible() && len(all) > 0
	usesFW := usesEXT && len(sp.LoadBalancerIPs) > 0 && len(sp.LoadBalancerSourceRanges) > 0

	key := func(ip string) string { return ip + " . " + proto + " . " + port }
	clusterIP := sp.ClusterIP.String()
	elems.add(setClusterIPs, clusterIP, "")
	internal := ch.svc
	if sp.InternalPolicyLocal {
		internal = ch.local
	}
	if len(sp.InternalEndpoints()) > 0 {
		elems.add(mapServiceIPs, key(clusterIP), "goto "+internal)
	} else {
		elems.add(mapNoEndpointServices, key(clusterIP), verdict(sp.InternalAction()))
	}
	if sp.ExternallyAccessible() {
		extAction := sp.ExternalAction()
		for _, ip := range append(slices.Clone(sp.ExternalIPs), sp.LoadBalancerIPs...) {
			if usesEXT {
				elems.add(mapServiceIPs, key(ip.String()), "goto "+ch.ext)
			}
			if extAction != desired.Forward {
				elems.add(mapNoEndpointServices, key(ip.String()), verdict(extAction))
			}
		}
		if usesFW {
			for _, ip := range sp.LoadBalancerIPs {
				elems.add(mapFirewallIPs, key(ip.String()), "goto "+ch.fw)
			}
		}
		if sp.NodePort != 0 {
			npKey := proto + " . " + strconv.Itoa(int(sp.NodePort))
			if usesEXT {
				elems.add(mapServiceNodePorts, npKey, "goto "+ch.ext)
			}
			if extAction != desired.Forward {
				elems.add(mapNoEndpointNodePorts, npKey, verdict(extAction))
			}
		}
	}
	if !writeOwn {
		return nil
	}

	w := &written{sp: *sp}
	part := &ownPart{}
	s.own = append(s.own, part)
	s.cur = &part.b
	start := s.rules
	chain := func(c string) {
		part.b.WriteString("add chain " + prefix + c + "\n")
		part.b.WriteString("flush chain " + prefix + c + "\n")
		part.chains++
		w.chains = append(w.chains, c)
	}
	if sp.AffinitySeconds > 0 {
		for _, e := range all {
			set := "affinity-" + endpointSuffix(sp.Name, e)
			part.b.WriteString("add set " + prefix + set + " { type ipv4_addr ; flags dynamic,timeout ; timeout " + strconv.Itoa(int(sp.AffinitySeconds)) + "s ; }\n")
			w.sets = append(w.sets, set)
		}
	}
	// Endpoint chains first: the service chains refer to them.
	for _, e := range all {
		suffix := endpointSuffix(sp.Name, e)
		c := "endpoint-" + suffix
		chain(c)
		s.rule(c, "ip saddr "+e.IP.String()+" jump mark-for-masquerade")
		if sp.AffinitySeconds > 0 {
			s.rule(c, "update @affinity-"+suffix+" { ip saddr }")
		}
		s.rule(c, "meta l4proto "+proto+" dnat to "+e.String())
	}
	if usesSVC {
		chain(ch.svc)
		balance(s, st, sp, ch.svc, sp.ClusterEndpoints, !sp.InternalPolicyLocal, proto, port)
	}
	if usesLocal {
		chain(ch.local)
		balance(s, st, sp, ch.local, sp.LocalEndpoints, sp.InternalPolicyLocal, proto, port)
	}
	if usesEXT {
		chain(ch.ext)
		if !sp.ExternalPolicyLocal {
			s.rule(ch.ext, "jump mark-for-masquerade")
		} else if usesSVC {
			// Pods and the node itself reach external addresses as if from outside and back
			// in: any endpoint will do, and the node's traffic must be masqueraded.
			if pc := st.Masquerade.PodCIDR; pc.IsValid() {
				s.rule(ch.ext, "ip saddr "+pc.String()+" goto "+ch.svc)
			}
			s.rule(ch.ext, "fib saddr type local jump mark-for-masquerade")
			s.rule(ch.ext, "fib saddr type local goto "+ch.svc)
		}
		if len(sp.ExternalEndpoints()) > 0 {
			to := ch.svc
			if sp.ExternalPolicyLocal {
				to = ch.local
			}
			s.rule(ch.ext, "goto "+to)
		}
	}
	if usesFW {
		chain(ch.fw)
		ranges := make([]string, len(sp.LoadBalancerSourceRanges))
		for i, r := range sp.LoadBalancerSourceRanges {
			ranges[i] = r.String()
		}
		s.rule(ch.fw, "ip saddr != { "+strings.Join(ranges, ", ")+" } drop")
	}
	w.rules = s.rules - start
	slices.Sort(w.chains)
	return w
}

// balance writes a service or local chain: the masquerade rule for cluster-IP traffic
// (when clusterIPTraffic), the affinity rules, then a random choice of endpoint.
func balance(s *script, st *desired.State, sp *desired.ServicePort, chain string, eps []desired.Endpoint, clusterIPTraffic bool, proto, port string) {
	if clusterIPTraffic {
		match := "ip daddr " + sp.ClusterIP.String() + " " + proto + " dport " + port
		switch m := st.Masquerade; {
		case m.All:
			s.rule(chain, match+" jump mark-for-masquerade")
		case m.PodCIDR.IsValid():
			s.rule(chain, match+" ip saddr != "+m.PodCIDR.String()+" jump mark-for-masquerade")
		}
	}
	if sp.AffinitySeconds > 0 {
		for _, e := range eps {
			suffix := endpointSuffix(sp.Name, e)
			s.rule(chain, "ip saddr @affinity-"+suffix+" goto endpoint-"+suffix)
		}
	}
	var b strings.Builder
	b.WriteString("numgen random mod " + strconv.Itoa(len(eps)) + " vmap { ")
	for i, e := range eps {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(strconv.Itoa(i) + " : goto endpoint-" + endpointSuffix(sp.Name, e))
	}
	b.WriteString(" }")
	s.rule(chain, b.String())
}
