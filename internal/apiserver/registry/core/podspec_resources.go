package core

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

const hugePagesPrefix = "hugepages-"

var (
	// containerResourceNames are the unprefixed resources a container may request.
	containerResourceNames = sets.New[corev1.ResourceName](corev1.ResourceCPU, corev1.ResourceMemory, corev1.ResourceEphemeralStorage)
	// standardResourceNames are all unprefixed resource names upstream knows.
	standardResourceNames = sets.New[corev1.ResourceName](
		corev1.ResourceCPU, corev1.ResourceMemory, corev1.ResourceEphemeralStorage, corev1.ResourceStorage,
		corev1.ResourceRequestsCPU, corev1.ResourceRequestsMemory, corev1.ResourceRequestsEphemeralStorage,
		corev1.ResourceLimitsCPU, corev1.ResourceLimitsMemory, corev1.ResourceLimitsEphemeralStorage,
		corev1.ResourceRequestsStorage, corev1.ResourcePods, corev1.ResourceServices,
		corev1.ResourceReplicationControllers, corev1.ResourceQuotas, corev1.ResourceSecrets,
		corev1.ResourceConfigMaps, corev1.ResourcePersistentVolumeClaims,
		corev1.ResourceServicesNodePorts, corev1.ResourceServicesLoadBalancers)
	qosResourceNames = sets.New[corev1.ResourceName](corev1.ResourceCPU, corev1.ResourceMemory)
)

func isHugePages(name corev1.ResourceName) bool {
	return strings.HasPrefix(string(name), hugePagesPrefix)
}

// isNativeResourceName reports whether a resource belongs to Kubernetes itself: no
// domain, or a kubernetes.io domain.
func isNativeResourceName(name corev1.ResourceName) bool {
	return !strings.Contains(string(name), "/") || strings.Contains(string(name), "kubernetes.io/")
}

func isExtendedResourceName(name corev1.ResourceName) bool {
	if isNativeResourceName(name) || strings.HasPrefix(string(name), corev1.DefaultResourceRequestsPrefix) {
		return false
	}
	return len(validation.IsQualifiedName(corev1.DefaultResourceRequestsPrefix+string(name))) == 0
}

// overcommitAllowed reports whether requests may be below limits for the resource.
func overcommitAllowed(name corev1.ResourceName) bool {
	return isNativeResourceName(name) && !isHugePages(name)
}

func validateContainerResourceName(name corev1.ResourceName, p *field.Path) field.ErrorList {
	errs := messagesToErrors(validation.IsQualifiedName(string(name)), name, p)
	if len(errs) > 0 {
		return errs
	}
	if !strings.Contains(string(name), "/") {
		if !standardResourceNames.Has(name) && !isHugePages(name) && !strings.HasPrefix(string(name), "requests."+hugePagesPrefix) {
			errs = append(errs, field.Invalid(p, name, "must be a standard resource type or fully qualified"))
		}
		if !containerResourceNames.Has(name) && !isHugePages(name) {
			errs = append(errs, field.Invalid(p, name, "must be a standard resource for containers"))
		}
	} else if !isNativeResourceName(name) && !isExtendedResourceName(name) {
		errs = append(errs, field.Invalid(p, name, "doesn't follow extended resource name standard"))
	}
	return errs
}

// resourceQuantityErrors checks a quantity is non-negative, and whole for extended
// resources.
func resourceQuantityErrors(name corev1.ResourceName, q resource.Quantity, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if q.Sign() < 0 {
		errs = append(errs, field.Invalid(p, q.String(), "must be greater than or equal to 0"))
	}
	if isExtendedResourceName(name) && q.MilliValue()%1000 != 0 {
		errs = append(errs, field.Invalid(p, q, "must be an integer"))
	}
	return errs
}

