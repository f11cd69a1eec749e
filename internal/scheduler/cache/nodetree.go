package cache

import (
	corev1 "k8s.io/api/core/v1"
)

// nodeTree lists node names interleaved across zones, so that scoring a sample of nodes
// covers every zone, as upstream's node tree does.
type nodeTree struct {
	zones    []string
	byZone   map[string][]string
	numNodes int
}

func newNodeTree() *nodeTree { return &nodeTree{byZone: map[string][]string{}} }

// zoneKey is region and zone, empty when the node has neither.
func zoneKey(n *corev1.Node) string {
	region, zone := n.Labels[corev1.LabelTopologyRegion], n.Labels[corev1.LabelTopologyZone]
	if region == "" && zone == "" {
		return ""
	}
	return region + ":\x00:" + zone
}

func (t *nodeTree) add(n *corev1.Node) {
	z := zoneKey(n)
	names, ok := t.byZone[z]
	if !ok {
		t.zones = append(t.zones, z)
	}
	for _, name := range names {
		if name == n.Name {
			return
		}
	}
	t.byZone[z] = append(names, n.Name)
	t.numNodes++
}

func (t *nodeTree) remove(n *corev1.Node) {
	z := zoneKey(n)
	names := t.byZone[z]
	for i, name := range names {
		if name != n.Name {
			continue
		}
		t.byZone[z] = append(names[:i:i], names[i+1:]...)
		t.numNodes--
		if len(t.byZone[z]) == 0 {
			delete(t.byZone, z)
			for j, zz := range t.zones {
				if zz == z {
					t.zones = append(t.zones[:j:j], t.zones[j+1:]...)
					break
				}
			}
		}
		return
	}
}

func (t *nodeTree) update(old, n *corev1.Node) {
	if old != nil && zoneKey(old) == zoneKey(n) {
		return
	}
	if old != nil {
		t.remove(old)
	}
	t.add(n)
}

// list returns the names, one from each zone in turn.
func (t *nodeTree) list() []string {
	out := make([]string, 0, t.numNodes)
	for i := 0; len(out) < t.numNodes; i++ {
		for _, z := range t.zones {
			if names := t.byZone[z]; i < len(names) {
				out = append(out, names[i])
			}
		}
	}
	return out
}
