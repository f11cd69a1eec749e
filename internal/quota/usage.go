package quota

import (
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/apimachinery/pkg/util/sets"
)

// Resource names beyond the ones client-go defines.
const (
	servicesNodePorts     corev1.ResourceName = "services.nodeports"
	servicesLoadBalancers corev1.ResourceName = "services.loadbalancers"
	storageClassSuffix                        = ".storageclass.storage.k8s.io/"
	hugePagesPrefix                           = "hugepages-"
	requestsPrefix                            = "requests."
)

// legacyCounts are the object counts with a name of their own besides count/<resource>.
var legacyCounts = map[string]corev1.ResourceName{
	"services": corev1.ResourceServices, "configmaps": corev1.ResourceConfigMaps, "secrets": corev1.ResourceSecrets,
	"replicationcontrollers": corev1.ResourceReplicationControllers, "resourcequotas": corev1.ResourceQuotas,
	"persistentvolumeclaims": corev1.ResourcePersistentVolumeClaims,
}

// podResources are the fixed names a pod charges.
var podResources = sets.New[corev1.ResourceName](
	corev1.ResourcePods, corev1.ResourceCPU, corev1.ResourceMemory, corev1.ResourceEphemeralStorage,
	corev1.ResourceRequestsCPU, corev1.ResourceRequestsMemory, corev1.ResourceRequestsEphemeralStorage,
	corev1.ResourceLimitsCPU, corev1.ResourceLimitsMemory, corev1.ResourceLimitsEphemeralStorage,
)

// mustSpecify are the names whose quota makes every container state them: a historical
// rule upstream keeps for cpu and memory only.
var mustSpecify = sets.New[corev1.ResourceName](
	corev1.ResourceCPU, corev1.ResourceMemory, corev1.ResourceRequestsCPU, corev1.ResourceRequestsMemory,
	corev1.ResourceLimitsCPU, corev1.ResourceLimitsMemory,
)

// CountName is the count/<resource>[.<group>] name of a resource's object count.
func CountName(gr schema.GroupResource) corev1.ResourceName {
	if gr.Group == "" {
		return corev1.ResourceName("count/" + gr.Resource)
	}
	return corev1.ResourceName("count/" + gr.Resource + "." + gr.Group)
}

// Usage is what one object of resource gr charges at now.
func Usage(gr schema.GroupResource, obj runtime.Object, now time.Time) corev1.ResourceList {
	out := corev1.ResourceList{CountName(gr): one()}
	if gr.Group != "" {
		return out
	}
	if n, ok := legacyCounts[gr.Resource]; ok {
		out[n] = one()
	}
	switch o := obj.(type) {
	case *corev1.Pod:
		if Charged(o, now) {
			out = Add(out, podCompute(PodRequests(o), PodLimits(o)))
		}
	case *corev1.Service:
		out = Add(out, serviceUsage(o))
	case *corev1.PersistentVolumeClaim:
		out = Add(out, claimUsage(o))
	}
	return out
}

// Charged reports whether a pod's compute resources count: not when it has finished, nor
// when its deletion's grace period is over (its node may be gone).
func Charged(pod *corev1.Pod, now time.Time) bool {
	if pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
		return false
	}
	if pod.DeletionTimestamp != nil && pod.DeletionGracePeriodSeconds != nil {
		end := pod.DeletionTimestamp.Add(time.Duration(*pod.DeletionGracePeriodSeconds) * time.Second)
		if now.After(end) {
			return false
		}
	}
	return true
}

