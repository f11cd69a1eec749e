package nftables

import (
	"bytes"
	"fmt"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"

	"capstan/internal/proxy/desired"
	"capstan/internal/proxy/desired/desiredtest"
	"capstan/internal/testing/golden"
)

const mark = "0x4000"

func loadState(t *testing.T) *desired.State {
	t.Helper()
	in := desiredtest.Load(t, filepath.Join("..", "desired", "testdata", "services.yaml"))
	in.PodCIDRs = []netip.Prefix{netip.MustParsePrefix("10.42.0.0/16")}
	return desired.Compute(in)
}

// staleTable is a table with a stale service chain and affinity set beside fixed objects.
var staleTable = existing{chains: []string{"services", "nat-output", "service-STALE000-ns/gone/tcp/p"}, sets: []string{"cluster-ips", "affinity-STALE000-ns/gone/tcp/p__10.0.0.1/80"}}

func TestFullSyncScriptGolden(t *testing.T) {
	t.Parallel()
	st := loadState(t)
	// A stale service chain and affinity set are in the table; fixed chains stay.
	pl := buildPlan(st, nil, nil, staleTable, mark, chunkChains)
	golden.Check(t, "services.nft", bytes.Join(pl.scripts, nil))
}

func TestPartialSyncTouchesOnlyWhatChanged(t *testing.T) {
	t.Parallel()
	st := loadState(t)
	full := buildPlan(st, nil, nil, existing{}, mark, chunkChains)

	next := loadState(t)
	var kept []desired.ServicePort
	for _, sp := range next.Services {
		switch sp.Name.String() {
		case "ns1/web:http":
			sp.ClusterEndpoints = sp.ClusterEndpoints[:2]
		case "ns2/np:http":
			continue
		case "ns1/empty:http":
			sp.ClusterEndpoints = []desired.Endpoint{{IP: netip.MustParseAddr("10.42.0.200"), Port: 80, Ready: true, Serving: true}}
			sp.HasAnyEndpoints = true
		}
		kept = append(kept, sp)
	}
	next.Services = kept
	partial := buildPlan(next, full.services, full.elements, existing{}, mark, chunkChains)
	golden.Check(t, "partial.nft", bytes.Join(partial.scripts, nil))

	again := buildPlan(next, partial.services, partial.elements, existing{}, mark, chunkChains)
	if len(again.scripts) != 0 {
		t.Errorf("a sync without changes wrote:\n%s", bytes.Join(again.scripts, nil))
	}
	if again.rules != partial.rules {
		t.Errorf("%d rules after an empty sync, want %d", again.rules, partial.rules)
	}
	if f := buildPlan(next, nil, nil, existing{}, mark, chunkChains); f.rules != partial.rules {
		t.Errorf("a partial sync counts %d rules, a full sync %d", partial.rules, f.rules)
	}
}

func TestParseObjects(t *testing.T) {
	t.Parallel()
	out := "table ip kube-proxy {\n\tcomment \"rules for kube-proxy\"\n\tmap service-ips {\n\t\ttype ipv4_addr : verdict\n\t}\n\n\tset affinity-X-ns/a/tcp/p__10.0.0.1/80 {\n\t\ttype ipv4_addr\n\t}\n\n\tchain services {\n\t\tip daddr . meta l4proto . th dport vmap @service-ips\n\t}\n\tchain endpoint-X-ns/a/tcp/p__10.0.0.1/80 {\n\t}\n}\n"
	e := parseObjects([]byte(out))
	if strings.Join(e.chains, " ") != "services endpoint-X-ns/a/tcp/p__10.0.0.1/80" || strings.Join(e.sets, " ") != "affinity-X-ns/a/tcp/p__10.0.0.1/80" {
		t.Errorf("parsed %+v", e)
	}
}

func TestLargeSyncsAreSplitIntoWholeServiceChunks(t *testing.T) {
	t.Parallel()
	st := loadState(t)
	pl := buildPlan(st, nil, nil, staleTable, mark, 8)
	var joined strings.Builder
	for i, sc := range pl.scripts {
		fmt.Fprintf(&joined, "# transaction %d\n%s", i+1, sc)
	}
	golden.Check(t, "services-chunked.nft", []byte(joined.String()))
	if len(pl.scripts) < 4 {
		t.Fatalf("%d transactions for a sync over the chunk size, want several", len(pl.scripts))
	}
	if !strings.HasPrefix(string(pl.scripts[0]), "add table") {
		t.Errorf("the first transaction does not make the table:\n%s", pl.scripts[0])
	}
	elems := -1
	for i, sc := range pl.scripts {
		if strings.Contains(string(sc), "add element") {
			elems = i
		}
	}
	for name, w := range pl.services {
		in := -1
		for _, c := range w.chains {
			for i, sc := range pl.scripts {
				if strings.Contains(string(sc), "add chain "+prefix+c+"\n") {
					if in != -1 && in != i {
						t.Errorf("%s is written by transactions %d and %d", name, in, i)
					}
					in = i
				}
			}
		}
		if in >= elems {
			t.Errorf("%s is written in transaction %d, not before the elements (%d)", name, in, elems)
		}
	}
	if last := string(pl.scripts[len(pl.scripts)-1]); !strings.Contains(last, "delete chain "+prefix+"service-STALE000-ns/gone/tcp/p") {
		t.Errorf("the stale chain is not deleted last:\n%s", last)
	}
	if one := buildPlan(st, nil, nil, staleTable, mark, chunkChains); one.rules != pl.rules {
		t.Errorf("chunked plan counts %d rules, one transaction %d", pl.rules, one.rules)
	}
}
