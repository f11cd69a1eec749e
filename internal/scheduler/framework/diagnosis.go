package framework

import (
	"fmt"
	"sort"
	"strings"
)

// NodesAvailableMessage renders upstream's summary of why no node fits:
// "0/N nodes are available: <count> <reason>, ...." counting each reason once per node
// (nodes absent from the map count with the absent status), entries sorted.
func NodesAvailableMessage(numAll int, m *NodeToStatus) string {
	msg := fmt.Sprintf("0/%v nodes are available:", numAll)
	if hist := Histogram(numAll, m); len(hist) > 0 {
		msg += " " + strings.Join(hist, ", ") + "."
	}
	return msg
}

// Histogram counts each reason over the nodes' statuses and returns "<count> <reason>"
// strings sorted.
func Histogram(numAll int, m *NodeToStatus) []string {
	if m == nil {
		return nil
	}
	counts := map[string]int{}
	for _, s := range m.Statuses {
		for _, r := range s.Reasons() {
			counts[r]++
		}
	}
	if absent := numAll - len(m.Statuses); absent > 0 && m.AbsentStatus != nil {
		for _, r := range m.AbsentStatus.Reasons() {
			counts[r] += absent
		}
	}
	out := make([]string, 0, len(counts))
	for r, n := range counts {
		out = append(out, fmt.Sprintf("%v %v", n, r))
	}
	sort.Strings(out)
	return out
}
