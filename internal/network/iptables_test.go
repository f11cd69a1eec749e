package network

import (
	"net/netip"
	"strings"
	"testing"

	"capstan/internal/testing/golden"
)

func TestMasqueradeRules(t *testing.T) {
	t.Parallel()
	got := MasqueradeRules(netip.MustParsePrefix("10.42.0.0/16"), netip.MustParsePrefix("10.42.1.0/24"))
	golden.Check(t, "masquerade.rules", []byte(got))
}

func TestRulesStayInOurChains(t *testing.T) {
	t.Parallel()
	text := MasqueradeRules(netip.MustParsePrefix("10.42.0.0/16"), netip.MustParsePrefix("10.42.1.0/24")) + deleteChainsRules()
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(line, "-") || strings.HasPrefix(line, ":") {
			chain := strings.Fields(strings.TrimLeft(line, ":"))[0]
			if strings.HasPrefix(line, "-") {
				chain = strings.Fields(line)[1]
			}
			if !strings.HasPrefix(chain, "CAPSTAN-NET-") {
				t.Errorf("rule outside our chains: %s", line)
			}
		}
	}
	for _, j := range jumps() {
		if target := j.Args[len(j.Args)-1]; !strings.HasPrefix(target, "CAPSTAN-NET-") {
			t.Errorf("jump from %s/%s to %s", j.Table, j.Chain, target)
		}
	}
}

func TestAfterProxyJumps(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, rules string
		want        int
	}{
		{"empty chain", "-P FORWARD ACCEPT\n", 1},
		{"proxy jumps first", "-P FORWARD ACCEPT\n-A FORWARD -m comment --comment \"kubernetes forwarding rules\" -j KUBE-FORWARD\n" +
			"-A FORWARD -m conntrack --ctstate NEW -j KUBE-SERVICES\n-A FORWARD -j DOCKER-USER\n", 3},
		{"someone else first", "-P FORWARD DROP\n-A FORWARD -j DOCKER-USER\n-A FORWARD -j KUBE-SERVICES\n", 1},
	} {
		if got := afterProxyJumps(tc.rules, "FORWARD"); got != tc.want {
			t.Errorf("%s: position %d, want %d", tc.name, got, tc.want)
		}
	}
}
