package network

import "testing"

func TestParseBackend(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]Backend{"": BackendVXLAN, "vxlan": BackendVXLAN, "host-gw": BackendHostGW, "none": BackendNone} {
		got, err := ParseBackend(in)
		if err != nil || got != want {
			t.Errorf("ParseBackend(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"udp", "wireguard", "VXLAN"} {
		if _, err := ParseBackend(in); err == nil {
			t.Errorf("ParseBackend(%q) accepted it", in)
		}
	}
	var b Backend
	if b.String() != "vxlan" {
		t.Errorf("an unset flag reads %q, want the default vxlan", b.String())
	}
	if err := b.Set("host-gw"); err != nil || b != BackendHostGW {
		t.Errorf("Set(host-gw) = %v, left %q", err, b)
	}
}