// podCompute maps requests and limits to the quota names they charge.
func podCompute(requests, limits corev1.ResourceList) corev1.ResourceList {
	out := corev1.ResourceList{corev1.ResourcePods: one()}
	pairs := []struct{ plain, req, lim corev1.ResourceName }{
		{corev1.ResourceCPU, corev1.ResourceRequestsCPU, corev1.ResourceLimitsCPU},
		{corev1.ResourceMemory, corev1.ResourceRequestsMemory, corev1.ResourceLimitsMemory},
		{corev1.ResourceEphemeralStorage, corev1.ResourceRequestsEphemeralStorage, corev1.ResourceLimitsEphemeralStorage},
	}
	for _, p := range pairs {
		if q, ok := requests[p.plain]; ok {
			out[p.plain], out[p.req] = q.DeepCopy(), q.DeepCopy()
		}
		if q, ok := limits[p.plain]; ok {
			out[p.lim] = q.DeepCopy()
		}
	}
	for name, q := range requests {
		switch {
		case strings.HasPrefix(string(name), hugePagesPrefix):
			out[name], out[requestsPrefix+name] = q.DeepCopy(), q.DeepCopy()
		case isExtended(name):
			out[requestsPrefix+name] = q.DeepCopy()
		}
	}
	return out
}

// isExtended reports an extended resource name (domain-qualified, not kubernetes.io).
func isExtended(name corev1.ResourceName) bool {
	s := string(name)
	return strings.Contains(s, "/") && !strings.Contains(s, "kubernetes.io/") && !strings.HasPrefix(s, requestsPrefix)
}

func serviceUsage(svc *corev1.Service) corev1.ResourceList {
	out := corev1.ResourceList{}
	ports := len(svc.Spec.Ports)
	switch svc.Spec.Type {
	case corev1.ServiceTypeNodePort:
		out[servicesNodePorts] = count(ports)
	case corev1.ServiceTypeLoadBalancer:
		out[servicesLoadBalancers] = one()
		if a := svc.Spec.AllocateLoadBalancerNodePorts; a == nil || *a {
			out[servicesNodePorts] = count(ports)
		} else {
			n := 0
			for _, p := range svc.Spec.Ports {
				if p.NodePort != 0 {
					n++
				}
			}
			out[servicesNodePorts] = count(n)
		}
	}
	return out
}

func claimUsage(pvc *corev1.PersistentVolumeClaim) corev1.ResourceList {
	out := corev1.ResourceList{}
	class := ""
	if pvc.Spec.StorageClassName != nil {
		class = *pvc.Spec.StorageClassName
	} else if c, ok := pvc.Annotations[corev1.BetaStorageClassAnnotation]; ok {
		class = c
	}
	if class != "" {
		out[corev1.ResourceName(class+storageClassSuffix+"persistentvolumeclaims")] = one()
	}
	req, ok := pvc.Spec.Resources.Requests[corev1.ResourceStorage]
	if a, has := pvc.Status.AllocatedResources[corev1.ResourceStorage]; has && (!ok || a.Cmp(req) > 0) {
		req, ok = a, true
	}
	if ok {
		out[corev1.ResourceRequestsStorage] = req.DeepCopy()
		if class != "" {
			out[corev1.ResourceName(class+storageClassSuffix+"requests.storage")] = req.DeepCopy()
		}
	}
	return out
}

// Tracked returns the names among hard that objects of gr charge.
func Tracked(gr schema.GroupResource, hard []corev1.ResourceName) []corev1.ResourceName {
	var out []corev1.ResourceName
	for _, n := range hard {
		if tracks(gr, n) {
			out = append(out, n)
		}
	}
	return out
}

func tracks(gr schema.GroupResource, n corev1.ResourceName) bool {
	if n == CountName(gr) {
		return true
	}
	if gr.Group != "" {
		return false
	}
	if legacyCounts[gr.Resource] == n {
		return true
	}
	s := string(n)
	switch gr.Resource {
	case "pods":
		return podResources.Has(n) || strings.HasPrefix(s, hugePagesPrefix) || strings.HasPrefix(s, requestsPrefix+hugePagesPrefix) ||
			(strings.HasPrefix(s, requestsPrefix) && isExtended(corev1.ResourceName(strings.TrimPrefix(s, requestsPrefix))))
	case "services":
		return n == servicesNodePorts || n == servicesLoadBalancers
	case "persistentvolumeclaims":
		return n == corev1.ResourceRequestsStorage || strings.Contains(s, storageClassSuffix)
	}
	return false
}

