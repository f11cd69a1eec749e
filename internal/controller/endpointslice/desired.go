package endpointslice

import (
	"maps"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"

	"capstan/internal/controller/endpointutil"
)

// MaxEndpointsPerSlice is upstream's default --max-endpoints-per-slice.
const MaxEndpointsPerSlice = 100

// Managers, as in the endpointslice.kubernetes.io/managed-by label.
const (
	ControllerManager = "endpointslice-controller.k8s.io"
	MirroringManager  = "endpointslicemirroring-controller.k8s.io"
)

// serviceFamilies are the address families a service's slices cover.
func serviceFamilies(svc *corev1.Service) []corev1.IPFamily {
	if len(svc.Spec.IPFamilies) > 0 {
		return svc.Spec.IPFamilies
	}
	return []corev1.IPFamily{endpointutil.ServiceFamily(svc, "")}
}

func addressType(f corev1.IPFamily) discoveryv1.AddressType {
	if f == corev1.IPv6Protocol {
		return discoveryv1.AddressTypeIPv6
	}
	return discoveryv1.AddressTypeIPv4
}

// desiredGroups computes the endpoints of svc from its pods, grouped by address type and
// resolved ports. Terminating pods are included with their conditions; zoneOf gives the
// zone of a node ("" when unknown).
func desiredGroups(svc *corev1.Service, pods []*corev1.Pod, zoneOf func(node string) string) []group {
	groups := map[string]*group{}
	for _, family := range serviceFamilies(svc) {
		at := addressType(family)
		for _, pod := range pods {
			if !endpointutil.ShouldPodBeInEndpoints(pod, true) {
				continue
			}
			ip := endpointutil.PodIP(pod, family)
			if ip == "" {
				continue
			}
			ports := podPorts(svc, pod)
			k := groupKey(at, ports)
			g := groups[k]
			if g == nil {
				g = &group{AddressType: at, Ports: ports}
				groups[k] = g
			}
			g.Endpoints = append(g.Endpoints, podEndpoint(svc, pod, ip, zoneOf))
		}
	}
	var out []group
	for _, k := range sortedKeys(groups) {
		out = append(out, *groups[k])
	}
	return out
}

func podEndpoint(svc *corev1.Service, pod *corev1.Pod, ip string, zoneOf func(string) string) discoveryv1.Endpoint {
	serving := endpointutil.IsReady(pod)
	terminating := pod.DeletionTimestamp != nil
	ready := svc.Spec.PublishNotReadyAddresses || (serving && !terminating)
	ep := discoveryv1.Endpoint{
		Addresses:  []string{ip},
		Conditions: discoveryv1.EndpointConditions{Ready: &ready, Serving: &serving, Terminating: &terminating},
		TargetRef:  &corev1.ObjectReference{Kind: "Pod", Namespace: pod.Namespace, Name: pod.Name, UID: pod.UID},
	}
	if h := endpointutil.Hostname(pod, svc); h != "" {
		ep.Hostname = &h
	}
	if node := pod.Spec.NodeName; node != "" {
		ep.NodeName = &node
		if z := zoneOf(node); z != "" {
			ep.Zone = &z
		}
	}
	return ep
}

// podPorts resolves the service's ports on the pod; ports the pod lacks are left out.
func podPorts(svc *corev1.Service, pod *corev1.Pod) []discoveryv1.EndpointPort {
	var out []discoveryv1.EndpointPort
	for i := range svc.Spec.Ports {
		sp := &svc.Spec.Ports[i]
		port, err := endpointutil.FindPort(pod, sp)
		if err != nil {
			continue
		}
		name, proto := sp.Name, sp.Protocol
		out = append(out, discoveryv1.EndpointPort{Name: &name, Port: &port, Protocol: &proto, AppProtocol: sp.AppProtocol})
	}
	return out
}

// serviceSliceLabels are the labels of the controller's slices of svc: the service's own
// (minus the reserved ones), the service name, the manager and the headless mark.
func serviceSliceLabels(svc *corev1.Service) map[string]string {
	out := maps.Clone(svc.Labels)
	if out == nil {
		out = map[string]string{}
	}
	delete(out, discoveryv1.LabelServiceName)
	delete(out, discoveryv1.LabelManagedBy)
	delete(out, endpointutil.HeadlessLabel)
	if svc.Spec.ClusterIP == corev1.ClusterIPNone {
		out[endpointutil.HeadlessLabel] = ""
	}
	out[discoveryv1.LabelServiceName] = svc.Name
	out[discoveryv1.LabelManagedBy] = ControllerManager
	return out
}
