package core

import (
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"capstan/internal/apiserver/registry"
)

// configAndServiceResources returns services, endpoints, configmaps, secrets,
// serviceaccounts, limitranges, resourcequotas, persistentvolumes and
// persistentvolumeclaims.
func configAndServiceResources() []registry.Resource {
	return []registry.Resource{
		servicesResource(),
		endpointsResource(),
		configMapsResource(),
		secretsResource(),
		serviceAccountsResource(),
		limitRangesResource(),
		resourceQuotasResource(),
		persistentVolumesResource(),
		persistentVolumeClaimsResource(),
	}
}

// coreGVK is the core/v1 kind named kind.
func coreGVK(kind string) schema.GroupVersionKind {
	return corev1.SchemeGroupVersion.WithKind(kind)
}

// The helpers below classify resource names (cpu, requests.storage, example.com/gpu, ...)
// and check quantities the way upstream does for quotas, limit ranges and volumes.

const (
	notIntegerMsg  = "must be an integer"
	notPositiveMsg = "must be greater than zero"
	hugePagesPfx   = "hugepages-"
)

// roundUpResourceList rounds every quantity of rl up to milli precision, the default
// upstream applies to every resource list it decodes.
func roundUpResourceList(rl corev1.ResourceList) {
	for name, q := range rl {
		q.RoundUp(resource.Milli)
		rl[name] = q
	}
}

// nativeResource reports whether name is unprefixed or in the kubernetes.io domain.
func nativeResource(name corev1.ResourceName) bool {
	return !strings.Contains(string(name), "/") || strings.Contains(string(name), "kubernetes.io/")
}

// hugePagesResource reports whether name is a hugepages-<size> resource.
func hugePagesResource(name corev1.ResourceName) bool {
	return strings.HasPrefix(string(name), hugePagesPfx)
}

// extendedResource reports whether name is a vendor (non kubernetes.io) resource that
// may also be quota'd as requests.<name>.
func extendedResource(name corev1.ResourceName) bool {
	if nativeResource(name) || strings.HasPrefix(string(name), "requests.") {
		return false
	}
	return len(validation.IsQualifiedName("requests."+string(name))) == 0
}

// overcommittable reports whether requests of name may be lower than its limit.
func overcommittable(name corev1.ResourceName) bool {
	return nativeResource(name) && !hugePagesResource(name)
}

var countedResourceNames = map[corev1.ResourceName]bool{
	corev1.ResourcePods:                   true,
	corev1.ResourceQuotas:                 true,
	corev1.ResourceServices:               true,
	corev1.ResourceReplicationControllers: true,
	corev1.ResourceSecrets:                true,
	corev1.ResourceConfigMaps:             true,
	corev1.ResourcePersistentVolumeClaims: true,
	corev1.ResourceServicesNodePorts:      true,
	corev1.ResourceServicesLoadBalancers:  true,
}

// countedResource reports whether quantities of name must be whole numbers.
func countedResource(name corev1.ResourceName) bool {
	return countedResourceNames[name] || extendedResource(name)
}

var knownResourceNames = map[corev1.ResourceName]bool{
	corev1.ResourceCPU:                      true,
	corev1.ResourceMemory:                   true,
	corev1.ResourceEphemeralStorage:         true,
	corev1.ResourceRequestsCPU:              true,
	corev1.ResourceRequestsMemory:           true,
	corev1.ResourceRequestsEphemeralStorage: true,
	corev1.ResourceLimitsCPU:                true,
	corev1.ResourceLimitsMemory:             true,
	corev1.ResourceLimitsEphemeralStorage:   true,
	corev1.ResourcePods:                     true,
	corev1.ResourceQuotas:                   true,
	corev1.ResourceServices:                 true,
	corev1.ResourceReplicationControllers:   true,
	corev1.ResourceSecrets:                  true,
	corev1.ResourceConfigMaps:               true,
	corev1.ResourcePersistentVolumeClaims:   true,
	corev1.ResourceStorage:                  true,
	corev1.ResourceRequestsStorage:          true,
	corev1.ResourceServicesNodePorts:        true,
	corev1.ResourceServicesLoadBalancers:    true,
}

