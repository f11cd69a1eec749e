package network

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
)

const (
	// ConflistName is the file WriteConflist writes. containerd's CRI plugin uses the first
	// config of its conf dir in lexical order, hence the "10-" prefix.
	ConflistName = "10-capstan.conflist"
	// DefaultNetworkName names the CNI network (and host-local's state directory).
	DefaultNetworkName = "capstan"
	// DefaultBridge is the Linux bridge the pods of a node are plugged into.
	DefaultBridge = "cni0"
	// CNIVersion is the CNI spec version of the configs written here; the plugins of
	// Debian's containernetworking-plugins and containerd 1.6 both speak it.
	CNIVersion = "1.0.0"
)

// DefaultClusterCIDR is the cluster (pod) CIDR when none is given.
var DefaultClusterCIDR = netip.MustParsePrefix("10.42.0.0/16")

// CNIConfig is what the conflist is made of.
type CNIConfig struct {
	// PodCIDR is the node's spec.podCIDR (or FallbackPodCIDR). Required.
	PodCIDR netip.Prefix
	// Name of the network. Default DefaultNetworkName.
	Name string
	// Bridge device. Default DefaultBridge.
	Bridge string
	// MTU of pod interfaces and the bridge; 0 leaves the plugin's default (the kernel's).
	MTU int
	// IPAMDataDir is where host-local keeps its leases; "" is the plugin's default
	// (/var/lib/cni/networks). Tests use a temp dir.
	IPAMDataDir string
}

// FallbackPodCIDR is the range a node uses before node IPAM gives it a podCIDR: the first
// /24 of the cluster CIDR (the one node IPAM gives the first node).
func FallbackPodCIDR(cluster netip.Prefix) netip.Prefix {
	cluster = cluster.Masked()
	if cluster.Bits() >= 24 {
		return cluster
	}
	return netip.PrefixFrom(cluster.Addr(), 24)
}

type conflist struct {
	CNIVersion string `json:"cniVersion"`
	Name       string `json:"name"`
	Plugins    []any  `json:"plugins"`
}

type bridgeConf struct {
	Type             string   `json:"type"`
	Bridge           string   `json:"bridge"`
	IsGateway        bool     `json:"isGateway"`
	IsDefaultGateway bool     `json:"isDefaultGateway"`
	ForceAddress     bool     `json:"forceAddress"`
	IPMasq           bool     `json:"ipMasq"`
	HairpinMode      bool     `json:"hairpinMode"`
	MTU              int      `json:"mtu,omitempty"`
	IPAM             ipamConf `json:"ipam"`
}

type ipamConf struct {
	Type    string        `json:"type"`
	Ranges  [][]ipamRange `json:"ranges"`
	DataDir string        `json:"dataDir,omitempty"`
}

type ipamRange struct {
	Subnet string `json:"subnet"`
}

type portmapConf struct {
	Type         string          `json:"type"`
	Capabilities map[string]bool `json:"capabilities"`
	SNAT         bool            `json:"snat"`
}

// Conflist returns the CNI network list for containerd's CRI plugin:
//
//   - bridge: pods on the node share the bridge; the bridge holds the gateway address (the
//     first of the podCIDR) and is the pods' default route. forceAddress lets a changed podCIDR
//     replace the old gateway address. hairpinMode lets a pod reach itself through a Service.
//     ipMasq is off: the plugin would masquerade everything outside the node's own /24,
//     pod-to-pod traffic between nodes included; MasqueradeRules masquerades only what
//     leaves the cluster CIDR.
//   - host-local IPAM over the podCIDR.
//   - portmap for hostPort, with SNAT so a hostPort is reachable from the node itself.
//
// The loopback interface is not in the list: containerd's CRI plugin brings it up with the
// loopback plugin from the same bin dir on its own.
func Conflist(c CNIConfig) ([]byte, error) {
	if !c.PodCIDR.IsValid() || !c.PodCIDR.Addr().Is4() {
		return nil, fmt.Errorf("pod CIDR %v: want an IPv4 prefix", c.PodCIDR)
	}
	if c.PodCIDR.Bits() > 30 {
		return nil, fmt.Errorf("pod CIDR %v is too small for a gateway and pods", c.PodCIDR)
	}
	if c.Name == "" {
		c.Name = DefaultNetworkName
	}
	if c.Bridge == "" {
		c.Bridge = DefaultBridge
	}
	l := conflist{
		CNIVersion: CNIVersion,
		Name:       c.Name,
		Plugins: []any{
			bridgeConf{
				Type:             "bridge",
				Bridge:           c.Bridge,
				IsGateway:        true,
				IsDefaultGateway: true,
				ForceAddress:     true,
				HairpinMode:      true,
				MTU:              c.MTU,
				IPAM: ipamConf{
					Type:    "host-local",
					Ranges:  [][]ipamRange{{{Subnet: c.PodCIDR.Masked().String()}}},
					DataDir: c.IPAMDataDir,
				},
			},
			portmapConf{Type: "portmap", Capabilities: map[string]bool{"portMappings": true}, SNAT: true},
		},
	}
	b, err := json.MarshalIndent(l, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// LoopbackConf is the single-plugin config that brings up a pod's lo, as containerd's CRI
// plugin does beside the conflist. Tests that drive the plugins themselves use it.
func LoopbackConf() []byte {
	return []byte(`{"cniVersion":"` + CNIVersion + `","name":"cni-loopback","plugins":[{"type":"loopback"}]}` + "\n")
}

// WriteConflist writes Conflist(c) to dir/ConflistName unless the file already has exactly
// that content. The file is replaced atomically (temp file + rename in the same dir) so
// containerd, which watches the dir, never reads half a config. It reports whether the file
// changed.
func WriteConflist(dir string, c CNIConfig) (bool, error) {
	want, err := Conflist(c)
	if err != nil {
		return false, err
	}
	return writeFileAtomic(filepath.Join(dir, ConflistName), want)
}

func writeFileAtomic(path string, content []byte) (bool, error) {
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, content) {
		return false, nil
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return false, err
	}
	// The temp name must not end in .conf/.conflist/.json, or containerd may try to load it.
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return false, err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // no-op after the rename
	if _, err := f.Write(content); err != nil {
		f.Close()
		return false, err
	}
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		return false, err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return false, err
	}
	if err := f.Close(); err != nil {
		return false, err
	}
	if err := os.Rename(tmp, path); err != nil {
		return false, fmt.Errorf("replacing %s: %w", path, err)
	}
	return true, nil
}

// ConflistPodCIDR reads the pod range of the conflist in dir, as WriteConflist wrote it.
func ConflistPodCIDR(dir string) (netip.Prefix, error) {
	b, err := os.ReadFile(filepath.Join(dir, ConflistName))
	if err != nil {
		return netip.Prefix{}, err
	}
	var l struct {
		Plugins []struct {
			Type string `json:"type"`
			IPAM struct {
				Ranges [][]ipamRange `json:"ranges"`
			} `json:"ipam"`
		} `json:"plugins"`
	}
	if err := json.Unmarshal(b, &l); err != nil {
		return netip.Prefix{}, fmt.Errorf("%s: %w", ConflistName, err)
	}
	for _, p := range l.Plugins {
		if p.Type == "bridge" && len(p.IPAM.Ranges) > 0 && len(p.IPAM.Ranges[0]) > 0 {
			return netip.ParsePrefix(p.IPAM.Ranges[0][0].Subnet)
		}
	}
	return netip.Prefix{}, fmt.Errorf("%s: no bridge range", ConflistName)
}
