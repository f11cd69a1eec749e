package endpointutil

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

func TestFindPort(t *testing.T) {
	t.Parallel()
	pod := &corev1.Pod{Spec: corev1.PodSpec{
		Containers: []corev1.Container{{Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}, {Name: "dns", ContainerPort: 53, Protocol: corev1.ProtocolUDP}}}},
		InitContainers: []corev1.Container{
			{Ports: []corev1.ContainerPort{{Name: "setup", ContainerPort: 1}}},
			{RestartPolicy: ptr.To(corev1.ContainerRestartPolicyAlways), Ports: []corev1.ContainerPort{{Name: "proxy", ContainerPort: 15001}}},
		},
	}}
	tests := []struct {
		name   string
		port   corev1.ServicePort
		want   int32
		errors bool
	}{
		{name: "a number is itself", port: corev1.ServicePort{Port: 80, TargetPort: intstr.FromInt32(9000), Protocol: corev1.ProtocolTCP}, want: 9000},
		{name: "no targetPort is the port", port: corev1.ServicePort{Port: 80, Protocol: corev1.ProtocolTCP}, want: 80},
		{name: "a name resolves to the container port", port: corev1.ServicePort{TargetPort: intstr.FromString("http"), Protocol: corev1.ProtocolTCP}, want: 8080},
		{name: "the protocol must match", port: corev1.ServicePort{TargetPort: intstr.FromString("dns"), Protocol: corev1.ProtocolTCP}, errors: true},
		{name: "sidecar ports count", port: corev1.ServicePort{TargetPort: intstr.FromString("proxy"), Protocol: corev1.ProtocolTCP}, want: 15001},
		{name: "plain init container ports do not", port: corev1.ServicePort{TargetPort: intstr.FromString("setup"), Protocol: corev1.ProtocolTCP}, errors: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := FindPort(pod, &tt.port)
			if (err != nil) != tt.errors || got != tt.want {
				t.Errorf("FindPort = %d, %v; want %d, error %v", got, err, tt.want, tt.errors)
			}
		})
	}
}

func TestShouldPodBeInEndpoints(t *testing.T) {
	t.Parallel()
	now := metav1.Now()
	running := corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "10.0.0.1"}
	tests := []struct {
		name        string
		pod         corev1.Pod
		terminating bool
		want        bool
	}{
		{name: "a running pod with an IP", pod: corev1.Pod{Status: running}, want: true},
		{name: "no IP yet", pod: corev1.Pod{Status: corev1.PodStatus{Phase: corev1.PodPending}}},
		{name: "finished", pod: corev1.Pod{Status: corev1.PodStatus{Phase: corev1.PodFailed, PodIP: "10.0.0.1"}}},
		{name: "being deleted", pod: corev1.Pod{ObjectMeta: metav1.ObjectMeta{DeletionTimestamp: &now}, Status: running}},
		{name: "being deleted, terminating wanted", pod: corev1.Pod{ObjectMeta: metav1.ObjectMeta{DeletionTimestamp: &now}, Status: running}, terminating: true, want: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ShouldPodBeInEndpoints(&tt.pod, tt.terminating); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestServiceFamilyAndPodIP(t *testing.T) {
	t.Parallel()
	pod := &corev1.Pod{Status: corev1.PodStatus{PodIP: "10.0.0.1", PodIPs: []corev1.PodIP{{IP: "10.0.0.1"}, {IP: "fd00::1"}}}}
	v6 := &corev1.Service{Spec: corev1.ServiceSpec{ClusterIP: "fd00:43::10"}}
	headless := &corev1.Service{Spec: corev1.ServiceSpec{ClusterIP: corev1.ClusterIPNone}}
	if f := ServiceFamily(v6, ""); f != corev1.IPv6Protocol || PodIP(pod, f) != "fd00::1" {
		t.Errorf("IPv6 service: family %s, pod IP %s", f, PodIP(pod, f))
	}
	if f := ServiceFamily(headless, "10.0.0.1"); f != corev1.IPv4Protocol || PodIP(pod, f) != "10.0.0.1" {
		t.Errorf("headless service: family %s", f)
	}
	if ip := PodIP(&corev1.Pod{Status: corev1.PodStatus{PodIP: "10.0.0.1"}}, corev1.IPv6Protocol); ip != "" {
		t.Errorf("an IPv4-only pod has IPv6 address %q", ip)
	}
}

func TestTriggerTimes(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{CreationTimestamp: metav1.NewTime(t0)}}
	pod := func(name string, readyAt time.Time) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, CreationTimestamp: metav1.NewTime(t0)},
			Status: corev1.PodStatus{Conditions: []corev1.PodCondition{{Type: corev1.PodReady, LastTransitionTime: metav1.NewTime(readyAt)}}}}
	}
	tr := NewTriggerTimes()
	if got := tr.Compute("ns/s", svc, []*corev1.Pod{pod("a", t0.Add(time.Minute))}); !got.Equal(t0) {
		t.Errorf("first sync: %v, want the service's creation", got)
	}
	if got := tr.Compute("ns/s", svc, []*corev1.Pod{pod("a", t0.Add(time.Minute))}); !got.IsZero() {
		t.Errorf("nothing changed: %v, want zero", got)
	}
	got := tr.Compute("ns/s", svc, []*corev1.Pod{pod("a", t0.Add(3*time.Minute)), pod("b", t0.Add(2*time.Minute))})
	if !got.Equal(t0.Add(2 * time.Minute)) {
		t.Errorf("two pods changed: %v, want the earlier change", got)
	}
}
