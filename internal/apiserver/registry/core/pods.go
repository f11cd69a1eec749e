package core

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"capstan/internal/apiserver/registry"
)

// podStrategy holds the rules of core/v1 pods.
type podStrategy struct{ registry.DefaultStrategy }

func (podStrategy) Default(obj runtime.Object) { DefaultPod(obj.(*corev1.Pod)) }

// PrepareForCreate starts every pod Pending with its QoS class; a pod with scheduling
// gates also says why it is not scheduled.
func (podStrategy) PrepareForCreate(_ context.Context, obj runtime.Object) {
	pod := obj.(*corev1.Pod)
	pod.Status = corev1.PodStatus{Phase: corev1.PodPending, QOSClass: PodQOSClass(pod)}
	if len(pod.Spec.SchedulingGates) > 0 {
		pod.Status.Conditions = append(pod.Status.Conditions, corev1.PodCondition{
			Type:    corev1.PodScheduled,
			Status:  corev1.ConditionFalse,
			Reason:  corev1.PodReasonSchedulingGated,
			Message: "Scheduling is blocked due to non-empty scheduling gates",
		})
	}
}

// PrepareForStatusUpdate keeps the spec, the owners and the deletion timestamp; a status
// writer that drops the QoS class or observed generations gets the stored ones back.
func (podStrategy) PrepareForStatusUpdate(_ context.Context, obj, old runtime.Object) {
	pod, oldPod := obj.(*corev1.Pod), old.(*corev1.Pod)
	pod.Spec = *oldPod.Spec.DeepCopy()
	pod.DeletionTimestamp = oldPod.DeletionTimestamp.DeepCopy()
	pod.OwnerReferences = append([]metav1.OwnerReference(nil), oldPod.OwnerReferences...)
	if pod.Status.QOSClass == "" {
		pod.Status.QOSClass = oldPod.Status.QOSClass
	}
	if pod.Status.ObservedGeneration == 0 {
		pod.Status.ObservedGeneration = oldPod.Status.ObservedGeneration
	}
	oldGens := map[corev1.PodConditionType][]int64{}
	for _, c := range oldPod.Status.Conditions {
		oldGens[c.Type] = append(oldGens[c.Type], c.ObservedGeneration)
	}
	for i, c := range pod.Status.Conditions {
		var gen int64
		if gens := oldGens[c.Type]; len(gens) > 0 {
			gen, oldGens[c.Type] = gens[0], gens[1:]
		}
		if c.ObservedGeneration == 0 {
			pod.Status.Conditions[i].ObservedGeneration = gen
		}
	}
}

func (podStrategy) Validate(_ context.Context, obj runtime.Object) field.ErrorList {
	pod := obj.(*corev1.Pod)
	errs := validatePodObject(pod)
	spec := field.NewPath("spec")
	if len(pod.Spec.EphemeralContainers) > 0 {
		errs = append(errs, field.Forbidden(spec.Child("ephemeralContainers"), "cannot be set on create"))
	}
	if pod.Spec.NodeName != "" && len(pod.Spec.SchedulingGates) > 0 {
		errs = append(errs, field.Forbidden(spec.Child("nodeName"), "cannot be set until all schedulingGates have been cleared"))
	}
	return errs
}

// validatePodObject holds the checks of a pod's spec on both create and update.
func validatePodObject(pod *corev1.Pod) field.ErrorList {
	spec := field.NewPath("spec")
	errs := validatePodSpec(&pod.Spec, spec, true)
	if pod.Spec.ServiceAccountName == "" {
		for i, v := range pod.Spec.Volumes {
			if v.Projected == nil {
				continue
			}
			for j, s := range v.Projected.Sources {
				if s.ServiceAccountToken != nil {
					p := spec.Child("volumes").Index(i).Child("projected", "sources").Index(j).Child("serviceAccountToken")
					errs = append(errs, field.Forbidden(p, "must not be specified when serviceAccountName is not set"))
				}
			}
		}
	}
	for i, c := range pod.Spec.Containers {
		errs = append(errs, imageWhitespaceErrors(c.Image, spec.Child("containers").Index(i).Child("image"))...)
	}
	for i, c := range pod.Spec.InitContainers {
		errs = append(errs, imageWhitespaceErrors(c.Image, spec.Child("initContainers").Index(i).Child("image"))...)
	}
	return errs
}

// updatablePodFields is how upstream names what a pod update may change.
var updatablePodFields = []string{
	"`spec.containers[*].image`",
	"`spec.initContainers[*].image`",
	"`spec.activeDeadlineSeconds`",
	"`spec.tolerations` (only additions to existing tolerations)",
	"`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)",
}

