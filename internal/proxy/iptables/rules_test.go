package iptables

import (
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"capstan/internal/proxy/desired"
	"capstan/internal/proxy/desired/desiredtest"
)

var update = flag.Bool("update", false, "rewrite the golden files")

const mark = "0x4000"

func loadState(t *testing.T, masq desired.Masquerade) *desired.State {
	t.Helper()
	in := desiredtest.Load(t, filepath.Join("..", "desired", "testdata", "services.yaml"))
	in.Masquerade = masq
	in.PodCIDRs = []netip.Prefix{netip.MustParsePrefix("10.42.0.0/16")}
	return desired.Compute(in)
}

func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("rules differ from %s (go test -update rewrites it):\n%s", path, lineDiff(string(want), got))
	}
}

// lineDiff lists the lines only in want (-) and only in got (+).
func lineDiff(want, got string) string {
	count := func(s string) map[string]int {
		m := map[string]int{}
		for _, l := range strings.Split(s, "\n") {
			m[l]++
		}
		return m
	}
	w, g := count(want), count(got)
	var b strings.Builder
	for _, l := range strings.Split(want, "\n") {
		if g[l] == 0 {
			b.WriteString("- " + l + "\n")
		}
	}
	for _, l := range strings.Split(got, "\n") {
		if w[l] == 0 {
			b.WriteString("+ " + l + "\n")
		}
	}
	return b.String()
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
			pl := buildPlan(st, nil, []string{"PREROUTING", "KUBE-SERVICES", "KUBE-SVC-STALESTALESTALE", "DOCKER"}, mark)
			checkGolden(t, tc.golden, string(pl.restore))
		})
	}
}

func TestPartialSyncRewritesOnlyChangedServices(t *testing.T) {
	t.Parallel()
	st := loadState(t, desired.Masquerade{})
	full := buildPlan(st, nil, nil, mark)

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
	partial := buildPlan(next, full.services, nil, mark)
	checkGolden(t, "partial.txt", string(partial.restore))

	// Nothing changed: only the shared chains are written.
	again := buildPlan(next, partial.services, nil, mark)
	if strings.Contains(string(again.restore), ":KUBE-SVC-") || strings.Contains(string(again.restore), ":KUBE-SEP-") {
		t.Errorf("a sync without changes rewrote service chains:\n%s", again.restore)
	}
	if again.rules["nat"] != partial.rules["nat"] || again.rules["filter"] != partial.rules["filter"] {
		t.Errorf("rule counts %v after an empty partial sync, want %v", again.rules, partial.rules)
	}
	// A full sync of the same state counts the same rules.
	if f := buildPlan(next, nil, nil, mark); f.rules["nat"] != partial.rules["nat"] {
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
