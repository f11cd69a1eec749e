package iptables

import (
	"bytes"
	"fmt"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"capstan/internal/proxy/desired"
	"capstan/internal/proxy/desired/desiredtest"
	"capstan/internal/testing/golden"
)

const mark = "0x4000"

func loadState(t *testing.T, masq desired.Masquerade) *desired.State {
	t.Helper()
	in := desiredtest.Load(t, filepath.Join("..", "desired", "testdata", "services.yaml"))
	in.Masquerade = masq
	in.PodCIDRs = []netip.Prefix{netip.MustParsePrefix("10.42.0.0/16")}
	return desired.Compute(in)
}

func TestFullSyncRulesGolden(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		golden string
		masq   desired.Masquerade
	}{
		{"services.txt", desired.Masquerade{}},
		{"services-masquerade-all.txt", desired.Masquerade{All: true}},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			st := loadState(t, tc.masq)
			// A stale service chain and a foreign chain are in the table: only the first goes.
			// The jumps are missing, as on a first sync.
			pl := buildPlan(st, nil, []string{"PREROUTING", "KUBE-SERVICES", "KUBE-SVC-STALESTALESTALE", "DOCKER"}, mark, chunkChains, jumps())
			golden.Check(t, tc.golden, bytes.Join(pl.restores, nil))
		})
	}
}

func TestPartialSyncRewritesOnlyChangedServices(t *testing.T) {
	t.Parallel()
	st := loadState(t, desired.Masquerade{})
	full := buildPlan(st, nil, nil, mark, chunkChains, nil)

	next := loadState(t, desired.Masquerade{})
	var kept []desired.ServicePort
	for _, sp := range next.Services {
		switch sp.Name.String() {
		case "ns1/web:http":
			// One endpoint goes away.
			sp.ClusterEndpoints = sp.ClusterEndpoints[:2]
		case "ns2/np:http":
			// The service is deleted.
			continue
		}
		kept = append(kept, sp)
	}
	next.Services = kept
	partial := buildPlan(next, full.services, nil, mark, chunkChains, nil)
	golden.Check(t, "partial.txt", bytes.Join(partial.restores, nil))

	// Nothing changed: only the shared chains are written.
	again := buildPlan(next, partial.services, nil, mark, chunkChains, nil)
	if strings.Contains(string(bytes.Join(again.restores, nil)), ":KUBE-SVC-") || strings.Contains(string(bytes.Join(again.restores, nil)), ":KUBE-SEP-") {
		t.Errorf("a sync without changes rewrote service chains:\n%s", bytes.Join(again.restores, nil))
	}
	if again.rules["nat"] != partial.rules["nat"] || again.rules["filter"] != partial.rules["filter"] {
		t.Errorf("rule counts %v after an empty partial sync, want %v", again.rules, partial.rules)
	}
	// A full sync of the same state counts the same rules.
	if f := buildPlan(next, nil, nil, mark, chunkChains, nil); f.rules["nat"] != partial.rules["nat"] {
		t.Errorf("partial sync counts %d nat rules, a full sync %d", partial.rules["nat"], f.rules["nat"])
	}
}

func TestChainNames(t *testing.T) {
	t.Parallel()
	n := desired.ServicePortName{Namespace: "ns1", Name: "a-very-long-service-name-indeed", Port: "http", Protocol: "TCP"}
	ch := chainsOf(n)
	for _, c := range []string{ch.svc, ch.svl, ch.ext, ch.fw, endpointChain(n, desired.Endpoint{IP: netip.MustParseAddr("10.0.0.1"), Port: 80})} {
		if len(c) > 28 {
			t.Errorf("chain %s is longer than iptables allows", c)
		}
		if !isOwnedChain(c) {
			t.Errorf("chain %s is not recognised as owned", c)
		}
	}
	if chainsOf(n) != ch {
		t.Error("chain names are not stable")
	}
	udp := n
	udp.Protocol = "UDP"
	if chainsOf(udp) == ch {
		t.Error("TCP and UDP ports of a service share chains")
	}
	for _, c := range []string{"DOCKER", "KUBE-KUBELET-CANARY", "KUBE-FIREWALL", "INPUT"} {
		if isOwnedChain(c) {
			t.Errorf("chain %s is counted as the proxy's", c)
		}
	}
}