// ValidateUpdate allows only images, a shorter active deadline, added tolerations and
// removed scheduling gates (plus node selector and affinity narrowing while gated).
func (s podStrategy) ValidateUpdate(_ context.Context, obj, old runtime.Object) field.ErrorList {
	pod, oldPod := obj.(*corev1.Pod), old.(*corev1.Pod)
	errs := validatePodObject(pod)
	spec := field.NewPath("spec")
	for _, list := range []struct {
		name     string
		new, old []corev1.Container
	}{{"containers", pod.Spec.Containers, oldPod.Spec.Containers}, {"initContainers", pod.Spec.InitContainers, oldPod.Spec.InitContainers}} {
		if len(list.new) != len(list.old) {
			return append(errs, field.Forbidden(spec.Child(list.name), "pod updates may not add or remove containers"))
		}
	}
	deadlineErrs := validateDeadlineUpdate(pod.Spec.ActiveDeadlineSeconds, oldPod.Spec.ActiveDeadlineSeconds, spec.Child("activeDeadlineSeconds"))
	if len(deadlineErrs) > 0 {
		return append(errs, deadlineErrs...)
	}
	errs = append(errs, validateAddedTolerations(pod.Spec.Tolerations, oldPod.Spec.Tolerations, spec.Child("tolerations"))...)
	errs = append(errs, validateRemovedGates(pod.Spec.SchedulingGates, oldPod.Spec.SchedulingGates, spec.Child("schedulingGates"))...)
	if apiequality.Semantic.DeepEqual(pod.Spec, oldPod.Spec) {
		return errs
	}
	munged := mungeUpdatableFields(&pod.Spec, &oldPod.Spec)
	if len(oldPod.Spec.SchedulingGates) > 0 {
		errs = append(errs, validateGatedPodChanges(munged, &oldPod.Spec, spec)...)
	}
	if !apiequality.Semantic.DeepEqual(*munged, oldPod.Spec) {
		msg := fmt.Sprintf("pod updates may not change fields other than %s\n%v",
			strings.Join(updatablePodFields, ","), cmp.Diff(oldPod.Spec, *munged))
		errs = append(errs, field.Forbidden(spec, msg))
	}
	return errs
}

// validateDeadlineUpdate allows setting activeDeadlineSeconds or lowering it, never
// raising or clearing it.
func validateDeadlineUpdate(deadline, oldDeadline *int64, p *field.Path) field.ErrorList {
	switch {
	case deadline == nil && oldDeadline != nil:
		return field.ErrorList{field.Invalid(p, deadline, "must not update from a positive integer to nil value")}
	case deadline == nil:
		return nil
	case *deadline < 0 || *deadline > math.MaxInt32:
		return field.ErrorList{field.Invalid(p, *deadline, validation.InclusiveRangeError(0, math.MaxInt32))}
	case oldDeadline != nil && *oldDeadline < *deadline:
		return field.ErrorList{field.Invalid(p, *deadline, "must be less than or equal to previous value")}
	}
	return nil
}

// validateAddedTolerations requires every old toleration to survive, its
// tolerationSeconds aside.
func validateAddedTolerations(tolerations, oldTolerations []corev1.Toleration, p *field.Path) field.ErrorList {
	for _, old := range oldTolerations {
		found := false
		for _, t := range tolerations {
			o := old
			o.TolerationSeconds = t.TolerationSeconds
			found = found || apiequality.Semantic.DeepEqual(o, t)
		}
		if !found {
			return field.ErrorList{field.Forbidden(p, "existing toleration can not be modified except its tolerationSeconds")}
		}
	}
	return ValidateTolerations(tolerations, p)
}

func validateRemovedGates(gates, oldGates []corev1.PodSchedulingGate, p *field.Path) field.ErrorList {
	old := sets.New[string]()
	for _, g := range oldGates {
		old.Insert(g.Name)
	}
	var errs field.ErrorList
	for i, g := range gates {
		if !old.Has(g.Name) {
			errs = append(errs, field.Forbidden(p.Index(i).Child("name"),
				fmt.Sprintf("only deletion is allowed, but found new scheduling gate '%s'", g.Name)))
		}
	}
	return errs
}

