package framework

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/apimachinery/pkg/util/sets"
)

// PodInfo is a pod with what the scheduler derives from it once (its effective requests and
// parsed affinity terms), so no cycle parses them again. A PodInfo is immutable once built;
// a changed pod gets a new one.
type PodInfo struct {
	Pod *corev1.Pod
	// Requests the pod occupies on its node (PodRequests).
	Requests Resource
	// NonZeroRequests is Requests with the scoring defaults for missing cpu/memory requests.
	NonZeroRequests Resource

	RequiredAffinityTerms      []AffinityTerm
	RequiredAntiAffinityTerms  []AffinityTerm
	PreferredAffinityTerms     []WeightedAffinityTerm
	PreferredAntiAffinityTerms []WeightedAffinityTerm
	// ParseError is set when a term's selector does not parse; such a pod is unschedulable.
	ParseError error
}

// AffinityTerm is a parsed PodAffinityTerm: a pod matches when it is in one of Namespaces or
// in a namespace NamespaceSelector selects, and Selector selects its labels.
type AffinityTerm struct {
	Namespaces        sets.Set[string]
	Selector          labels.Selector
	TopologyKey       string
	NamespaceSelector labels.Selector
	// HasNamespaceSelector says the term set a namespace selector (NamespaceSelector is
	// labels.Nothing() otherwise).
	HasNamespaceSelector bool

	// Matching runs for every pod of the cluster in a cycle, so the common forms are
	// precompiled: a selector of only key=value requirements (eqOK, eq), and a single
	// namespace (oneNS).
	eq    []labelKV
	eqOK  bool
	oneNS string
}

type labelKV struct{ key, value string }

// SetNamespaces replaces the term's namespace set.
func (t *AffinityTerm) SetNamespaces(ns sets.Set[string]) {
	t.Namespaces = ns
	t.oneNS = ""
	if ns.Len() == 1 {
		for n := range ns {
			t.oneNS = n
		}
	}
}

// WeightedAffinityTerm is a preferred term with its weight.
type WeightedAffinityTerm struct {
	AffinityTerm
	Weight int32
}

// Matches says whether pod (whose namespace has nsLabels) matches the term.
func (t *AffinityTerm) Matches(pod *corev1.Pod, nsLabels labels.Set) bool {
	inNS := false
	if t.oneNS != "" {
		inNS = t.oneNS == pod.Namespace
	} else {
		inNS = t.Namespaces.Has(pod.Namespace)
	}
	if !inNS && !t.NamespaceSelector.Matches(nsLabels) {
		return false
	}
	if t.eqOK {
		for _, kv := range t.eq {
			if v, ok := pod.Labels[kv.key]; !ok || v != kv.value {
				return false
			}
		}
		return true
	}
	return t.Selector.Matches(labels.Set(pod.Labels))
}

// NewPodInfo derives a PodInfo from pod. pod must not be changed afterwards.
func NewPodInfo(pod *corev1.Pod) *PodInfo {
	pi := &PodInfo{
		Pod:             pod,
		Requests:        PodRequests(pod, false),
		NonZeroRequests: PodRequests(pod, true),
	}
	aff := pod.Spec.Affinity
	if aff == nil {
		return pi
	}
	var errs []error
	if a := aff.PodAffinity; a != nil {
		pi.RequiredAffinityTerms, errs = appendTerms(pod, a.RequiredDuringSchedulingIgnoredDuringExecution, errs)
		pi.PreferredAffinityTerms, errs = appendWeighted(pod, a.PreferredDuringSchedulingIgnoredDuringExecution, errs)
	}
	if a := aff.PodAntiAffinity; a != nil {
		pi.RequiredAntiAffinityTerms, errs = appendTerms(pod, a.RequiredDuringSchedulingIgnoredDuringExecution, errs)
		pi.PreferredAntiAffinityTerms, errs = appendWeighted(pod, a.PreferredDuringSchedulingIgnoredDuringExecution, errs)
	}
	if len(errs) > 0 {
		pi.ParseError = errs[0]
	}
	return pi
}

func appendTerms(pod *corev1.Pod, terms []corev1.PodAffinityTerm, errs []error) ([]AffinityTerm, []error) {
	if len(terms) == 0 {
		return nil, errs
	}
	out := make([]AffinityTerm, 0, len(terms))
	for i := range terms {
		t, err := NewAffinityTerm(pod, &terms[i])
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, t)
	}
	return out, errs
}

func appendWeighted(pod *corev1.Pod, terms []corev1.WeightedPodAffinityTerm, errs []error) ([]WeightedAffinityTerm, []error) {
	if len(terms) == 0 {
		return nil, errs
	}
	out := make([]WeightedAffinityTerm, 0, len(terms))
	for i := range terms {
		t, err := NewAffinityTerm(pod, &terms[i].PodAffinityTerm)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, WeightedAffinityTerm{AffinityTerm: t, Weight: terms[i].Weight})
	}
	return out, errs
}

// NewAffinityTerm parses term of pod. With neither namespaces nor a namespace selector the
// term covers the pod's own namespace; an empty namespace selector covers all namespaces.
// matchLabelKeys and mismatchLabelKeys add "key in (pod's value)" and "key notin (pod's
// value)" for the keys the pod has.
func NewAffinityTerm(pod *corev1.Pod, term *corev1.PodAffinityTerm) (AffinityTerm, error) {
	sel, err := metav1.LabelSelectorAsSelector(term.LabelSelector)
	if err != nil {
		return AffinityTerm{}, fmt.Errorf("invalid label selector: %w", err)
	}
	if term.LabelSelector != nil {
		for _, k := range term.MatchLabelKeys {
			if v, ok := pod.Labels[k]; ok {
				if r, err := labels.NewRequirement(k, selection.In, []string{v}); err == nil {
					sel = sel.Add(*r)
				}
			}
		}
		for _, k := range term.MismatchLabelKeys {
			if v, ok := pod.Labels[k]; ok {
				if r, err := labels.NewRequirement(k, selection.NotIn, []string{v}); err == nil {
					sel = sel.Add(*r)
				}
			}
		}
	}
	nsSel, err := metav1.LabelSelectorAsSelector(term.NamespaceSelector)
	if err != nil {
		return AffinityTerm{}, fmt.Errorf("invalid namespace selector: %w", err)
	}
	ns := sets.New(term.Namespaces...)
	if len(term.Namespaces) == 0 && term.NamespaceSelector == nil {
		ns.Insert(pod.Namespace)
	}
	t := AffinityTerm{Selector: sel, TopologyKey: term.TopologyKey, NamespaceSelector: nsSel,
		HasNamespaceSelector: term.NamespaceSelector != nil}
	t.SetNamespaces(ns)
	if ls := term.LabelSelector; ls != nil && len(ls.MatchExpressions) == 0 && len(term.MismatchLabelKeys) == 0 {
		t.eqOK = true
		for k, v := range ls.MatchLabels {
			t.eq = append(t.eq, labelKV{k, v})
		}
		for _, k := range term.MatchLabelKeys {
			if v, ok := pod.Labels[k]; ok {
				t.eq = append(t.eq, labelKV{k, v})
			}
		}
	}
	return t, nil
}
