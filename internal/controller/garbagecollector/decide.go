package garbagecollector

import (
	"slices"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// ownerState is what a live lookup found of one owner of a dependent.
type ownerState int

const (
	// solid: the owner exists and is not deleting its dependents.
	solid ownerState = iota
	// dangling: the owner is gone (or the reference resolves to nothing).
	dangling
	// waiting: the owner is being deleted in the foreground, waiting for its dependents.
	waiting
)

type action int

const (
	keep action = iota
	// removeRefs: the dependent keeps a solid owner; drop its references to the others.
	removeRefs
	// deleteObject: no solid owner is left.
	deleteObject
)

// plan is what to do with one dependent.
type plan struct {
	action action
	// remove lists the owner uids to drop (removeRefs).
	remove []types.UID
	// policy of the deletion (deleteObject).
	policy metav1.DeletionPropagation
	// unblock lists owner uids whose blockOwnerDeletion must be turned off before the
	// deletion, to break a foreground-deletion cycle.
	unblock []types.UID
}

// decide chooses what to do with a dependent, given the state of each of its owners,
// whether it has dependents itself (and whether one of those is deleting in the
// foreground), and its finalizers.
func decide(refs []metav1.OwnerReference, states map[types.UID]ownerState, hasDependents, dependentInForeground bool, finalizers []string) plan {
	var solids, gone, waits []metav1.OwnerReference
	for _, r := range refs {
		switch states[r.UID] {
		case solid:
			solids = append(solids, r)
		case dangling:
			gone = append(gone, r)
		case waiting:
			waits = append(waits, r)
		}
	}
	switch {
	case len(refs) == 0:
		return plan{action: keep}
	case len(solids) > 0:
		if len(gone)+len(waits) == 0 {
			return plan{action: keep}
		}
		return plan{action: removeRefs, remove: uids(append(gone, waits...))}
	case len(waits) > 0 && hasDependents:
		// Deleting in the foreground makes the waiting owner wait for our dependents too.
		// If one of them is itself deleting in the foreground, it may be waiting for us:
		// stop blocking the owners first so the cycle breaks.
		p := plan{action: deleteObject, policy: metav1.DeletePropagationForeground}
		if dependentInForeground {
			for _, r := range waits {
				if blocks(r) {
					p.unblock = append(p.unblock, r.UID)
				}
			}
		}
		return p
	}
	policy := metav1.DeletePropagationBackground
	switch {
	case slices.Contains(finalizers, metav1.FinalizerOrphanDependents):
		policy = metav1.DeletePropagationOrphan
	case slices.Contains(finalizers, metav1.FinalizerDeleteDependents):
		policy = metav1.DeletePropagationForeground
	}
	return plan{action: deleteObject, policy: policy}
}

func uids(refs []metav1.OwnerReference) []types.UID {
	out := make([]types.UID, 0, len(refs))
	for _, r := range refs {
		out = append(out, r.UID)
	}
	return out
}

// withoutOwners returns refs minus those naming one of drop.
func withoutOwners(refs []metav1.OwnerReference, drop []types.UID) []metav1.OwnerReference {
	return slices.DeleteFunc(slices.Clone(refs), func(r metav1.OwnerReference) bool { return slices.Contains(drop, r.UID) })
}

// unblocked returns refs with blockOwnerDeletion turned off for the owners in unblock.
func unblocked(refs []metav1.OwnerReference, unblock []types.UID) []metav1.OwnerReference {
	out := slices.Clone(refs)
	for i := range out {
		if slices.Contains(unblock, out[i].UID) {
			f := false
			out[i].BlockOwnerDeletion = &f
		}
	}
	return out
}
