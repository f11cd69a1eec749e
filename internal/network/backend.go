package network

import "fmt"

// Backend is how pods reach pods on other nodes (the --pod-network flag).
type Backend string

const (
	// BackendVXLAN carries pod traffic to every other node in a VXLAN overlay. The default,
	// as k3s's flannel default; works whether or not nodes share an L2 segment.
	BackendVXLAN Backend = "vxlan"
	// BackendHostGW routes each node's podCIDR via its InternalIP. Only nodes on the same L2
	// segment can be reached that way; the others are reached through the VXLAN overlay.
	BackendHostGW Backend = "host-gw"
	// BackendNone programs no routes to other nodes: a single node, or routes made by
	// someone else. The CNI config and the masquerade rules are still written.
	BackendNone Backend = "none"
)

// DefaultBackend is the backend when none is given.
const DefaultBackend = BackendVXLAN

// ParseBackend checks a --pod-network value; "" means DefaultBackend.
func ParseBackend(s string) (Backend, error) {
	switch b := Backend(s); b {
	case "":
		return DefaultBackend, nil
	case BackendVXLAN, BackendHostGW, BackendNone:
		return b, nil
	}
	return "", fmt.Errorf("unknown pod network backend %q: want host-gw, vxlan or none", s)
}

// String implements pflag.Value.
func (b *Backend) String() string {
	if *b == "" {
		return string(DefaultBackend)
	}
	return string(*b)
}

// Set implements pflag.Value, so a *Backend can be bound with FlagSet.Var.
func (b *Backend) Set(s string) error {
	v, err := ParseBackend(s)
	if err != nil {
		return err
	}
	*b = v
	return nil
}

// Type implements pflag.Value.
func (b *Backend) Type() string { return "host-gw|vxlan|none" }