// Applies reports whether a quota with these hard limits and scopes covers obj of gr: it
// limits something the object charges and every scope matches. Scopes apply to pods
// only; a scoped quota covers no other kind.
func Applies(q *corev1.ResourceQuota, hard corev1.ResourceList, gr schema.GroupResource, obj runtime.Object) (bool, error) {
	if len(Tracked(gr, Names(hard))) == 0 {
		return false, nil
	}
	for _, sel := range scopeSelectors(q) {
		pod, ok := obj.(*corev1.Pod)
		if !ok || gr != (schema.GroupResource{Resource: "pods"}) {
			return false, nil
		}
		match, err := podMatchesScope(sel, pod)
		if err != nil || !match {
			return false, err
		}
	}
	return true, nil
}

func scopeSelectors(q *corev1.ResourceQuota) []corev1.ScopedResourceSelectorRequirement {
	var out []corev1.ScopedResourceSelectorRequirement
	for _, s := range q.Spec.Scopes {
		out = append(out, corev1.ScopedResourceSelectorRequirement{ScopeName: s, Operator: corev1.ScopeSelectorOpExists})
	}
	if q.Spec.ScopeSelector != nil {
		out = append(out, q.Spec.ScopeSelector.MatchExpressions...)
	}
	return out
}

func podMatchesScope(sel corev1.ScopedResourceSelectorRequirement, pod *corev1.Pod) (bool, error) {
	switch sel.ScopeName {
	case corev1.ResourceQuotaScopeTerminating:
		return isTerminating(pod), nil
	case corev1.ResourceQuotaScopeNotTerminating:
		return !isTerminating(pod), nil
	case corev1.ResourceQuotaScopeBestEffort:
		return isBestEffort(pod), nil
	case corev1.ResourceQuotaScopeNotBestEffort:
		return !isBestEffort(pod), nil
	case corev1.ResourceQuotaScopeCrossNamespacePodAffinity:
		return crossNamespaceAffinity(pod), nil
	case corev1.ResourceQuotaScopePriorityClass:
		if sel.Operator == corev1.ScopeSelectorOpExists {
			return pod.Spec.PriorityClassName != "", nil
		}
		op := map[corev1.ScopeSelectorOperator]selection.Operator{
			corev1.ScopeSelectorOpIn: selection.In, corev1.ScopeSelectorOpNotIn: selection.NotIn,
			corev1.ScopeSelectorOpDoesNotExist: selection.DoesNotExist,
		}[sel.Operator]
		if op == "" {
			return false, fmt.Errorf("%q is not a valid scope selector operator", sel.Operator)
		}
		req, err := labels.NewRequirement(string(sel.ScopeName), op, sel.Values)
		if err != nil {
			return false, err
		}
		set := labels.Set{}
		if pod.Spec.PriorityClassName != "" {
			set[string(sel.ScopeName)] = pod.Spec.PriorityClassName
		}
		return labels.NewSelector().Add(*req).Matches(set), nil
	}
	return false, nil
}

func isTerminating(pod *corev1.Pod) bool {
	return pod.Spec.ActiveDeadlineSeconds != nil && *pod.Spec.ActiveDeadlineSeconds >= 0
}

// isBestEffort is the BestEffort QoS class: no container (nor the pod) asks for or caps
// cpu or memory.
func isBestEffort(pod *corev1.Pod) bool {
	any := func(l corev1.ResourceList) bool {
		_, c := l[corev1.ResourceCPU]
		_, m := l[corev1.ResourceMemory]
		return c || m
	}
	if r := pod.Spec.Resources; r != nil && (any(r.Requests) || any(r.Limits)) {
		return false
	}
	for _, cs := range [][]corev1.Container{pod.Spec.Containers, pod.Spec.InitContainers} {
		for _, c := range cs {
			if any(c.Resources.Requests) || any(c.Resources.Limits) {
				return false
			}
		}
	}
	return true
}

