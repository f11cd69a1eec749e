package endpointutil

import (
	"fmt"
	"net/netip"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"capstan/internal/controller/pods"
)

// Upstream's names for endpoint bookkeeping.
const (
	// LastChangeTriggerTimeAnnotation records when the change that caused the last write
	// happened (pod readiness, service creation), for latency measurement.
	LastChangeTriggerTimeAnnotation = "endpoints.kubernetes.io/last-change-trigger-time"
	// HeadlessLabel marks the endpoints of a headless service.
	HeadlessLabel = "service.kubernetes.io/headless"
)

// ShouldPodBeInEndpoints reports whether a pod may have an address: it has an IP, has not
// finished, and is not being deleted unless terminating pods are wanted.
func ShouldPodBeInEndpoints(pod *corev1.Pod, includeTerminating bool) bool {
	if pods.IsTerminal(pod) {
		return false
	}
	if pod.Status.PodIP == "" && len(pod.Status.PodIPs) == 0 {
		return false
	}
	return includeTerminating || pod.DeletionTimestamp == nil
}

// FindPort resolves a service port's targetPort on a pod: a number is itself, a name is
// the containerPort of that name and protocol.
func FindPort(pod *corev1.Pod, sp *corev1.ServicePort) (int32, error) {
	tp := sp.TargetPort
	switch tp.Type {
	case intstr.String:
		for _, c := range servingContainers(pod) {
			for _, p := range c.Ports {
				proto := p.Protocol
				if proto == "" {
					proto = corev1.ProtocolTCP
				}
				if p.Name == tp.StrVal && proto == sp.Protocol {
					return p.ContainerPort, nil
				}
			}
		}
		return 0, fmt.Errorf("no suitable port for manifest: %s", pod.UID)
	default:
		if tp.IntVal == 0 {
			return sp.Port, nil
		}
		return tp.IntVal, nil
	}
}

// ServiceFamily is the address family the endpoints of svc use: its first IP family, else
// its cluster IP's, else (headless without families) fallback's.
func ServiceFamily(svc *corev1.Service, fallback string) corev1.IPFamily {
	if len(svc.Spec.IPFamilies) > 0 {
		return svc.Spec.IPFamilies[0]
	}
	ip := svc.Spec.ClusterIP
	if ip == "" || ip == corev1.ClusterIPNone {
		ip = fallback
	}
	if a, err := netip.ParseAddr(ip); err == nil && a.Is6() && !a.Is4In6() {
		return corev1.IPv6Protocol
	}
	return corev1.IPv4Protocol
}

// PodIP is the pod's address of family; "" when it has none.
func PodIP(pod *corev1.Pod, family corev1.IPFamily) string {
	ips := []string{pod.Status.PodIP}
	for _, p := range pod.Status.PodIPs {
		ips = append(ips, p.IP)
	}
	for _, ip := range ips {
		a, err := netip.ParseAddr(ip)
		if err != nil {
			continue
		}
		if (a.Is4() || a.Is4In6()) == (family == corev1.IPv4Protocol) {
			return ip
		}
	}
	return ""
}

// Hostname is the pod's DNS hostname under svc: set only when the pod names svc as its
// subdomain.
func Hostname(pod *corev1.Pod, svc *corev1.Service) string {
	if pod.Spec.Hostname != "" && pod.Spec.Subdomain == svc.Name && pod.Namespace == svc.Namespace {
		return pod.Spec.Hostname
	}
	return ""
}

// IsReady re-exports the shared pod readiness test.
func IsReady(pod *corev1.Pod) bool { return pods.IsReady(pod) }

// servingContainers are the containers whose ports a service may target: the app
// containers and the sidecars (init containers that keep running).
func servingContainers(pod *corev1.Pod) []corev1.Container {
	out := pod.Spec.Containers
	for _, c := range pod.Spec.InitContainers {
		if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			out = append(out[:len(out):len(out)], c)
		}
	}
	return out
}
