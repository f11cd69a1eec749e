package framework

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
)

// DefaultNormalizeScore scales scores so the highest becomes maxPriority (all 0 stay 0);
// with reverse, a score s becomes maxPriority - s afterwards (all 0 become maxPriority).
func DefaultNormalizeScore(maxPriority int64, reverse bool, scores []NodeScore) *Status {
	var highest int64
	for _, s := range scores {
		highest = max(highest, s.Score)
	}
	if highest == 0 {
		if reverse {
			for i := range scores {
				scores[i].Score = maxPriority
			}
		}
		return nil
	}
	for i := range scores {
		s := maxPriority * scores[i].Score / highest
		if reverse {
			s = maxPriority - s
		}
		scores[i].Score = s
	}
	return nil
}

// FindUntoleratedTaint returns the first taint that passes include and that no toleration
// tolerates.
func FindUntoleratedTaint(taints []corev1.Taint, tolerations []corev1.Toleration, include func(*corev1.Taint) bool) (corev1.Taint, bool) {
	for i := range taints {
		t := &taints[i]
		if include != nil && !include(t) {
			continue
		}
		if !TolerationsTolerateTaint(tolerations, t) {
			return *t, true
		}
	}
	return corev1.Taint{}, false
}

// TolerationsTolerateTaint says whether any toleration tolerates the taint.
func TolerationsTolerateTaint(tolerations []corev1.Toleration, taint *corev1.Taint) bool {
	for i := range tolerations {
		if ToleratesTaint(&tolerations[i], taint) {
			return true
		}
	}
	return false
}

// ToleratesTaint applies upstream's toleration rules: an empty effect matches every effect,
// an empty key (with Exists) every key, Exists every value, Equal (or no operator) only
// the same value. The alpha numeric operators Lt and Gt are off, as upstream by default.
func ToleratesTaint(t *corev1.Toleration, taint *corev1.Taint) bool {
	if t.Effect != "" && t.Effect != taint.Effect {
		return false
	}
	if t.Key != "" && t.Key != taint.Key {
		return false
	}
	switch t.Operator {
	case "", corev1.TolerationOpEqual:
		return t.Value == taint.Value
	case corev1.TolerationOpExists:
		return true
	}
	return false
}

// NodeSelector is a parsed corev1.NodeSelector: its terms are ORed; a term's requirements
// are ANDed; a term without requirements (or with one that does not parse) matches nothing.
type NodeSelector struct {
	terms []nodeSelectorTerm
}

type nodeSelectorTerm struct {
	labels labels.Selector
	fields fields.Selector
	// names are the values of a matchFields metadata.name In requirement (nil: none).
	names []string
	bad   bool
}

// NewNodeSelector parses ns; requirements that do not parse make their term match nothing.
func NewNodeSelector(ns *corev1.NodeSelector) *NodeSelector {
	out := &NodeSelector{}
	for i := range ns.NodeSelectorTerms {
		out.terms = append(out.terms, parseTerm(&ns.NodeSelectorTerms[i]))
	}
	return out
}

// NewNodeSelectorTerm parses one term (preferred scheduling terms are single terms).
func NewNodeSelectorTerm(t *corev1.NodeSelectorTerm) *NodeSelector {
	return &NodeSelector{terms: []nodeSelectorTerm{parseTerm(t)}}
}

func parseTerm(t *corev1.NodeSelectorTerm) nodeSelectorTerm {
	var out nodeSelectorTerm
	if len(t.MatchExpressions) == 0 && len(t.MatchFields) == 0 {
		out.bad = true
		return out
	}
	if len(t.MatchExpressions) > 0 {
		sel := labels.NewSelector()
		for _, r := range t.MatchExpressions {
			req, err := labelRequirement(r)
			if err != nil {
				out.bad = true
				return out
			}
			sel = sel.Add(*req)
		}
		out.labels = sel
	}
	if len(t.MatchFields) > 0 {
		var sels []fields.Selector
		for _, r := range t.MatchFields {
			if len(r.Values) != 1 || r.Key != "metadata.name" {
				out.bad = true
				return out
			}
			switch r.Operator {
			case corev1.NodeSelectorOpIn:
				sels = append(sels, fields.OneTermEqualSelector(r.Key, r.Values[0]))
				out.names = append(out.names, r.Values[0])
			case corev1.NodeSelectorOpNotIn:
				sels = append(sels, fields.OneTermNotEqualSelector(r.Key, r.Values[0]))
			default:
				out.bad = true
				return out
			}
		}
		out.fields = fields.AndSelectors(sels...)
	}
	return out
}

func labelRequirement(r corev1.NodeSelectorRequirement) (*labels.Requirement, error) {
	var op selection.Operator
	switch r.Operator {
	case corev1.NodeSelectorOpIn:
		op = selection.In
	case corev1.NodeSelectorOpNotIn:
		op = selection.NotIn
	case corev1.NodeSelectorOpExists:
		op = selection.Exists
	case corev1.NodeSelectorOpDoesNotExist:
		op = selection.DoesNotExist
	case corev1.NodeSelectorOpGt:
		op = selection.GreaterThan
	case corev1.NodeSelectorOpLt:
		op = selection.LessThan
	default:
		return nil, fmt.Errorf("%q is not a valid node selector operator", r.Operator)
	}
	return labels.NewRequirement(r.Key, op, r.Values)
}

// Match says whether any term matches the node.
func (s *NodeSelector) Match(node *corev1.Node) bool {
	for i := range s.terms {
		if s.terms[i].match(node) {
			return true
		}
	}
	return false
}

func (t *nodeSelectorTerm) match(node *corev1.Node) bool {
	if t.bad {
		return false
	}
	if t.labels != nil && !t.labels.Matches(labels.Set(node.Labels)) {
		return false
	}
	if t.fields != nil && !t.fields.Matches(fields.Set{"metadata.name": node.Name}) {
		return false
	}
	return true
}

// NodeNames returns the node names the selector can only match (from matchFields
// metadata.name In in every term), nil when some term can match any name.
func (s *NodeSelector) NodeNames() []string {
	var out []string
	for _, t := range s.terms {
		if t.bad {
			continue
		}
		if t.names == nil {
			return nil
		}
		out = append(out, t.names...)
	}
	if out == nil {
		return []string{}
	}
	return out
}

// RequiredNodeAffinity is a pod's hard node constraints: spec.nodeSelector and the
// required node affinity terms, both of which must match.
type RequiredNodeAffinity struct {
	selector labels.Selector
	affinity *NodeSelector
}

// GetRequiredNodeAffinity parses the pod's hard node constraints.
func GetRequiredNodeAffinity(pod *corev1.Pod) RequiredNodeAffinity {
	var r RequiredNodeAffinity
	if len(pod.Spec.NodeSelector) > 0 {
		r.selector = labels.SelectorFromSet(pod.Spec.NodeSelector)
	}
	if a := pod.Spec.Affinity; a != nil && a.NodeAffinity != nil && a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution != nil {
		r.affinity = NewNodeSelector(a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution)
	}
	return r
}

// Match says whether the node satisfies both.
func (r RequiredNodeAffinity) Match(node *corev1.Node) bool {
	if r.selector != nil && !r.selector.Matches(labels.Set(node.Labels)) {
		return false
	}
	return r.affinity == nil || r.affinity.Match(node)
}

// Affinity returns the parsed required terms, nil when none.
func (r RequiredNodeAffinity) Affinity() *NodeSelector { return r.affinity }