// validateContainerResources checks names and quantities, that requests do not exceed
// limits, and that resources which cannot be overcommitted have equal requests and limits.
func validateContainerResources(r *corev1.ResourceRequirements, claimNames sets.Set[string], p *field.Path) field.ErrorList {
	var errs field.ErrorList
	limPath, reqPath := p.Child("limits"), p.Child("requests")
	hasCPUOrMemory, hasHugePages := false, false
	for _, name := range sortedResourceNames(r.Limits) {
		q := r.Limits[name]
		errs = append(errs, validateContainerResourceName(name, limPath.Key(string(name)))...)
		errs = append(errs, resourceQuantityErrors(name, q, limPath.Key(string(name)))...)
		hasHugePages = hasHugePages || isHugePages(name)
		hasCPUOrMemory = hasCPUOrMemory || qosResourceNames.Has(name)
	}
	for _, name := range sortedResourceNames(r.Requests) {
		q := r.Requests[name]
		errs = append(errs, validateContainerResourceName(name, reqPath.Key(string(name)))...)
		errs = append(errs, resourceQuantityErrors(name, q, reqPath.Key(string(name)))...)
		errs = append(errs, requestWithinLimit(name, q, r.Limits, p)...)
		hasHugePages = hasHugePages || isHugePages(name)
		hasCPUOrMemory = hasCPUOrMemory || qosResourceNames.Has(name)
	}
	if hasHugePages && !hasCPUOrMemory {
		errs = append(errs, field.Forbidden(p, "HugePages require cpu or memory"))
	}
	return append(errs, validateResourceClaimRefs(r.Claims, claimNames, p.Child("claims"))...)
}

func requestWithinLimit(name corev1.ResourceName, q resource.Quantity, limits corev1.ResourceList, p *field.Path) field.ErrorList {
	limit, ok := limits[name]
	switch {
	case ok && q.Cmp(limit) != 0 && !overcommitAllowed(name):
		return field.ErrorList{field.Invalid(p.Child("requests"), q.String(),
			fmt.Sprintf("must be equal to %s limit of %s", name, limit.String()))}
	case ok && q.Cmp(limit) > 0:
		return field.ErrorList{field.Invalid(p.Child("requests"), q.String(),
			fmt.Sprintf("must be less than or equal to %s limit of %s", name, limit.String()))}
	case !ok && !overcommitAllowed(name):
		return field.ErrorList{field.Required(p.Child("limits"), "Limit must be set for non overcommitable resources")}
	}
	return nil
}

func validateResourceClaimRefs(claims []corev1.ResourceClaim, podClaims sets.Set[string], path *field.Path) field.ErrorList {
	var errs field.ErrorList
	seen := sets.New[string]()
	for i, c := range claims {
		p := path.Index(i)
		if c.Name == "" {
			errs = append(errs, field.Required(p.Child("name"), ""))
			continue
		}
		key := c.Name
		if c.Request != "" {
			key += "/" + c.Request
		}
		if seen.Has(key) {
			errs = append(errs, field.Duplicate(p, key))
		}
		seen.Insert(key)
		if !podClaims.Has(c.Name) {
			e := field.NotFound(p.Child("name"), c.Name)
			e.Detail = "must be one of the names in pod.spec.resourceClaims"
			if podClaims.Len() == 0 {
				e.Detail += " which is empty"
			} else {
				e.Detail += ": " + strings.Join(sets.List(podClaims), ", ")
			}
			errs = append(errs, e)
		}
	}
	return errs
}

func validatePodResourceClaims(claims []corev1.PodResourceClaim, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	names := sets.New[string]()
	for i, c := range claims {
		p := path.Index(i)
		switch {
		case c.Name == "":
			errs = append(errs, field.Required(p.Child("name"), ""))
		case names.Has(c.Name):
			errs = append(errs, field.Duplicate(p.Child("name"), c.Name))
		default:
			errs = append(errs, dnsLabelErrors(c.Name, p.Child("name"))...)
			names.Insert(c.Name)
		}
		if c.ResourceClaimName != nil && c.ResourceClaimTemplateName != nil {
			errs = append(errs, field.Invalid(p, c, "at most one of `resourceClaimName` or `resourceClaimTemplateName` may be specified"))
		}
		if c.ResourceClaimName == nil && c.ResourceClaimTemplateName == nil {
			errs = append(errs, field.Invalid(p, c, "must specify one of: `resourceClaimName`, `resourceClaimTemplateName`"))
		}
		if c.ResourceClaimName != nil {
			errs = append(errs, dnsSubdomainErrors(*c.ResourceClaimName, p.Child("resourceClaimName"))...)
		}
		if c.ResourceClaimTemplateName != nil {
			errs = append(errs, dnsSubdomainErrors(*c.ResourceClaimTemplateName, p.Child("resourceClaimTemplateName"))...)
		}
	}
	return errs
}