// mungeUpdatableFields returns a copy of spec with the fields a pod update may change
// taken from old, so that what remains must equal old.
func mungeUpdatableFields(spec, old *corev1.PodSpec) *corev1.PodSpec {
	m := spec.DeepCopy()
	for i := range m.Containers {
		m.Containers[i].Image = old.Containers[i].Image
	}
	for i := range m.InitContainers {
		m.InitContainers[i].Image = old.InitContainers[i].Image
	}
	m.ActiveDeadlineSeconds = old.ActiveDeadlineSeconds
	m.SchedulingGates = old.SchedulingGates
	m.Tolerations = old.Tolerations
	if g, og := m.TerminationGracePeriodSeconds, old.TerminationGracePeriodSeconds; og != nil && *og < 0 && g != nil && *g == 1 {
		m.TerminationGracePeriodSeconds = og
	}
	return m
}

// validateGatedPodChanges lets a pod that is still gated gain node selector entries and
// narrow its required node affinity, then folds those changes back into munged.
func validateGatedPodChanges(munged, old *corev1.PodSpec, spec *field.Path) field.ErrorList {
	var errs field.ErrorList
	if !apiequality.Semantic.DeepEqual(munged.NodeSelector, old.NodeSelector) {
		for k, v := range old.NodeSelector {
			if nv, ok := munged.NodeSelector[k]; !ok || nv != v {
				errs = append(errs, field.Invalid(spec.Child("nodeSelector"), munged.NodeSelector, "only additions to spec.nodeSelector are allowed (no mutations or deletions)"))
				break
			}
		}
		munged.NodeSelector = old.NodeSelector
	}
	var na, oldNA *corev1.NodeAffinity
	if munged.Affinity != nil {
		na = munged.Affinity.NodeAffinity
	}
	if old.Affinity != nil {
		oldNA = old.Affinity.NodeAffinity
	}
	if apiequality.Semantic.DeepEqual(na, oldNA) {
		return errs
	}
	if oldNA != nil && oldNA.RequiredDuringSchedulingIgnoredDuringExecution != nil &&
		(na == nil || na.RequiredDuringSchedulingIgnoredDuringExecution == nil) {
		errs = append(errs, field.Invalid(spec.Child("affinity", "nodeAffinity", "requiredDuringSchedulingIgnoredDuringExecution"),
			nil, "only additions to spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms are allowed (no mutations or deletions)"))
	}
	switch {
	case munged.Affinity == nil:
		munged.Affinity = &corev1.Affinity{NodeAffinity: oldNA}
	case old.Affinity == nil && munged.Affinity.PodAffinity == nil && munged.Affinity.PodAntiAffinity == nil:
		munged.Affinity = nil
	default:
		munged.Affinity.NodeAffinity = oldNA
	}
	return errs
}

// ValidateStatusUpdate checks what a kubelet or scheduler may report.
func (podStrategy) ValidateStatusUpdate(_ context.Context, obj, old runtime.Object) field.ErrorList {
	pod, oldPod := obj.(*corev1.Pod), old.(*corev1.Pod)
	// Upstream reports condition types under metadata.conditions.
	errs := validatePodConditions(pod.Status.Conditions, field.NewPath("metadata", "conditions"))
	status := field.NewPath("status")
	if pod.Spec.NodeName != oldPod.Spec.NodeName {
		errs = append(errs, field.Forbidden(status.Child("nodeName"), "may not be changed directly"))
	}
	if n := pod.Status.NominatedNodeName; n != oldPod.Status.NominatedNodeName && n != "" {
		errs = append(errs, nameErrors(apimachineryvalidation.NameIsDNSSubdomain, n, status.Child("nominatedNodeName"))...)
	}
	errs = append(errs, apimachineryvalidation.ValidateImmutableField(pod.Status.QOSClass, oldPod.Status.QOSClass, status.Child("qosClass"))...)
	errs = append(errs, terminatedStateErrors(pod.Status.ContainerStatuses, oldPod.Status.ContainerStatuses,
		oldPod.Spec.RestartPolicy, nil, status.Child("containerStatuses"))...)
	errs = append(errs, terminatedStateErrors(pod.Status.InitContainerStatuses, oldPod.Status.InitContainerStatuses,
		oldPod.Spec.RestartPolicy, oldPod.Spec.InitContainers, status.Child("initContainerStatuses"))...)
	errs = append(errs, terminatedStateErrors(pod.Status.EphemeralContainerStatuses, oldPod.Status.EphemeralContainerStatuses,
		corev1.RestartPolicyNever, nil, status.Child("ephemeralContainerStatuses"))...)
	errs = append(errs, podIPErrors(pod.Status.PodIPs, status.Child("podIPs"))...)
	return append(errs, hostIPErrors(&pod.Status, status.Child("hostIPs"))...)
}

