package core

import (
	"math"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// This file holds the pod spec rules every kind with a pod template shares (pods, pod
// templates, replication controllers and the apps/batch workloads): defaulting, and the
// validation of the spec as a whole. Containers, volumes and scheduling constraints have
// their own files (podspec_containers.go, podspec_volumes.go, podspec_scheduling.go).

// DefaultPodSpec sets upstream's defaults on a pod spec, as for the spec inside a pod
// template. The defaults upstream applies to Pod objects only (requests from limits,
// enableServiceLinks, host ports under hostNetwork, resize policies) are in DefaultPod.
func DefaultPodSpec(spec *corev1.PodSpec) {
	if spec.DNSPolicy == "" {
		spec.DNSPolicy = corev1.DNSClusterFirst
	}
	if spec.RestartPolicy == "" {
		spec.RestartPolicy = corev1.RestartPolicyAlways
	}
	if spec.SecurityContext == nil {
		spec.SecurityContext = &corev1.PodSecurityContext{}
	}
	if spec.TerminationGracePeriodSeconds == nil {
		period := int64(corev1.DefaultTerminationGracePeriodSeconds)
		spec.TerminationGracePeriodSeconds = &period
	}
	if spec.SchedulerName == "" {
		spec.SchedulerName = corev1.DefaultSchedulerName
	}
	// serviceAccount is the deprecated alias of serviceAccountName; upstream's conversion
	// keeps them equal, preferring the new field.
	if spec.ServiceAccountName == "" {
		spec.ServiceAccountName = spec.DeprecatedServiceAccount
	}
	spec.DeprecatedServiceAccount = spec.ServiceAccountName

	for i := range spec.Containers {
		defaultContainer(&spec.Containers[i])
	}
	for i := range spec.InitContainers {
		defaultContainer(&spec.InitContainers[i])
	}
	for i := range spec.EphemeralContainers {
		defaultContainer((*corev1.Container)(&spec.EphemeralContainers[i].EphemeralContainerCommon))
	}
	for i := range spec.Volumes {
		defaultVolume(&spec.Volumes[i])
	}
	if spec.Resources != nil {
		roundUpResources(spec.Resources.Limits)
		roundUpResources(spec.Resources.Requests)
	}
	roundUpResources(spec.Overhead)
}

// DefaultPodTemplateSpec sets upstream's defaults on a pod template.
func DefaultPodTemplateSpec(t *corev1.PodTemplateSpec) {
	if t != nil {
		DefaultPodSpec(&t.Spec)
	}
}

// DefaultPod sets the defaults upstream applies to Pod objects on top of DefaultPodSpec.
func DefaultPod(pod *corev1.Pod) {
	DefaultPodSpec(&pod.Spec)
	for i := range pod.Spec.Containers {
		c := &pod.Spec.Containers[i]
		requestsFromLimits(&c.Resources)
		defaultResizePolicy(c)
	}
	for i := range pod.Spec.InitContainers {
		requestsFromLimits(&pod.Spec.InitContainers[i].Resources)
	}
	if pod.Spec.EnableServiceLinks == nil {
		enabled := corev1.DefaultEnableServiceLinks
		pod.Spec.EnableServiceLinks = &enabled
	}
	if pod.Spec.HostNetwork {
		hostPortsFromContainerPorts(pod.Spec.Containers)
		hostPortsFromContainerPorts(pod.Spec.InitContainers)
	}
	syncPodIPs(&pod.Status)
}

// requestsFromLimits copies each limit without a request into the requests.
func requestsFromLimits(r *corev1.ResourceRequirements) {
	if r.Limits == nil {
		return
	}
	if r.Requests == nil {
		r.Requests = corev1.ResourceList{}
	}
	for name, q := range r.Limits {
		if _, ok := r.Requests[name]; !ok {
			r.Requests[name] = q.DeepCopy()
		}
	}
}

// defaultResizePolicy gives cpu and memory requests an in-place resize policy of
// NotRequired unless one is set (InPlacePodVerticalScaling is on by default upstream).
func defaultResizePolicy(c *corev1.Container) {
	if c.Resources.Requests == nil {
		return
	}
	for _, name := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		if _, ok := c.Resources.Requests[name]; !ok {
			continue
		}
		found := false
		for _, p := range c.ResizePolicy {
			found = found || p.ResourceName == name
		}
		if !found {
			c.ResizePolicy = append(c.ResizePolicy, corev1.ContainerResizePolicy{
				ResourceName: name, RestartPolicy: corev1.NotRequired,
			})
		}
	}
}