// isQuotaHugePagesName reports whether name is hugepages-<size> or requests.hugepages-<size>.
func isQuotaHugePagesName(name corev1.ResourceName) bool {
	return hugePagesResource(name) || strings.HasPrefix(string(name), "requests."+hugePagesPfx)
}

// isStandardQuotaResourceName reports whether an unprefixed name may appear in a quota.
func isStandardQuotaResourceName(name corev1.ResourceName) bool {
	return (knownResourceNames[name] && name != corev1.ResourceStorage) || isQuotaHugePagesName(name)
}

// resourceNameErrs checks that name is a qualified name and, when unprefixed, a standard one.
func resourceNameErrs(name corev1.ResourceName, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range validation.IsQualifiedName(string(name)) {
		errs = append(errs, field.Invalid(path, name, msg))
	}
	if len(errs) != 0 {
		return errs
	}
	if !strings.Contains(string(name), "/") && !knownResourceNames[name] && !isQuotaHugePagesName(name) {
		errs = append(errs, field.Invalid(path, name, "must be a standard resource type or fully qualified"))
	}
	return errs
}

// containerResourceNameErrs checks a resource name usable by containers (cpu, memory,
// ephemeral-storage, hugepages-*, or an extended resource).
func containerResourceNameErrs(name corev1.ResourceName, path *field.Path) field.ErrorList {
	errs := resourceNameErrs(name, path)
	switch {
	case !strings.Contains(string(name), "/"):
		if name != corev1.ResourceCPU && name != corev1.ResourceMemory &&
			name != corev1.ResourceEphemeralStorage && !hugePagesResource(name) {
			errs = append(errs, field.Invalid(path, name, "must be a standard resource for containers"))
		}
	case !nativeResource(name) && !extendedResource(name):
		errs = append(errs, field.Invalid(path, name, "doesn't follow extended resource name standard"))
	}
	return errs
}

// quotaResourceNameErrs checks a resource name usable in a resource quota.
func quotaResourceNameErrs(name corev1.ResourceName, path *field.Path) field.ErrorList {
	errs := resourceNameErrs(name, path)
	if !strings.Contains(string(name), "/") && !isStandardQuotaResourceName(name) {
		errs = append(errs, field.Invalid(path, name, "must be a standard resource for quota"))
	}
	return errs
}

// nonNegativeQuantityErrs rejects a negative quantity.
func nonNegativeQuantityErrs(q resource.Quantity, path *field.Path) field.ErrorList {
	if q.Sign() < 0 {
		return field.ErrorList{field.Invalid(path, q.String(), apimachineryvalidation.IsNegativeErrorMsg)}
	}
	return nil
}

// positiveQuantityErrs rejects a quantity that is zero or negative.
func positiveQuantityErrs(q resource.Quantity, path *field.Path) field.ErrorList {
	if q.Sign() <= 0 {
		return field.ErrorList{field.Invalid(path, q.String(), notPositiveMsg)}
	}
	return nil
}

// quantityValueErrs checks that q is a valid amount of the resource name: not negative, and
// whole for countable resources.
func quantityValueErrs(name corev1.ResourceName, q resource.Quantity, path *field.Path) field.ErrorList {
	errs := nonNegativeQuantityErrs(q, path)
	if countedResource(name) && q.MilliValue()%1000 != 0 {
		errs = append(errs, field.Invalid(path, q, notIntegerMsg))
	}
	return errs
}

// basicQuantityErrs rejects a quantity whose integer value is negative.
func basicQuantityErrs(q resource.Quantity, path *field.Path) field.ErrorList {
	if q.Value() < 0 {
		return field.ErrorList{field.Invalid(path, q.Value(), "must be a valid resource quantity")}
	}
	return nil
}
