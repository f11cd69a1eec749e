package endpointslice

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	discoveryv1 "k8s.io/api/discovery/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
)

// group is a set of endpoints that share an address type and a port list: they may live
// in the same slices.
type group struct {
	AddressType discoveryv1.AddressType
	Ports       []discoveryv1.EndpointPort
	Endpoints   []discoveryv1.Endpoint
}

func (g group) key() string { return groupKey(g.AddressType, g.Ports) }

func groupKey(t discoveryv1.AddressType, ports []discoveryv1.EndpointPort) string {
	var b strings.Builder
	b.WriteString(string(t))
	for _, p := range ports {
		fmt.Fprintf(&b, ";%s/%s/%d/%s", deref(p.Name), deref(p.Protocol), deref(p.Port), deref(p.AppProtocol))
	}
	return b.String()
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// endpointKey identifies an endpoint across syncs: its target's UID, else its address.
func endpointKey(e *discoveryv1.Endpoint) string {
	if e.TargetRef != nil && e.TargetRef.UID != "" {
		return string(e.TargetRef.UID)
	}
	if len(e.Addresses) > 0 {
		return e.Addresses[0]
	}
	return ""
}

// plan is what to write. Slices in create have no name yet; update and delete hold
// copies of existing slices.
type plan struct {
	create, update, delete []*discoveryv1.EndpointSlice
}

// planSlices distributes the desired endpoints over the existing slices, changing as few
// as it can: endpoints stay in the slice that has them, new ones fill slices that are
// being rewritten anyway, then new slices. A service with no endpoints keeps one empty
// placeholder slice of placeholderType (none when it is ""). Slices are copied, never
// changed in place.
func planSlices(existing []*discoveryv1.EndpointSlice, groups []group, max int, placeholderType discoveryv1.AddressType) plan {
	var p plan
	byKey := map[string][]*discoveryv1.EndpointSlice{}
	for _, s := range existing {
		k := groupKey(s.AddressType, s.Ports)
		byKey[k] = append(byKey[k], s)
	}
	total := 0
	for _, g := range groups {
		total += len(g.Endpoints)
		if len(g.Endpoints) == 0 {
			continue
		}
		planGroup(&p, byKey[g.key()], g, max)
		delete(byKey, g.key())
	}
	var stale []*discoveryv1.EndpointSlice
	for _, k := range sortedKeys(byKey) {
		stale = append(stale, byKey[k]...)
	}
	if total == 0 && placeholderType != "" {
		// Keep (or make) one placeholder so the service visibly has no endpoints.
		i := slices.IndexFunc(stale, func(s *discoveryv1.EndpointSlice) bool {
			return s.AddressType == placeholderType && len(s.Ports) == 0 && len(s.Endpoints) == 0
		})
		if i >= 0 {
			stale = slices.Delete(stale, i, i+1)
		} else {
			p.create = append(p.create, &discoveryv1.EndpointSlice{AddressType: placeholderType, Endpoints: []discoveryv1.Endpoint{}})
		}
	}
	for _, s := range stale {
		p.delete = append(p.delete, s.DeepCopy())
	}
	return p
}

// planGroup plans one group's slices.
func planGroup(p *plan, have []*discoveryv1.EndpointSlice, g group, max int) {
	want := map[string]*discoveryv1.Endpoint{}
	for i := range g.Endpoints {
		want[endpointKey(&g.Endpoints[i])] = &g.Endpoints[i]
	}
	placed := map[string]bool{}
	var changed, unchanged []*discoveryv1.EndpointSlice
	for _, s := range have {
		next := s.DeepCopy()
		next.Endpoints = next.Endpoints[:0]
		for i := range s.Endpoints {
			k := endpointKey(&s.Endpoints[i])
			if e, ok := want[k]; ok && !placed[k] && len(next.Endpoints) < max {
				next.Endpoints = append(next.Endpoints, *e)
				placed[k] = true
			}
		}
		switch {
		case len(next.Endpoints) == 0:
			p.delete = append(p.delete, s.DeepCopy())
		case apiequality.Semantic.DeepEqual(next.Endpoints, s.Endpoints):
			unchanged = append(unchanged, next)
		default:
			changed = append(changed, next)
		}
	}
	var rest []discoveryv1.Endpoint
	for _, e := range g.Endpoints {
		if !placed[endpointKey(&e)] {
			rest = append(rest, e)
		}
	}
	fill := func(s *discoveryv1.EndpointSlice) {
		n := min(max-len(s.Endpoints), len(rest))
		s.Endpoints = append(s.Endpoints, rest[:n]...)
		rest = rest[n:]
	}
	for _, s := range changed {
		fill(s)
	}
	// Whole slices' worth go into new slices; a remainder may top up a slice that is
	// not being written otherwise, the one with the most room.
	for len(rest) >= max || (len(rest) > 0 && !fitsOne(unchanged, len(rest), max)) {
		n := min(max, len(rest))
		p.create = append(p.create, &discoveryv1.EndpointSlice{AddressType: g.AddressType, Ports: g.Ports,
			Endpoints: slices.Clone(rest[:n])})
		rest = rest[n:]
	}
	if len(rest) > 0 {
		slices.SortFunc(unchanged, func(a, b *discoveryv1.EndpointSlice) int { return cmp.Compare(len(a.Endpoints), len(b.Endpoints)) })
		fill(unchanged[0])
		changed = append(changed, unchanged[0])
	}
	for _, s := range changed {
		sortEndpoints(s.Endpoints)
		p.update = append(p.update, s)
	}
	for _, s := range p.create {
		sortEndpoints(s.Endpoints)
	}
}

func fitsOne(ss []*discoveryv1.EndpointSlice, n, max int) bool {
	return slices.ContainsFunc(ss, func(s *discoveryv1.EndpointSlice) bool { return max-len(s.Endpoints) >= n })
}

func sortEndpoints(es []discoveryv1.Endpoint) {
	slices.SortFunc(es, func(a, b discoveryv1.Endpoint) int {
		return cmp.Compare(strings.Join(a.Addresses, ","), strings.Join(b.Addresses, ","))
	})
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
