package userspace

import (
	"net/netip"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"capstan/internal/proxy/desired"
	"capstan/internal/proxy/desired/desiredtest"
	"capstan/internal/testing/golden"
)

func loadState(t *testing.T) *desired.State {
	t.Helper()
	in := desiredtest.Load(t, filepath.Join("..", "desired", "testdata", "services.yaml"))
	in.PodCIDRs = []netip.Prefix{netip.MustParsePrefix("10.42.0.0/16")}
	return desired.Compute(in)
}

// fixedPorts numbers proxy ports from 40000 in the order of st's service ports, two per
// port, where Sync has the kernel choose them.
func fixedPorts(st *desired.State) map[desired.ServicePortName]ports {
	out := map[desired.ServicePortName]ports{}
	for i := range st.Services {
		sp := &st.Services[i]
		out[sp.Name] = ports{internal: 40000 + 2*i, external: 40001 + 2*i}
	}
	return out
}

// fixedRules renders st as Sync would with the given ports.
func fixedRules(st *desired.State, ps map[desired.ServicePortName]ports) ruleSet {
	rs := ruleSet{}
	for i := range st.Services {
		sp := &st.Services[i]
		if sp.Name.Protocol == corev1.ProtocolSCTP {
			continue
		}
		p := ps[sp.Name]
		if !sp.ExternallyAccessible() {
			p.external = 0
		}
		rs[sp.Name] = serviceRules(sp, p, st.Masquerade.PodCIDR)
	}
	return rs
}

func TestFullSyncRulesGolden(t *testing.T) {
	t.Parallel()
	st := loadState(t)
	golden.Check(t, "services.txt", fullRestore(fixedRules(st, fixedPorts(st)), jumps()))
}

func TestPartialSyncTouchesOnlyChangedServices(t *testing.T) {
	t.Parallel()
	first := loadState(t)
	ps := fixedPorts(first)
	prev := fixedRules(first, ps)
	next := loadState(t)
	var kept []desired.ServicePort
	for _, sp := range next.Services {
		switch sp.Name.String() {
		case "ns1/web:http":
			// Scaled to zero: rejected now.
			sp.ClusterEndpoints, sp.HasAnyEndpoints = nil, false
		case "ns1/empty:http":
			// Got an endpoint: redirected now.
			sp.ClusterEndpoints = []desired.Endpoint{{IP: netip.MustParseAddr("10.42.0.5"), Port: 80, Ready: true}}
			sp.HasAnyEndpoints = true
		case "ns2/np:http":
			// Deleted.
			continue
		case "ns4/rolling:http":
			// Another endpoint: no rule changes.
			sp.ClusterEndpoints[0].IP = netip.MustParseAddr("10.42.0.102")
		}
		kept = append(kept, sp)
	}
	next.Services = kept
	got := partialRestore(prev, fixedRules(next, ps))
	golden.Check(t, "partial.txt", got)
	for _, unchanged := range []string{"kube-system/dns", "ns3/lb:https", "ns4/rolling:http"} {
		if strings.Contains(string(got), unchanged) {
			t.Errorf("the partial sync touched the rules of %s", unchanged)
		}
	}
	if again := partialRestore(prev, prev); again != nil {
		t.Errorf("a sync without changes wrote:\n%s", again)
	}
}
