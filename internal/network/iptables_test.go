package network

import (
	"net/netip"
	"strings"
	"testing"
)

func TestMasqueradeRules(t *testing.T) {
	t.Parallel()
	got := MasqueradeRules(netip.MustParsePrefix("10.42.0.0/16"), netip.MustParsePrefix("10.42.1.0/24"))
	golden(t, "masquerade.rules", []byte(got))
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
		if target := j.rule[len(j.rule)-1]; !strings.HasPrefix(target, "CAPSTAN-NET-") {
			t.Errorf("jump from %s/%s to %s", j.table, j.chain, target)
		}
	}
}