func hostPortsFromContainerPorts(containers []corev1.Container) {
	for i := range containers {
		for j := range containers[i].Ports {
			if p := &containers[i].Ports[j]; p.HostPort == 0 {
				p.HostPort = p.ContainerPort
			}
		}
	}
}

// syncPodIPs keeps status.podIP and status.podIPs consistent the way upstream's
// conversion does: podIP wins when the two disagree.
func syncPodIPs(s *corev1.PodStatus) {
	switch {
	case s.PodIP != "" && len(s.PodIPs) == 0:
		s.PodIPs = []corev1.PodIP{{IP: s.PodIP}}
	case s.PodIP != "" && s.PodIPs[0].IP != s.PodIP:
		s.PodIPs = []corev1.PodIP{{IP: s.PodIP}}
	case s.PodIP == "" && len(s.PodIPs) > 0:
		s.PodIP = s.PodIPs[0].IP
	}
}

// roundUpResources rounds every quantity up to milli precision, as upstream does for
// every resource list it decodes.
func roundUpResources(list corev1.ResourceList) {
	for name, q := range list {
		q.RoundUp(-3)
		list[name] = q
	}
}

// ValidatePodSpec validates a pod spec at path, as embedded in a template. Pods add the
// pod-only checks in their own strategy.
func ValidatePodSpec(spec *corev1.PodSpec, path *field.Path) field.ErrorList {
	return validatePodSpec(spec, path, false)
}

// ValidatePodTemplateSpec validates a pod template (metadata labels/annotations and spec) at
// path, as embedded in workloads.
func ValidatePodTemplateSpec(t *corev1.PodTemplateSpec, path *field.Path) field.ErrorList {
	if t == nil {
		return field.ErrorList{field.Required(path, "")}
	}
	// Upstream reports template labels at <path>.labels, not <path>.metadata.labels.
	errs := metav1validation.ValidateLabels(t.Labels, path.Child("labels"))
	errs = append(errs, apimachineryvalidation.ValidateAnnotations(t.Annotations, path.Child("annotations"))...)
	errs = append(errs, ValidatePodSpec(&t.Spec, path.Child("spec"))...)
	if len(t.Spec.EphemeralContainers) > 0 {
		errs = append(errs, field.Forbidden(path.Child("spec", "ephemeralContainers"),
			"ephemeral containers not allowed in pod template"))
	}
	return errs
}