func podClaimNames(claims []corev1.PodResourceClaim) sets.Set[string] {
	names := sets.New[string]()
	for _, c := range claims {
		if c.Name != "" {
			names.Insert(c.Name)
		}
	}
	return names
}

// validatePodLevelResources checks spec.resources: only cpu, memory and hugepages, with
// requests within limits.
func validatePodLevelResources(r *corev1.ResourceRequirements, p *field.Path) field.ErrorList {
	if r == nil {
		return nil
	}
	var errs field.ErrorList
	if r.Claims != nil {
		errs = append(errs, field.Forbidden(p.Child("claims"), "claims cannot be set for Resources at pod-level"))
	}
	for _, list := range []struct {
		name string
		rl   corev1.ResourceList
	}{{"limits", r.Limits}, {"requests", r.Requests}} {
		for _, name := range sortedResourceNames(list.rl) {
			kp := p.Child(list.name).Key(string(name))
			if !qosResourceNames.Has(name) && !isHugePages(name) {
				errs = append(errs, field.NotSupported(kp, name, []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory}))
				continue
			}
			errs = append(errs, resourceQuantityErrors(name, list.rl[name], kp)...)
			if list.name == "requests" {
				errs = append(errs, requestWithinLimit(name, list.rl[name], r.Limits, p)...)
			}
		}
	}
	return errs
}

func sortedResourceNames(list corev1.ResourceList) []corev1.ResourceName {
	return sets.List(sets.KeySet(list))
}

// PodQOSClass computes a pod's quality of service class the way upstream does: from
// pod-level resources when set, otherwise from the cpu and memory requests and limits of
// all containers.
func PodQOSClass(pod *corev1.Pod) corev1.PodQOSClass {
	requests, limits := corev1.ResourceList{}, corev1.ResourceList{}
	guaranteed := true
	if r := pod.Spec.Resources; r != nil && len(r.Requests)+len(r.Limits) > 0 {
		addQOSQuantities(requests, r.Requests)
		limitNames := addQOSQuantities(limits, r.Limits)
		guaranteed = limitNames.HasAll(corev1.ResourceCPU, corev1.ResourceMemory)
	} else {
		all := append(append([]corev1.Container{}, pod.Spec.Containers...), pod.Spec.InitContainers...)
		for _, c := range all {
			addQOSQuantities(requests, c.Resources.Requests)
			limitNames := addQOSQuantities(limits, c.Resources.Limits)
			if !limitNames.HasAll(corev1.ResourceCPU, corev1.ResourceMemory) {
				guaranteed = false
			}
		}
	}
	if len(requests) == 0 && len(limits) == 0 {
		return corev1.PodQOSBestEffort
	}
	for name, req := range requests {
		if lim, ok := limits[name]; !ok || lim.Cmp(req) != 0 {
			guaranteed = false
		}
	}
	if guaranteed && len(requests) == len(limits) {
		return corev1.PodQOSGuaranteed
	}
	return corev1.PodQOSBurstable
}

// addQOSQuantities adds the positive cpu and memory quantities of list into sum and
// returns the names it added.
func addQOSQuantities(sum, list corev1.ResourceList) sets.Set[corev1.ResourceName] {
	found := sets.New[corev1.ResourceName]()
	for name, q := range list {
		if !qosResourceNames.Has(name) || q.Sign() <= 0 {
			continue
		}
		found.Insert(name)
		total := q.DeepCopy()
		if prev, ok := sum[name]; ok {
			total.Add(prev)
		}
		sum[name] = total
	}
	return found
}
