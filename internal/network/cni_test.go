package network

import (
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"capstan/internal/testing/golden"
)

func TestConflist(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		golden string
		c      CNIConfig
	}{
		{"a node's podCIDR with the defaults", "conflist-defaults.json", CNIConfig{PodCIDR: netip.MustParsePrefix("10.42.1.0/24")}},
		{"an overlay MTU, its own names and lease dir", "conflist-custom.json", CNIConfig{
			PodCIDR: netip.MustParsePrefix("10.244.3.0/24"), Name: "pods", Bridge: "br-pods", MTU: 1450, IPAMDataDir: "/tmp/leases",
		}},
		{"an unmasked prefix is masked", "conflist-defaults.json", CNIConfig{PodCIDR: netip.MustParsePrefix("10.42.1.7/24")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := Conflist(tt.c)
			if err != nil {
				t.Fatal(err)
			}
			if !json.Valid(got) {
				t.Fatalf("not JSON: %s", got)
			}
			golden.Check(t, tt.golden, got)
		})
	}
}

func TestConflistRejectsBadRanges(t *testing.T) {
	t.Parallel()
	for name, p := range map[string]netip.Prefix{
		"no prefix":         {},
		"an IPv6 prefix":    netip.MustParsePrefix("fd00::/64"),
		"a /31 has no room": netip.MustParsePrefix("10.42.0.0/31"),
		"a single address":  netip.MustParsePrefix("10.42.0.1/32"),
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := Conflist(CNIConfig{PodCIDR: p}); err == nil {
				t.Errorf("Conflist(%v) succeeded", p)
			}
		})
	}
}

func TestFallbackPodCIDR(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"10.42.0.0/16":   "10.42.0.0/24",
		"10.42.7.9/16":   "10.42.0.0/24",
		"192.168.5.0/24": "192.168.5.0/24",
		"192.168.5.0/26": "192.168.5.0/26",
	} {
		if got := FallbackPodCIDR(netip.MustParsePrefix(in)); got.String() != want {
			t.Errorf("FallbackPodCIDR(%s) = %s, want %s", in, got, want)
		}
	}
}

func TestWriteConflistWritesOnlyChanges(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "net.d") // created on demand
	c := CNIConfig{PodCIDR: netip.MustParsePrefix("10.42.0.0/24")}
	steps := []struct {
		cidr        string
		wantChanged bool
	}{
		{"10.42.0.0/24", true},
		{"10.42.0.0/24", false},
		{"10.42.5.0/24", true},
	}
	for _, s := range steps {
		c.PodCIDR = netip.MustParsePrefix(s.cidr)
		changed, err := WriteConflist(dir, c)
		if err != nil {
			t.Fatal(err)
		}
		if changed != s.wantChanged {
			t.Errorf("writing %s: changed = %v, want %v", s.cidr, changed, s.wantChanged)
		}
		got, err := os.ReadFile(filepath.Join(dir, ConflistName))
		if err != nil {
			t.Fatal(err)
		}
		want, _ := Conflist(c)
		if string(got) != string(want) {
			t.Errorf("file after writing %s:\n%s", s.cidr, got)
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("the dir holds %d files, want only %s (no temp files left)", len(entries), ConflistName)
	}
}

func TestConflistPodCIDRReadsWhatWasWritten(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if _, err := ConflistPodCIDR(dir); err == nil {
		t.Error("read a range from an empty dir")
	}
	want := netip.MustParsePrefix("10.42.3.0/24")
	if _, err := WriteConflist(dir, CNIConfig{PodCIDR: want, MTU: 1450}); err != nil {
		t.Fatal(err)
	}
	if got, err := ConflistPodCIDR(dir); err != nil || got != want {
		t.Errorf("ConflistPodCIDR = %v, %v; want %v", got, err, want)
	}
	if err := os.WriteFile(filepath.Join(dir, ConflistName), []byte(`{"plugins":[{"type":"portmap"}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ConflistPodCIDR(dir); err == nil {
		t.Error("read a range from a conflist without a bridge")
	}
}
