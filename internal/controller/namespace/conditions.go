package namespace

import (
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// outcome is what one pass of content deletion found.
type outcome struct {
	// discoveryFailures are the API groups discovery could not list ("apps/v1: ...").
	discoveryFailures []string
	// deleteFailures are the resources whose content could not be listed or deleted.
	deleteFailures []string
	// remaining counts the objects left per resource ("configmaps.", "deployments.apps").
	remaining map[string]int
	// finalizers counts the remaining objects that wait for each finalizer.
	finalizers map[string]int
	// estimate is how many seconds the remaining pods may still take to terminate.
	estimate int64
}

// done reports that the namespace is empty and may be finalized.
func (o outcome) done() bool {
	return len(o.discoveryFailures) == 0 && len(o.deleteFailures) == 0 && len(o.remaining) == 0
}

// deletionConditions are the five conditions upstream reports on a terminating namespace,
// each True with what blocks deletion or False when that part is done.
func deletionConditions(o outcome) []corev1.NamespaceCondition {
	cond := func(t corev1.NamespaceConditionType, failing bool, trueReason, trueMsg, falseReason, falseMsg string) corev1.NamespaceCondition {
		if failing {
			return corev1.NamespaceCondition{Type: t, Status: corev1.ConditionTrue, Reason: trueReason, Message: trueMsg}
		}
		return corev1.NamespaceCondition{Type: t, Status: corev1.ConditionFalse, Reason: falseReason, Message: falseMsg}
	}
	return []corev1.NamespaceCondition{
		cond(corev1.NamespaceDeletionDiscoveryFailure, len(o.discoveryFailures) > 0,
			"DiscoveryFailed", fmt.Sprintf("Discovery failed for some groups, %d failing: %s", len(o.discoveryFailures), strings.Join(sorted(o.discoveryFailures), ", ")),
			"ResourcesDiscovered", "All resources successfully discovered"),
		cond(corev1.NamespaceDeletionGVParsingFailure, false, "", "",
			"ParsedGroupVersions", "All legacy kube types successfully parsed"),
		cond(corev1.NamespaceDeletionContentFailure, len(o.deleteFailures) > 0,
			"ContentDeletionFailed", fmt.Sprintf("Failed to delete all resource types, %d remaining: %s", len(o.deleteFailures), strings.Join(sorted(o.deleteFailures), ", ")),
			"ContentDeleted", "All content successfully deleted, may be waiting on finalization"),
		cond(corev1.NamespaceContentRemaining, len(o.remaining) > 0,
			"SomeResourcesRemain", "Some resources are remaining: "+counts(o.remaining, "%s has %d resource instances"),
			"ContentRemoved", "All content successfully removed"),
		cond(corev1.NamespaceFinalizersRemaining, len(o.finalizers) > 0,
			"SomeFinalizersRemain", "Some content in the namespace has finalizers remaining: "+counts(o.finalizers, "%s in %d resource instances"),
			"ContentHasNoFinalizers", "All content-preserving finalizers finished"),
	}
}

// mergeConditions sets want on the existing conditions, keeping the transition time of
// those whose status did not change. changed reports whether anything differs.
func mergeConditions(have []corev1.NamespaceCondition, want []corev1.NamespaceCondition, now time.Time) ([]corev1.NamespaceCondition, bool) {
	out := slices.Clone(have)
	changed := false
	for _, w := range want {
		i := slices.IndexFunc(out, func(c corev1.NamespaceCondition) bool { return c.Type == w.Type })
		if i < 0 {
			w.LastTransitionTime = metav1.NewTime(now)
			out = append(out, w)
			changed = true
			continue
		}
		old := out[i]
		if old.Status == w.Status && old.Reason == w.Reason && old.Message == w.Message {
			continue
		}
		w.LastTransitionTime = old.LastTransitionTime
		if old.Status != w.Status {
			w.LastTransitionTime = metav1.NewTime(now)
		}
		out[i] = w
		changed = true
	}
	return out, changed
}

func counts(m map[string]int, format string) string {
	var parts []string
	for k, n := range m {
		parts = append(parts, fmt.Sprintf(format, k, n))
	}
	slices.Sort(parts)
	return strings.Join(parts, ", ")
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}
