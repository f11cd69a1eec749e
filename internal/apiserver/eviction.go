package apiserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	policyv1beta1 "k8s.io/api/policy/v1beta1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"

	"capstan/internal/storage"
)

// Upstream's eviction limits and messages.
const (
	// maxDisruptedPods caps the evictions a budget may hold unconfirmed by its controller.
	maxDisruptedPods = 2000
	// evictionRetries bounds the retries when the pod or budget changes under an eviction.
	evictionRetries   = 5
	evictionViolation = "Cannot evict pod as it would violate the pod's disruption budget."
)

var evictionGVK = policyv1.SchemeGroupVersion.WithKind("Eviction")

// serveEviction is pods/eviction: a delete that honours the pod's PodDisruptionBudget.
// It is allowed when no budget covers the pod, the pod does not run (pending, finished or
// already being deleted), an unready pod's budget is healthy anyway, or the budget allows
// a disruption, which it then uses up in the same compare-and-swap that records the pod
// in disruptedPods; otherwise it is 429 TooManyRequests.
func (h *resourceHandler) serveEviction(ctx context.Context, w http.ResponseWriter, r *http.Request, info requestInfo) error {
	if info.Verb != "create" {
		return apierrors.NewMethodNotSupported(schemaGR("policy", "evictions"), info.Verb)
	}
	ev, err := h.decodeEviction(w, r)
	if err != nil {
		return err
	}
	if ev.Name != "" && ev.Name != info.Name {
		return apierrors.NewBadRequest("name in URL does not match name in Eviction object")
	}
	opts := &metav1.DeleteOptions{}
	if ev.DeleteOptions != nil {
		opts = ev.DeleteOptions.DeepCopy()
	}
	if dryRun(r) {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	for attempt := 0; ; attempt++ {
		err = h.evict(ctx, info.Namespace, info.Name, opts)
		if !apierrors.IsConflict(err) || attempt >= evictionRetries {
			break
		}
	}
	if err != nil {
		return err
	}
	h.s.writeObject(w, r, http.StatusCreated, metav1.SchemeGroupVersion, &metav1.Status{
		TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"}, Status: metav1.StatusSuccess, Code: http.StatusCreated})
	return nil
}

// decodeEviction accepts a policy/v1 or policy/v1beta1 Eviction.
func (h *resourceHandler) decodeEviction(w http.ResponseWriter, r *http.Request) (*policyv1.Eviction, error) {
	data, err := readBody(r)
	if err != nil {
		return nil, err
	}
	var tm metav1.TypeMeta
	if json.Unmarshal(data, &tm) == nil && tm.APIVersion == policyv1beta1.SchemeGroupVersion.String() {
		old := &policyv1beta1.Eviction{}
		if err := h.s.decodeInto(w, r, data, r.Header.Get("Content-Type"), policyv1beta1.SchemeGroupVersion.WithKind("Eviction"), old); err != nil {
			return nil, err
		}
		return &policyv1.Eviction{ObjectMeta: old.ObjectMeta, DeleteOptions: old.DeleteOptions}, nil
	}
	ev := &policyv1.Eviction{}
	if err := h.s.decodeInto(w, r, data, r.Header.Get("Content-Type"), evictionGVK, ev); err != nil {
		return nil, err
	}
	return ev, nil
}

// evict runs one attempt; a Conflict means the pod or its budget changed meanwhile.
func (h *resourceHandler) evict(ctx context.Context, ns, name string, opts *metav1.DeleteOptions) error {
	obj, err := h.store.Get(ctx, h.key(ns, name), storage.GetOptions{})
	if err != nil {
		return err
	}
	pod := obj.(*corev1.Pod)
	if err := checkPreconditions(h, pod, opts.Preconditions); err != nil {
		return err
	}
	if pod.DeletionTimestamp != nil || pod.Status.Phase == corev1.PodPending ||
		pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
		return h.deleteEvicted(ctx, pod, opts, false)
	}
	pdb, err := h.s.budgetOf(ctx, pod)
	if err != nil || pdb == nil {
		if err != nil {
			return err
		}
		return h.deleteEvicted(ctx, pod, opts, true)
	}
	if !isPodReady(pod) {
		policy := pdb.Spec.UnhealthyPodEvictionPolicy
		if policy != nil && *policy == policyv1.AlwaysAllow ||
			pdb.Status.DesiredHealthy > 0 && pdb.Status.CurrentHealthy >= pdb.Status.DesiredHealthy {
			return h.deleteEvicted(ctx, pod, opts, true)
		}
	}
	if err := h.s.useDisruption(ctx, pdb, pod.Name, slices.Contains(opts.DryRun, metav1.DryRunAll)); err != nil {
		return err
	}
	return h.deleteEvicted(ctx, pod, opts, true)
}

// budgetOf returns the one PodDisruptionBudget covering the pod (nil: none); more than one
// is an error, as upstream.
func (s *Server) budgetOf(ctx context.Context, pod *corev1.Pod) (*policyv1.PodDisruptionBudget, error) {
	ph := s.handlers["policy/v1/poddisruptionbudgets"]
	if ph == nil {
		return nil, nil
	}
	list, err := ph.store.List(ctx, storage.ListOptions{Prefix: ph.prefix(pod.Namespace), ResourceVersion: "0"})
	if err != nil {
		return nil, err
	}
	var found []*policyv1.PodDisruptionBudget
	items := list.(*policyv1.PodDisruptionBudgetList).Items
	for i := range items {
		pdb := &items[i]
		if pdb.Spec.Selector == nil {
			continue
		}
		sel, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector)
		if err != nil || !sel.Matches(labels.Set(pod.Labels)) {
			continue
		}
		found = append(found, pdb)
	}
	switch len(found) {
	case 0:
		return nil, nil
	case 1:
		return found[0], nil
	}
	return nil, apierrors.NewInternalError(errors.New("This pod has more than one PodDisruptionBudget, which the eviction subresource does not support."))
}

// useDisruption takes one allowed disruption from the budget and records the pod, in one
// compare-and-swap on the stored budget; 429 when none is left.
func (s *Server) useDisruption(ctx context.Context, pdb *policyv1.PodDisruptionBudget, podName string, dry bool) error {
	ph := s.handlers["policy/v1/poddisruptionbudgets"]
	_, err := ph.store.GuaranteedUpdate(ctx, ph.key(pdb.Namespace, pdb.Name), &metav1.Preconditions{UID: &pdb.UID}, false, func(existing runtime.Object) (runtime.Object, error) {
		b := existing.(*policyv1.PodDisruptionBudget)
		if b.Status.ObservedGeneration < b.Generation {
			return nil, violation(fmt.Sprintf("The disruption budget %s is still being processed by the server.", b.Name))
		}
		switch {
		case b.Status.DisruptionsAllowed < 0:
			return nil, apierrors.NewForbidden(ph.gr(), b.Name, errors.New("pdb disruptions allowed is negative"))
		case len(b.Status.DisruptedPods) > maxDisruptedPods:
			return nil, apierrors.NewForbidden(ph.gr(), b.Name, errors.New("DisruptedPods map too big - too many evictions not confirmed by PDB controller"))
		case b.Status.DisruptionsAllowed == 0:
			return nil, violation(fmt.Sprintf("The disruption budget %s needs %d healthy pods and has %d currently", b.Name, b.Status.DesiredHealthy, b.Status.CurrentHealthy))
		}
		b.Status.DisruptionsAllowed--
		if b.Status.DisruptionsAllowed == 0 {
			apimeta.SetStatusCondition(&b.Status.Conditions, metav1.Condition{Type: policyv1.DisruptionAllowedCondition,
				Status: metav1.ConditionFalse, Reason: policyv1.InsufficientPodsReason, ObservedGeneration: b.Status.ObservedGeneration})
		}
		if b.Status.DisruptedPods == nil {
			b.Status.DisruptedPods = map[string]metav1.Time{}
		}
		b.Status.DisruptedPods[podName] = metav1.NewTime(s.clock.Now().Truncate(time.Second))
		if dry {
			return nil, errDryRun
		}
		return b, nil
	})
	if errors.Is(err, errDryRun) {
		return nil
	}
	return err
}

// violation is upstream's 429 for a budget that allows no disruption, with the reason as
// a DisruptionBudget cause.
func violation(cause string) error {
	err := apierrors.NewTooManyRequests(evictionViolation, 0)
	err.ErrStatus.Details.Causes = append(err.ErrStatus.Details.Causes, metav1.StatusCause{
		Type: policyv1.DisruptionBudgetCause, Message: cause})
	return err
}

// deleteEvicted marks the pod a disruption target (when a budget was consulted) and
// deletes it with the eviction's options, pinned to the version that was checked.
func (h *resourceHandler) deleteEvicted(ctx context.Context, pod *corev1.Pod, opts *metav1.DeleteOptions, checked bool) error {
	opts = opts.DeepCopy()
	dry := slices.Contains(opts.DryRun, metav1.DryRunAll)
	if checked && !dry && pod.DeletionTimestamp == nil {
		out, _, err := h.update(ctx, pod.Namespace, pod.Name, modeSystem, false, func(existing runtime.Object) (runtime.Object, error) {
			p := existing.(*corev1.Pod)
			if p.ResourceVersion != pod.ResourceVersion {
				return nil, apierrors.NewConflict(h.gr(), pod.Name, errors.New(registryConflictMessage))
			}
			setPodCondition(p, corev1.PodCondition{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue,
				Reason: "EvictionByEvictionAPI", Message: "Eviction API: evicting", LastTransitionTime: metav1.NewTime(h.s.clock.Now())})
			return p, nil
		})
		if err != nil {
			return err
		}
		pod = out.(*corev1.Pod)
	}
	if checked {
		// The pod deleted must be the one checked (and marked): a precondition the
		// client gave was checked against it already.
		if opts.Preconditions == nil {
			opts.Preconditions = &metav1.Preconditions{}
		}
		opts.Preconditions.ResourceVersion = &pod.ResourceVersion
	}
	_, _, err := h.delete(ctx, pod.Namespace, pod.Name, opts)
	return err
}

func checkPreconditions(h *resourceHandler, pod *corev1.Pod, pre *metav1.Preconditions) error {
	if pre == nil {
		return nil
	}
	if pre.UID != nil && *pre.UID != pod.UID {
		return apierrors.NewConflict(h.gr(), pod.Name, fmt.Errorf("the UID in the precondition (%s) does not match the UID in record (%s). The object might have been deleted and then recreated", *pre.UID, pod.UID))
	}
	if pre.ResourceVersion != nil && *pre.ResourceVersion != pod.ResourceVersion {
		return apierrors.NewConflict(h.gr(), pod.Name, fmt.Errorf("the ResourceVersion in the precondition (%s) does not match the ResourceVersion in record (%s). The object might have been modified", *pre.ResourceVersion, pod.ResourceVersion))
	}
	return nil
}

func isPodReady(pod *corev1.Pod) bool {
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