func validatePodConditions(conditions []corev1.PodCondition, p *field.Path) field.ErrorList {
	system := sets.New(corev1.PodScheduled, corev1.PodReady, corev1.PodInitialized)
	var errs field.ErrorList
	for i, c := range conditions {
		if !system.Has(c.Type) {
			errs = append(errs, qualifiedNameErrors(string(c.Type), p.Index(i).Child("Type"))...)
		}
	}
	return errs
}

// terminatedStateErrors forbids reviving a terminated container the restart policy says
// stays terminated. Sidecar init containers always restart.
func terminatedStateErrors(statuses, oldStatuses []corev1.ContainerStatus, restart corev1.RestartPolicy,
	inits []corev1.Container, p *field.Path) field.ErrorList {
	if restart == corev1.RestartPolicyAlways {
		return nil
	}
	sidecars := sets.New[string]()
	for i := range inits {
		if isRestartableInitContainer(&inits[i]) {
			sidecars.Insert(inits[i].Name)
		}
	}
	var errs field.ErrorList
	for i, old := range oldStatuses {
		term := old.State.Terminated
		if term == nil || (term.ExitCode != 0 && restart == corev1.RestartPolicyOnFailure) || sidecars.Has(old.Name) {
			continue
		}
		for _, s := range statuses {
			if s.Name == old.Name && s.State.Terminated == nil {
				errs = append(errs, field.Forbidden(p.Index(i).Child("state"), "may not be transitioned to non-terminated state"))
			}
		}
	}
	return errs
}

// podIPErrors requires valid, distinct IPs, at most one per family.
func podIPErrors(ips []corev1.PodIP, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, ip := range ips {
		errs = append(errs, validation.IsValidIP(p.Index(i), ip.IP)...)
	}
	return append(errs, dualStackErrors(len(ips), func(i int) string { return ips[i].IP }, ips, p)...)
}

func hostIPErrors(s *corev1.PodStatus, p *field.Path) field.ErrorList {
	if len(s.HostIPs) == 0 {
		return nil
	}
	var errs field.ErrorList
	if s.HostIP != s.HostIPs[0].IP {
		errs = append(errs, field.Invalid(p.Index(0).Child("ip"), s.HostIPs[0].IP, "must be equal to `hostIP`"))
	}
	for i, ip := range s.HostIPs {
		errs = append(errs, validation.IsValidIP(p.Index(i), ip.IP)...)
	}
	return append(errs, dualStackErrors(len(s.HostIPs), func(i int) string { return s.HostIPs[i].IP }, s.HostIPs, p)...)
}

// dualStackErrors checks a list of n addresses holds no duplicates and at most one per
// IP family.
func dualStackErrors(n int, ip func(int) string, list any, p *field.Path) field.ErrorList {
	if n < 2 {
		return nil
	}
	var errs field.ErrorList
	v4, v6 := 0, 0
	seen := sets.New[string]()
	for i := 0; i < n; i++ {
		if strings.Contains(ip(i), ":") {
			v6++
		} else {
			v4++
		}
		if seen.Has(ip(i)) {
			errs = append(errs, field.Duplicate(p.Index(i), ip(i)))
		}
		seen.Insert(ip(i))
	}
	if n > 2 || v4 != 1 || v6 != 1 {
		errs = append(errs, field.Invalid(p, list, "may specify no more than one IP for each IP family"))
	}
	return errs
}

// ValidateBinding validates a pods/binding request: the target must be a node by name.
func ValidateBinding(b *corev1.Binding) field.ErrorList {
	var errs field.ErrorList
	if b.Target.Kind != "" && b.Target.Kind != "Node" {
		errs = append(errs, field.NotSupported(field.NewPath("target", "kind"), b.Target.Kind, []string{"Node", "<empty>"}))
	}
	if b.Target.Name == "" {
		errs = append(errs, field.Required(field.NewPath("target", "name"), ""))
	}
	return errs
}

// podFields are the field selectors upstream supports for pods.
func podFields(obj runtime.Object) fields.Set {
	pod := obj.(*corev1.Pod)
	podIP := ""
	if len(pod.Status.PodIPs) > 0 {
		podIP = pod.Status.PodIPs[0].IP
	}
	return fields.Set{
		"spec.nodeName":            pod.Spec.NodeName,
		"spec.restartPolicy":       string(pod.Spec.RestartPolicy),
		"spec.schedulerName":       pod.Spec.SchedulerName,
		"spec.serviceAccountName":  pod.Spec.ServiceAccountName,
		"spec.hostNetwork":         strconv.FormatBool(pod.Spec.HostNetwork),
		"status.phase":             string(pod.Status.Phase),
		"status.podIP":             podIP,
		"status.nominatedNodeName": pod.Status.NominatedNodeName,
	}
}
