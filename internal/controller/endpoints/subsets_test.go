package endpoints

import (
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func svc(mutate ...func(*corev1.Service)) *corev1.Service {
	s := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns", Labels: map[string]string{"app": "web"},
			CreationTimestamp: metav1.NewTime(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "web"}, ClusterIP: "10.43.0.9", IPFamilies: []corev1.IPFamily{corev1.IPv4Protocol},
			Ports: []corev1.ServicePort{{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromString("http")}}},
	}
	for _, m := range mutate {
		m(s)
	}
	return s
}

func pod(name, ip string, ready bool, mutate ...func(*corev1.Pod)) *corev1.Pod {
	status := corev1.ConditionFalse
	if ready {
		status = corev1.ConditionTrue
	}
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", UID: types.UID("uid-" + name), Labels: map[string]string{"app": "web"}},
		Spec: corev1.PodSpec{NodeName: "node-1", Containers: []corev1.Container{{Name: "c",
			Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080, Protocol: corev1.ProtocolTCP}}}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: ip, PodIPs: []corev1.PodIP{{IP: ip}},
			Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: status}}},
	}
	for _, m := range mutate {
		m(p)
	}
	return p
}

// render prints subsets compactly: "[ready] [notready] ports" per subset.
func render(subsets []corev1.EndpointSubset) string {
	out := ""
	for _, s := range subsets {
		out += "{"
		for _, a := range s.Addresses {
			out += a.IP
			if a.Hostname != "" {
				out += "(" + a.Hostname + ")"
			}
			out += " "
		}
		out += "|"
		for _, a := range s.NotReadyAddresses {
			out += " " + a.IP
		}
		out += " |"
		for _, p := range s.Ports {
			out += fmt.Sprintf(" %s:%d", p.Name, p.Port)
		}
		out += "}"
	}
	return out
}

func TestDesiredSubsets(t *testing.T) {
	t.Parallel()
	now := metav1.Now()
	tests := []struct {
		name string
		svc  *corev1.Service
		pods []*corev1.Pod
		want string
	}{
		{name: "ready and not-ready pods share a subset with the resolved named port",
			svc: svc(), pods: []*corev1.Pod{pod("b", "10.42.0.2", true), pod("a", "10.42.0.1", true), pod("c", "10.42.0.3", false)},
			want: "{10.42.0.1 10.42.0.2 | 10.42.0.3 | http:8080}"},
		{name: "publishNotReadyAddresses makes every pod ready",
			svc: svc(func(s *corev1.Service) { s.Spec.PublishNotReadyAddresses = true }), pods: []*corev1.Pod{pod("c", "10.42.0.3", false)},
			want: "{10.42.0.3 | | http:8080}"},
		{name: "pods without an IP, finished or being deleted are left out",
			svc: svc(), pods: []*corev1.Pod{pod("noip", "", true), pod("done", "10.42.0.4", true, func(p *corev1.Pod) { p.Status.Phase = corev1.PodSucceeded }),
				pod("going", "10.42.0.5", true, func(p *corev1.Pod) { p.DeletionTimestamp = &now })},
			want: ""},
		{name: "a pod without the named port is left out",
			svc: svc(), pods: []*corev1.Pod{pod("a", "10.42.0.1", true, func(p *corev1.Pod) { p.Spec.Containers[0].Ports = nil })},
			want: ""},
		{name: "pods whose named port differs land in separate subsets",
			svc: svc(), pods: []*corev1.Pod{pod("a", "10.42.0.1", true), pod("b", "10.42.0.2", true, func(p *corev1.Pod) { p.Spec.Containers[0].Ports[0].ContainerPort = 9090 })},
			want: "{10.42.0.1 | | http:8080}{10.42.0.2 | | http:9090}"},
		{name: "a numeric targetPort is used as is",
			svc:  svc(func(s *corev1.Service) { s.Spec.Ports[0].TargetPort = intstr.FromInt32(7000) }),
			pods: []*corev1.Pod{pod("a", "10.42.0.1", true)}, want: "{10.42.0.1 | | http:7000}"},
		{name: "a headless service without ports lists addresses alone",
			svc:  svc(func(s *corev1.Service) { s.Spec.ClusterIP = corev1.ClusterIPNone; s.Spec.Ports = nil }),
			pods: []*corev1.Pod{pod("a", "10.42.0.1", true)}, want: "{10.42.0.1 | |}"},
		{name: "a service with a cluster IP and no ports has no endpoints",
			svc: svc(func(s *corev1.Service) { s.Spec.Ports = nil }), pods: []*corev1.Pod{pod("a", "10.42.0.1", true)}, want: ""},
		{name: "a pod naming the service as subdomain gets its hostname",
			svc: svc(), pods: []*corev1.Pod{pod("a", "10.42.0.1", true, func(p *corev1.Pod) { p.Spec.Hostname, p.Spec.Subdomain = "a-0", "web" }),
				pod("b", "10.42.0.2", true, func(p *corev1.Pod) { p.Spec.Hostname, p.Spec.Subdomain = "b-0", "other" })},
			want: "{10.42.0.1(a-0) 10.42.0.2 | | http:8080}"},
		{name: "an IPv6 service uses the pods' IPv6 addresses",
			svc: svc(func(s *corev1.Service) { s.Spec.IPFamilies = []corev1.IPFamily{corev1.IPv6Protocol} }),
			pods: []*corev1.Pod{pod("a", "10.42.0.1", true, func(p *corev1.Pod) { p.Status.PodIPs = append(p.Status.PodIPs, corev1.PodIP{IP: "fd00::1"}) }),
				pod("b", "10.42.0.2", true)},
			want: "{fd00::1 | | http:8080}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := render(desiredSubsets(tt.svc, tt.pods)); got != tt.want {
				t.Errorf("subsets\n got %s\nwant %s", got, tt.want)
			}
		})
	}
}