// validatePodSpec validates spec; forPod is true when the spec belongs to a Pod object
// rather than a template.
func validatePodSpec(spec *corev1.PodSpec, path *field.Path, forPod bool) field.ErrorList {
	var errs field.ErrorList
	if spec.TerminationGracePeriodSeconds == nil {
		errs = append(errs, field.Required(path.Child("terminationGracePeriodSeconds"), ""))
	}
	vols, volErrs := validateVolumes(spec.Volumes, path.Child("volumes"), forPod)
	errs = append(errs, volErrs...)
	errs = append(errs, validatePodResourceClaims(spec.ResourceClaims, path.Child("resourceClaims"))...)
	cc := containerContext{
		volumes:     vols,
		claimNames:  podClaimNames(spec.ResourceClaims),
		gracePeriod: spec.TerminationGracePeriodSeconds,
		restart:     spec.RestartPolicy,
		hostUsers:   hostUsers(spec),
	}
	errs = append(errs, validateContainers(spec.Containers, cc, path.Child("containers"))...)
	errs = append(errs, validateInitContainers(spec.InitContainers, spec.Containers, cc, path.Child("initContainers"))...)
	errs = append(errs, validateEphemeralContainers(spec, cc, path.Child("ephemeralContainers"))...)
	errs = append(errs, validateHostNetworkPorts(spec, path, forPod)...)
	errs = append(errs, validatePodPolicies(spec, path)...)
	errs = append(errs, validatePodNames(spec, path)...)
	errs = append(errs, validatePodScheduling(spec, path)...)
	errs = append(errs, validatePodSecurityContext(spec, path)...)
	errs = append(errs, validatePodLevelResources(spec.Resources, path.Child("resources"))...)
	if spec.Overhead != nil {
		for name, q := range spec.Overhead {
			p := path.Child("overhead").Key(string(name))
			errs = append(errs, validateContainerResourceName(name, p)...)
			errs = append(errs, resourceQuantityErrors(name, q, p)...)
		}
	}
	return errs
}

var (
	restartPolicies = []corev1.RestartPolicy{corev1.RestartPolicyAlways, corev1.RestartPolicyOnFailure, corev1.RestartPolicyNever}
	dnsPolicies     = []corev1.DNSPolicy{corev1.DNSClusterFirstWithHostNet, corev1.DNSClusterFirst, corev1.DNSDefault, corev1.DNSNone}
	preemptPolicies = []corev1.PreemptionPolicy{corev1.PreemptLowerPriority, corev1.PreemptNever}
	podOSNames      = []corev1.OSName{corev1.Linux, corev1.Windows}
)

// validatePodPolicies checks the enumerated policy fields of a pod spec.
func validatePodPolicies(spec *corev1.PodSpec, path *field.Path) field.ErrorList {
	errs := enumErrors(spec.RestartPolicy, restartPolicies, path.Child("restartPolicy"))
	errs = append(errs, enumErrors(spec.DNSPolicy, dnsPolicies, path.Child("dnsPolicy"))...)
	if spec.PreemptionPolicy != nil {
		errs = append(errs, enumErrors(*spec.PreemptionPolicy, preemptPolicies, path.Child("preemptionPolicy"))...)
	}
	if spec.ActiveDeadlineSeconds != nil {
		if v := *spec.ActiveDeadlineSeconds; v < 1 || v > math.MaxInt32 {
			errs = append(errs, field.Invalid(path.Child("activeDeadlineSeconds"), v,
				validation.InclusiveRangeError(1, math.MaxInt32)))
		}
	}
	if spec.OS != nil {
		osPath := path.Child("os")
		switch {
		case spec.OS.Name == "":
			errs = append(errs, field.Required(osPath.Child("name"), "cannot be empty"))
		case spec.OS.Name != corev1.Linux && spec.OS.Name != corev1.Windows:
			errs = append(errs, field.NotSupported(osPath, spec.OS.Name, podOSNames))
		case spec.OS.Name == corev1.Linux:
			errs = append(errs, forbidWindowsOptions(spec, path)...)
		}
	}
	return errs
}

