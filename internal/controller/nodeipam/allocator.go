package nodeipam

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
)

// defaultIPv6MaskSize is the per-node mask of an IPv6 cluster range (upstream's
// --node-cidr-mask-size-ipv6 default); the configured mask size applies to IPv4.
const defaultIPv6MaskSize = 64

// Allocator remembers which node holds which subnets, one per cluster range (address
// family). It is safe for concurrent use.
type Allocator struct {
	mu     sync.Mutex
	sets   []*CIDRSet
	byNode map[string][]netip.Prefix
}

// NewAllocator parses clusterCIDRs ("10.42.0.0/16" or a comma-separated dual-stack pair)
// and gives IPv4 nodes a /maskSize.
func NewAllocator(clusterCIDRs string, maskSize int) (*Allocator, error) {
	a := &Allocator{byNode: map[string][]netip.Prefix{}}
	for _, s := range strings.Split(clusterCIDRs, ",") {
		p, err := netip.ParsePrefix(strings.TrimSpace(s))
		if err != nil {
			return nil, fmt.Errorf("cluster CIDR %q: %w", s, err)
		}
		m := maskSize
		if p.Addr().Is6() {
			m = defaultIPv6MaskSize
		}
		set, err := NewCIDRSet(p, m)
		if err != nil {
			return nil, err
		}
		a.sets = append(a.sets, set)
	}
	if len(a.sets) == 0 || len(a.sets) > 2 {
		return nil, fmt.Errorf("cluster CIDR %q: want one range or a dual-stack pair", clusterCIDRs)
	}
	return a, nil
}

// Occupy records the subnets a node already has (from its spec). Subnets outside the
// cluster ranges are ignored; a subnet another node holds is reported, not taken.
func (a *Allocator) Occupy(node string, cidrs []string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	var want []netip.Prefix
	for _, c := range cidrs {
		p, err := netip.ParsePrefix(c)
		if err != nil {
			return fmt.Errorf("node %s: podCIDR %q: %w", node, c, err)
		}
		want = append(want, p.Masked())
	}
	if slices.Equal(a.byNode[node], want) {
		return nil
	}
	a.releaseLocked(node)
	var held []netip.Prefix
	var errs []string
	for _, p := range want {
		set := a.setFor(p)
		if set == nil {
			continue
		}
		if !set.Occupy(p) {
			errs = append(errs, fmt.Sprintf("podCIDR %s of node %s is already allocated to another node", p, node))
			continue
		}
		held = append(held, p)
	}
	if len(held) > 0 {
		a.byNode[node] = held
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return nil
}

// Allocate returns the node's subnets, one per range, taking new ones when it holds none.
func (a *Allocator) Allocate(node string) ([]netip.Prefix, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if held := a.byNode[node]; len(held) == len(a.sets) {
		return slices.Clone(held), nil
	}
	a.releaseLocked(node)
	var out []netip.Prefix
	for _, set := range a.sets {
		p, err := set.AllocateNext()
		if err != nil {
			for i, q := range out {
				a.sets[i].Release(q)
			}
			return nil, err
		}
		out = append(out, p)
	}
	a.byNode[node] = out
	return slices.Clone(out), nil
}

// Release frees the node's subnets.
func (a *Allocator) Release(node string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.releaseLocked(node)
}

// Holds returns the node's subnets.
func (a *Allocator) Holds(node string) []netip.Prefix {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.byNode[node])
}

func (a *Allocator) releaseLocked(node string) {
	for _, p := range a.byNode[node] {
		if set := a.setFor(p); set != nil {
			set.Release(p)
		}
	}
	delete(a.byNode, node)
}

func (a *Allocator) setFor(p netip.Prefix) *CIDRSet {
	for _, s := range a.sets {
		if s.Contains(p) {
			return s
		}
	}
	return nil
}