// joined is a plan's transactions as one iptables-restore input, each headed by a comment.
func joined(pl plan) string {
	var b strings.Builder
	for i, r := range pl.restores {
		fmt.Fprintf(&b, "# transaction %d\n", i+1)
		b.Write(r)
	}
	return b.String()
}

func TestLargeSyncsAreSplitIntoWholeServiceChunks(t *testing.T) {
	t.Parallel()
	st := loadState(t, desired.Masquerade{})
	pl := buildPlan(st, nil, []string{"KUBE-SVC-STALESTALESTALE", "KUBE-SEP-STALESTALESTALE"}, mark, 8, jumps())
	golden.Check(t, "services-chunked.txt", []byte(joined(pl)))
	if len(pl.restores) < 3 {
		t.Fatalf("%d transactions for a sync over the chunk size, want several", len(pl.restores))
	}
	// Every service port's chains are written by one transaction, and the shared chains
	// only after all of them.
	shared := -1
	for i, r := range pl.restores {
		if strings.Contains(string(r), ":KUBE-SERVICES ") {
			shared = i
		}
	}
	for name, w := range pl.services {
		in := -1
		for _, c := range w.chains {
			for i, r := range pl.restores {
				if strings.Contains(string(r), ":"+c+" ") && i != shared {
					if in != -1 && in != i {
						t.Errorf("%s is written by transactions %d and %d", name, in, i)
					}
					in = i
				}
			}
		}
		if in > shared {
			t.Errorf("%s is written after the shared chains", name)
		}
	}
	last := string(pl.restores[len(pl.restores)-1])
	if !strings.Contains(last, "-X KUBE-SVC-STALESTALESTALE") || shared == len(pl.restores)-1 {
		t.Errorf("stale chains are not deleted after the shared chains:\n%s", last)
	}
	full := buildPlan(st, nil, nil, mark, chunkChains, nil)
	if pl.rules["nat"] != full.rules["nat"] || pl.rules["filter"] != full.rules["filter"] {
		t.Errorf("chunked plan counts %v rules, one transaction %v", pl.rules, full.rules)
	}
}

// TestTablesAreCommittedInTheOrderThatLeavesNoGap checks the order of the two tables'
// commits: a port that gains usable endpoints gets its forwarding (nat) before its reject
// goes (filter), a port that loses them gets its reject first, so no packet finds neither.
func TestTablesAreCommittedInTheOrderThatLeavesNoGap(t *testing.T) {
	t.Parallel()
	withEndpoints := loadState(t, desired.Masquerade{})
	without := func(names ...string) *desired.State {
		st := loadState(t, desired.Masquerade{})
		for i := range st.Services {
			if slices.Contains(names, st.Services[i].Name.String()) {
				st.Services[i].ClusterEndpoints, st.Services[i].LocalEndpoints = nil, nil
				st.Services[i].HasAnyEndpoints = false
			}
		}
		return st
	}
	const web, other = "ns1/web:http", "ns2/np:http"
	for _, tc := range []struct {
		name         string
		prev, next   *desired.State
		wantNATFirst bool
	}{
		{"a port gains endpoints", without(web), withEndpoints, true},
		{"a port loses its endpoints", withEndpoints, without(web), false},
		{"one gains, another loses", without(web), without(other), false},
		{"endpoints change, forwarding stays", withEndpoints, withEndpoints, false},
	} {
		prev := buildPlan(tc.prev, nil, nil, mark, chunkChains, nil)
		next := string(bytes.Join(buildPlan(tc.next, prev.services, nil, mark, chunkChains, nil).restores, nil))
		nat, filter := strings.Index(next, "*nat\n"), strings.Index(next, "*filter\n")
		if nat < 0 || filter < 0 {
			t.Fatalf("%s: both tables not written:\n%s", tc.name, next)
		}
		if got := nat < filter; got != tc.wantNATFirst {
			t.Errorf("%s: nat committed first = %v, want %v", tc.name, got, tc.wantNATFirst)
		}
	}
}
