package proxy

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The golden files of the modes are what the unit tests compare the generated rules with;
// here the real kernel and tools take them, so a golden file cannot drift into something
// only the tests accept.

func load(t *testing.T, n ns, input string, argv ...string) {
	t.Helper()
	cmd := exec.Command("ip", append([]string{"netns", "exec", n.Name}, argv...)...)
	cmd.Stdin = strings.NewReader(input)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v: %s", strings.Join(argv, " "), err, out)
	}
}

func golden(t *testing.T, mode, name string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "..", "internal", "proxy", mode, "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func TestGoldenIPTablesRulesLoad(t *testing.T) {
	requireRoot(t, "iptables-restore")
	n := newNS(t, "golden")
	// The chunked one first: its transactions must work in an empty table.
	for _, f := range []string{"services-chunked.txt", "services.txt", "services-masquerade-all.txt", "partial.txt"} {
		load(t, n, golden(t, "iptables", f), "iptables-restore", "-w", "--noflush")
	}
}

func TestGoldenNFTablesScriptsLoad(t *testing.T) {
	requireRoot(t, "nft")
	n := newNS(t, "golden")
	// The full goldens delete a stale chain and set they were told exist.
	stale := "add table ip kube-proxy\nadd chain ip kube-proxy service-STALE000-ns/gone/tcp/p\n" +
		"add set ip kube-proxy affinity-STALE000-ns/gone/tcp/p__10.0.0.1/80 { type ipv4_addr ; }\n"
	// The chunked one first, into an empty namespace but for the stale objects it deletes:
	// its transactions must work in order from nothing. The transaction headers are
	// comments to nft; each transaction is loaded on its own.
	for _, tx := range strings.Split(golden(t, "nftables", "services-chunked.nft"), "# transaction ")[1:] {
		load(t, n, tx[strings.Index(tx, "\n")+1:], "nft", "-f", "-")
		if strings.HasPrefix(tx, "1\n") {
			load(t, n, stale, "nft", "-f", "-")
		}
	}
	load(t, n, "delete table ip kube-proxy\n"+stale, "nft", "-f", "-")
	load(t, n, golden(t, "nftables", "services.nft"), "nft", "-f", "-")
	load(t, n, golden(t, "nftables", "partial.nft"), "nft", "-f", "-")
}

func TestGoldenUserspaceRulesLoad(t *testing.T) {
	requireRoot(t, "iptables-restore")
	n := newNS(t, "golden")
	// The partial one deletes rules the full one wrote.
	for _, f := range []string{"services.txt", "partial.txt"} {
		load(t, n, golden(t, "userspace", f), "iptables-restore", "-w", "--noflush")
	}
}
