package endpoints

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"capstan/internal/controller/endpointutil"
)

// MaxCapacity is the most addresses one Endpoints object holds.
const MaxCapacity = 1000

// OverCapacityAnnotation marks an Endpoints object whose addresses were truncated.
const OverCapacityAnnotation = "endpoints.kubernetes.io/over-capacity"

// desiredSubsets computes the subsets of svc's endpoints from the pods its selector
// matches: one subset per distinct set of resolved ports, addresses sorted.
func desiredSubsets(svc *corev1.Service, pods []*corev1.Pod) []corev1.EndpointSubset {
	tolerateUnready := svc.Spec.PublishNotReadyAddresses
	headless := svc.Spec.ClusterIP == corev1.ClusterIPNone
	groups := map[string]*corev1.EndpointSubset{}
	for _, pod := range pods {
		if !endpointutil.ShouldPodBeInEndpoints(pod, tolerateUnready) {
			continue
		}
		ip := endpointutil.PodIP(pod, endpointutil.ServiceFamily(svc, pod.Status.PodIP))
		if ip == "" {
			continue
		}
		addr := corev1.EndpointAddress{IP: ip, Hostname: endpointutil.Hostname(pod, svc),
			TargetRef: &corev1.ObjectReference{Kind: "Pod", Namespace: pod.Namespace, Name: pod.Name, UID: pod.UID}}
		if pod.Spec.NodeName != "" {
			addr.NodeName = &pod.Spec.NodeName
		}
		ports := podPorts(svc, pod)
		if len(ports) == 0 && !(headless && len(svc.Spec.Ports) == 0) {
			continue
		}
		key := portsKey(ports)
		g := groups[key]
		if g == nil {
			g = &corev1.EndpointSubset{Ports: ports}
			groups[key] = g
		}
		if tolerateUnready || endpointutil.IsReady(pod) {
			g.Addresses = append(g.Addresses, addr)
		} else {
			g.NotReadyAddresses = append(g.NotReadyAddresses, addr)
		}
	}
	var out []corev1.EndpointSubset
	for _, key := range sortedKeys(groups) {
		g := groups[key]
		sortAddresses(g.Addresses)
		sortAddresses(g.NotReadyAddresses)
		out = append(out, *g)
	}
	return out
}

// podPorts resolves each service port on the pod; ports the pod lacks are left out.
func podPorts(svc *corev1.Service, pod *corev1.Pod) []corev1.EndpointPort {
	var out []corev1.EndpointPort
	for i := range svc.Spec.Ports {
		sp := &svc.Spec.Ports[i]
		port, err := endpointutil.FindPort(pod, sp)
		if err != nil {
			continue
		}
		out = append(out, corev1.EndpointPort{Name: sp.Name, Port: port, Protocol: sp.Protocol, AppProtocol: sp.AppProtocol})
	}
	return out
}

func portsKey(ports []corev1.EndpointPort) string {
	var b strings.Builder
	for _, p := range ports {
		fmt.Fprintf(&b, "%s/%d/%s/%v;", p.Name, p.Port, p.Protocol, p.AppProtocol)
	}
	return b.String()
}

func sortAddresses(a []corev1.EndpointAddress) {
	slices.SortFunc(a, func(x, y corev1.EndpointAddress) int {
		if c := cmp.Compare(x.IP, y.IP); c != 0 {
			return c
		}
		return cmp.Compare(x.TargetRef.UID, y.TargetRef.UID)
	})
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// truncate keeps at most max addresses, ready ones first, each subset keeping its share
// (rounded up, within what is left); it reports whether anything was cut.
func truncate(subsets []corev1.EndpointSubset, max int) bool {
	ready, notReady := 0, 0
	for _, s := range subsets {
		ready += len(s.Addresses)
		notReady += len(s.NotReadyAddresses)
	}
	if ready+notReady <= max {
		return false
	}
	cutReady := ready > max
	room, total := max-ready, notReady
	if cutReady {
		room, total = max, ready
	}
	left := room
	for i := range subsets {
		s := &subsets[i]
		list := &s.NotReadyAddresses
		if cutReady {
			list = &s.Addresses
			s.NotReadyAddresses = nil
		}
		share := int(math.Ceil(float64(len(*list)) / float64(total) * float64(room)))
		share = min(share, left, len(*list))
		*list = (*list)[:share]
		left -= share
	}
	return true
}
