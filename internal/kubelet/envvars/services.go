package envvars

import (
	"net"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// Var is one environment variable.
type Var struct{ Name, Value string }

// ServiceVars returns the variables of the services a pod sees: the "kubernetes" service
// of the default namespace always, and every service of the pod's namespace when
// enableServiceLinks is on. Headless services and services without a cluster IP give
// none. The result is sorted by name.
func ServiceVars(services []*corev1.Service, namespace string, enableServiceLinks bool) []Var {
	chosen := map[string]*corev1.Service{}
	for _, svc := range services {
		if !hasClusterIP(svc) {
			continue
		}
		if svc.Namespace == namespace && enableServiceLinks {
			chosen[svc.Name] = svc
		}
	}
	for _, svc := range services {
		if svc.Namespace == metav1NamespaceDefault && svc.Name == "kubernetes" && hasClusterIP(svc) {
			if _, taken := chosen[svc.Name]; !taken {
				chosen[svc.Name] = svc
			}
		}
	}
	var out []Var
	for _, svc := range chosen {
		out = append(out, serviceVars(svc)...)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

const metav1NamespaceDefault = "default"

func hasClusterIP(svc *corev1.Service) bool {
	return svc.Spec.ClusterIP != "" && svc.Spec.ClusterIP != corev1.ClusterIPNone
}

func serviceVars(svc *corev1.Service) []Var {
	name := envName(svc.Name)
	ip := svc.Spec.ClusterIP
	out := []Var{{name + "_SERVICE_HOST", ip}}
	if len(svc.Spec.Ports) == 0 {
		return out
	}
	first := svc.Spec.Ports[0]
	out = append(out, Var{name + "_SERVICE_PORT", strconv.Itoa(int(first.Port))})
	for _, p := range svc.Spec.Ports {
		if p.Name != "" {
			out = append(out, Var{name + "_SERVICE_PORT_" + envName(p.Name), strconv.Itoa(int(p.Port))})
		}
	}
	// Docker links.
	out = append(out, Var{name + "_PORT", linkURL(first, ip)})
	for _, p := range svc.Spec.Ports {
		proto := string(p.Protocol)
		if proto == "" {
			proto = string(corev1.ProtocolTCP)
		}
		prefix := name + "_PORT_" + strconv.Itoa(int(p.Port)) + "_" + strings.ToUpper(proto)
		out = append(out,
			Var{prefix, linkURL(p, ip)},
			Var{prefix + "_PROTO", strings.ToLower(proto)},
			Var{prefix + "_PORT", strconv.Itoa(int(p.Port))},
			Var{prefix + "_ADDR", ip},
		)
	}
	return out
}

func linkURL(p corev1.ServicePort, ip string) string {
	proto := strings.ToLower(string(p.Protocol))
	if proto == "" {
		proto = "tcp"
	}
	return proto + "://" + net.JoinHostPort(ip, strconv.Itoa(int(p.Port)))
}

func envName(s string) string {
	return strings.ToUpper(strings.ReplaceAll(s, "-", "_"))
}
