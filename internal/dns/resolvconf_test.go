package dns

import (
	"net/netip"
	"slices"
	"testing"
)

func TestParseResolvConf(t *testing.T) {
	t.Parallel()
	data := []byte(`# generated
search example.com
nameserver 10.255.255.53
nameserver 127.0.0.53 # systemd-resolved
nameserver   2001:db8::53
nameserver not-an-ip
; nameserver 192.0.2.9
options ndots:2
`)
	want := []string{"10.255.255.53:53", "127.0.0.53:53", "[2001:db8::53]:53"}
	if got := parseResolvConf(data); !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestWithoutLoops(t *testing.T) {
	t.Parallel()
	local := []netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("192.0.2.2")}
	tests := []struct {
		name      string
		upstreams []string
		listen    string
		kept      []string
	}{
		{"a remote resolver is kept", []string{"10.255.255.53:53"}, "192.0.2.2:53", []string{"10.255.255.53:53"}},
		{"this server's own address is dropped", []string{"192.0.2.2:53", "10.255.255.53:53"}, "192.0.2.2:53", []string{"10.255.255.53:53"}},
		{"a local resolver on another address is kept", []string{"127.0.0.53:53"}, "192.0.2.2:53", []string{"127.0.0.53:53"}},
		{"a local resolver on another port is kept", []string{"127.0.0.1:53"}, "127.0.0.1:5353", []string{"127.0.0.1:53"}},
		{"listening on all addresses drops loopback resolvers", []string{"127.0.0.53:53", "10.255.255.53:53"}, "[::]:53", []string{"10.255.255.53:53"}},
		{"listening on all addresses drops the node's own address", []string{"192.0.2.2:53"}, "0.0.0.0:53", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			kept, _ := withoutLoops(tt.upstreams, tt.listen, local)
			if !slices.Equal(kept, tt.kept) {
				t.Errorf("kept %q, want %q", kept, tt.kept)
			}
		})
	}
}

func TestNormalizeUpstream(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"10.0.0.1": "10.0.0.1:53", "10.0.0.1:5353": "10.0.0.1:5353", "2001:db8::1": "[2001:db8::1]:53",
		"[2001:db8::1]:5353": "[2001:db8::1]:5353", "dns.example": "", "10.0.0.1:0": "", "10.0.0.1:x": "",
	} {
		got, ok := normalizeUpstream(in)
		if (want == "") == ok || got != want {
			t.Errorf("normalizeUpstream(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
}