// validatePodNames checks the fields of a pod spec that name other objects or hosts.
func validatePodNames(spec *corev1.PodSpec, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	named := []struct {
		value string
		path  *field.Path
	}{
		{spec.ServiceAccountName, path.Child("serviceAccountName")},
		{spec.NodeName, path.Child("nodeName")},
		{spec.PriorityClassName, path.Child("priorityClassName")},
	}
	for _, n := range named {
		if n.value != "" {
			errs = append(errs, nameErrors(apimachineryvalidation.NameIsDNSSubdomain, n.value, n.path)...)
		}
	}
	if spec.RuntimeClassName != nil {
		errs = append(errs, nameErrors(apimachineryvalidation.NameIsDNSSubdomain, *spec.RuntimeClassName, path.Child("runtimeClassName"))...)
	}
	if spec.Hostname != "" {
		errs = append(errs, dnsLabelErrors(spec.Hostname, path.Child("hostname"))...)
	}
	if spec.Subdomain != "" {
		errs = append(errs, dnsLabelErrors(spec.Subdomain, path.Child("subdomain"))...)
	}
	for i, ref := range spec.ImagePullSecrets {
		if ref != (corev1.LocalObjectReference{Name: ref.Name}) {
			errs = append(errs, field.Invalid(path.Child("imagePullSecrets").Index(i), ref, "only name may be set"))
		}
	}
	for i, alias := range spec.HostAliases {
		aliasPath := path.Child("hostAliases").Index(i)
		errs = append(errs, validation.IsValidIP(aliasPath.Child("ip"), alias.IP)...)
		for j, host := range alias.Hostnames {
			errs = append(errs, dnsSubdomainErrors(host, aliasPath.Child("hostnames").Index(j))...)
		}
	}
	return errs
}

// validateHostNetworkPorts requires hostPort to equal containerPort under hostNetwork.
// Templates may leave hostPort 0, since the pod created from them gets it defaulted.
func validateHostNetworkPorts(spec *corev1.PodSpec, path *field.Path, forPod bool) field.ErrorList {
	if !spec.HostNetwork {
		return nil
	}
	var errs field.ErrorList
	for i, c := range spec.Containers {
		for j, port := range c.Ports {
			if (forPod || port.HostPort != 0) && port.HostPort != port.ContainerPort {
				p := path.Child("containers").Index(i).Child("ports").Index(j).Child("hostPort")
				errs = append(errs, field.Invalid(p, port.HostPort, "must match `containerPort` when `hostNetwork` is true"))
			}
		}
	}
	return errs
}

// enumErrors reports an empty value as required and an unknown one as not supported.
func enumErrors[T ~string](value T, valid []T, path *field.Path) field.ErrorList {
	if value == "" {
		return field.ErrorList{field.Required(path, "")}
	}
	for _, v := range valid {
		if v == value {
			return nil
		}
	}
	return field.ErrorList{field.NotSupported(path, value, valid)}
}

// nameErrors turns the messages of a name validation function into Invalid errors.
func nameErrors(fn apimachineryvalidation.ValidateNameFunc, value string, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range fn(value, false) {
		errs = append(errs, field.Invalid(path, value, msg))
	}
	return errs
}

func dnsLabelErrors(value string, path *field.Path) field.ErrorList {
	return messagesToErrors(validation.IsDNS1123Label(value), value, path)
}

func dnsSubdomainErrors(value string, path *field.Path) field.ErrorList {
	return messagesToErrors(validation.IsDNS1123Subdomain(value), value, path)
}

func qualifiedNameErrors(value string, path *field.Path) field.ErrorList {
	return messagesToErrors(validation.IsQualifiedName(value), value, path)
}

func messagesToErrors(msgs []string, value any, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range msgs {
		errs = append(errs, field.Invalid(path, value, msg))
	}
	return errs
}

// hostUsers reports whether the pod shares the host's user namespace (the default).
func hostUsers(spec *corev1.PodSpec) bool {
	return spec.HostUsers == nil || *spec.HostUsers
}

// isRestartableInitContainer reports whether an init container is a sidecar.
func isRestartableInitContainer(c *corev1.Container) bool {
	return c != nil && c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways
}

// splitImageTag returns the tag of an image reference ("" when it has none) and whether
// it carries a digest.
func splitImageTag(image string) (tag string, digest bool) {
	if i := strings.Index(image, "@"); i >= 0 {
		image, digest = image[:i], true
	}
	slash := strings.LastIndex(image, "/")
	if colon := strings.LastIndex(image, ":"); colon > slash {
		tag = image[colon+1:]
	}
	return tag, digest
}