func addrs(prefix string, n int) []corev1.EndpointAddress {
	var out []corev1.EndpointAddress
	for i := 0; i < n; i++ {
		out = append(out, corev1.EndpointAddress{IP: fmt.Sprintf("%s.%d", prefix, i)})
	}
	return out
}

func TestTruncate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name                  string
		ready, notReady       []int // per subset
		wantReady, wantNotRdy []int
		truncated             bool
	}{
		{name: "under capacity nothing is cut", ready: []int{3}, notReady: []int{2}, wantReady: []int{3}, wantNotRdy: []int{2}},
		{name: "not-ready addresses go first", ready: []int{6, 2}, notReady: []int{4, 4}, wantReady: []int{6, 2}, wantNotRdy: []int{1, 1}, truncated: true},
		{name: "too many ready: ready addresses are cut in proportion and not-ready ones dropped",
			ready: []int{9, 3}, notReady: []int{1, 1}, wantReady: []int{8, 2}, wantNotRdy: []int{0, 0}, truncated: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var subsets []corev1.EndpointSubset
			for i := range tt.ready {
				subsets = append(subsets, corev1.EndpointSubset{Addresses: addrs("r", tt.ready[i]), NotReadyAddresses: addrs("n", tt.notReady[i])})
			}
			if got := truncate(subsets, 10); got != tt.truncated {
				t.Errorf("truncated = %v, want %v", got, tt.truncated)
			}
			for i, s := range subsets {
				if len(s.Addresses) != tt.wantReady[i] || len(s.NotReadyAddresses) != tt.wantNotRdy[i] {
					t.Errorf("subset %d: %d ready %d not ready, want %d and %d", i, len(s.Addresses), len(s.NotReadyAddresses), tt.wantReady[i], tt.wantNotRdy[i])
				}
			}
		})
	}
}

func TestBuild(t *testing.T) {
	t.Parallel()
	at := time.Date(2025, 1, 1, 0, 0, 0, 5, time.UTC)
	headless := svc(func(s *corev1.Service) { s.Spec.ClusterIP = corev1.ClusterIPNone })
	ep := build(headless, nil, nil, at)
	if ep.Labels["app"] != "web" || ep.Labels["service.kubernetes.io/headless"] != "" || len(ep.Labels) != 2 {
		t.Errorf("labels %v: want the service's plus the headless label", ep.Labels)
	}
	if got := ep.Annotations["endpoints.kubernetes.io/last-change-trigger-time"]; got != "2025-01-01T00:00:00.000000005Z" {
		t.Errorf("trigger time annotation %q", got)
	}
	ep.Annotations["keep"] = "me"
	ep.Annotations[OverCapacityAnnotation] = "truncated"
	again := build(svc(), ep, []corev1.EndpointSubset{{Addresses: addrs("r", 2)}}, time.Time{})
	if _, ok := again.Labels["service.kubernetes.io/headless"]; ok {
		t.Error("the headless label stayed after the service got a cluster IP")
	}
	if _, ok := again.Annotations[OverCapacityAnnotation]; ok || again.Annotations["keep"] != "me" {
		t.Errorf("annotations %v: want the over-capacity mark gone and others kept", again.Annotations)
	}
	if _, ok := again.Annotations["endpoints.kubernetes.io/last-change-trigger-time"]; ok {
		t.Error("a trigger time annotation without a change")
	}
}