func crossNamespaceAffinity(pod *corev1.Pod) bool {
	a := pod.Spec.Affinity
	if a == nil {
		return false
	}
	cross := func(t corev1.PodAffinityTerm) bool { return len(t.Namespaces) > 0 || t.NamespaceSelector != nil }
	var terms []corev1.PodAffinityTerm
	if a.PodAffinity != nil {
		terms = append(terms, a.PodAffinity.RequiredDuringSchedulingIgnoredDuringExecution...)
		for _, w := range a.PodAffinity.PreferredDuringSchedulingIgnoredDuringExecution {
			terms = append(terms, w.PodAffinityTerm)
		}
	}
	if a.PodAntiAffinity != nil {
		terms = append(terms, a.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution...)
		for _, w := range a.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution {
			terms = append(terms, w.PodAffinityTerm)
		}
	}
	return slices.ContainsFunc(terms, cross)
}

// Constraints checks that a pod states what a quota tracking cpu or memory needs: every
// container must request (or limit) each such resource, unless the pod sets pod-level
// resources. The message names the resources and containers, as upstream's.
func Constraints(gr schema.GroupResource, required []corev1.ResourceName, obj runtime.Object) error {
	pod, ok := obj.(*corev1.Pod)
	if !ok || gr != (schema.GroupResource{Resource: "pods"}) {
		return nil
	}
	if r := pod.Spec.Resources; r != nil && (len(r.Requests) > 0 || len(r.Limits) > 0) {
		return nil
	}
	need := sets.New(required...).Intersection(mustSpecify)
	missing := map[corev1.ResourceName]sets.Set[string]{}
	for _, cs := range [][]corev1.Container{pod.Spec.Containers, pod.Spec.InitContainers} {
		for _, c := range cs {
			has := sets.KeySet(podCompute(c.Resources.Requests, c.Resources.Limits))
			for _, n := range sets.List(need.Difference(has)) {
				if missing[n] == nil {
					missing[n] = sets.New[string]()
				}
				missing[n].Insert(c.Name)
			}
		}
	}
	if len(missing) == 0 {
		return nil
	}
	var parts []string
	for _, n := range sets.List(sets.KeySet(missing)) {
		parts = append(parts, fmt.Sprintf("%s for: %s", n, strings.Join(sets.List(missing[n]), ",")))
	}
	return fmt.Errorf("must specify %s", strings.Join(parts, "; "))
}

// PodRequests is what a pod asks for: its app containers and sidecars together, or an
// init container with the sidecars started before it if that is more, plus overhead;
// pod-level requests win for what they set.
func PodRequests(pod *corev1.Pod) corev1.ResourceList {
	return podTotal(pod, func(c *corev1.Container) corev1.ResourceList { return c.Resources.Requests }, podLevel(pod, true), true)
}

// PodLimits is PodRequests for limits; overhead counts only towards limits that are set.
func PodLimits(pod *corev1.Pod) corev1.ResourceList {
	return podTotal(pod, func(c *corev1.Container) corev1.ResourceList { return c.Resources.Limits }, podLevel(pod, false), false)
}

func podLevel(pod *corev1.Pod, requests bool) corev1.ResourceList {
	if pod.Spec.Resources == nil {
		return nil
	}
	if requests {
		return pod.Spec.Resources.Requests
	}
	return pod.Spec.Resources.Limits
}

func podTotal(pod *corev1.Pod, of func(*corev1.Container) corev1.ResourceList, level corev1.ResourceList, allOverhead bool) corev1.ResourceList {
	total := corev1.ResourceList{}
	for i := range pod.Spec.Containers {
		total = Add(total, of(&pod.Spec.Containers[i]))
	}
	sidecars := corev1.ResourceList{}
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			sidecars = Add(sidecars, of(c))
			total = Add(total, of(c))
			continue
		}
		total = maxOf(total, Add(sidecars, of(c)))
	}
	for k, v := range pod.Spec.Overhead {
		if _, ok := total[k]; ok || allOverhead {
			q := total[k]
			q.Add(v)
			total[k] = q
		}
	}
	for _, k := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		if v, ok := level[k]; ok {
			total[k] = v.DeepCopy()
		}
	}
	return total
}

func maxOf(a, b corev1.ResourceList) corev1.ResourceList {
	out := corev1.ResourceList{}
	for k, v := range a {
		out[k] = v.DeepCopy()
	}
	for k, v := range b {
		if cur, ok := out[k]; !ok || v.Cmp(cur) > 0 {
			out[k] = v.DeepCopy()
		}
	}
	return out
}
