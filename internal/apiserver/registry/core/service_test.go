package core

import (
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

// testService is a valid ClusterIP service with one port, before defaulting.
func testService(mutate ...func(*corev1.Service)) *corev1.Service {
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default", CreationTimestamp: testCreated},
		Spec: corev1.ServiceSpec{
			Selector: map[string]string{"app": "web"},
			Ports:    []corev1.ServicePort{{Port: 80}},
		},
	}
	for _, m := range mutate {
		m(svc)
	}
	return svc
}

func TestServiceDefaults(t *testing.T) {
	t.Parallel()
	t.Run("an empty ClusterIP service gets upstream's defaults and an IPv4 single-stack family", func(t *testing.T) {
		t.Parallel()
		svc := testService()
		serviceStrategy{}.Default(svc)
		want := corev1.ServiceSpec{
			Selector:              map[string]string{"app": "web"},
			Ports:                 []corev1.ServicePort{{Port: 80, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromInt32(80)}},
			Type:                  corev1.ServiceTypeClusterIP,
			SessionAffinity:       corev1.ServiceAffinityNone,
			InternalTrafficPolicy: ptr.To(corev1.ServiceInternalTrafficPolicyCluster),
			IPFamilyPolicy:        ptr.To(corev1.IPFamilyPolicySingleStack),
			IPFamilies:            []corev1.IPFamily{corev1.IPv4Protocol},
		}
		if !apiequality.Semantic.DeepEqual(svc.Spec, want) {
			t.Errorf("spec = %+v, want %+v", svc.Spec, want)
		}
	})
	t.Run("a LoadBalancer service gets Cluster traffic policy and node port allocation", func(t *testing.T) {
		t.Parallel()
		svc := testService(func(s *corev1.Service) { s.Spec.Type = corev1.ServiceTypeLoadBalancer })
		svc.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: "192.0.2.1"}}
		serviceStrategy{}.Default(svc)
		if svc.Spec.ExternalTrafficPolicy != corev1.ServiceExternalTrafficPolicyCluster {
			t.Errorf("externalTrafficPolicy = %q", svc.Spec.ExternalTrafficPolicy)
		}
		if !ptr.Deref(svc.Spec.AllocateLoadBalancerNodePorts, false) {
			t.Error("allocateLoadBalancerNodePorts not defaulted to true")
		}
		if m := svc.Status.LoadBalancer.Ingress[0].IPMode; m == nil || *m != corev1.LoadBalancerIPModeVIP {
			t.Errorf("ingress ipMode = %v, want VIP", m)
		}
	})
	t.Run("ClientIP affinity gets a 10800 second timeout", func(t *testing.T) {
		t.Parallel()
		svc := testService(func(s *corev1.Service) { s.Spec.SessionAffinity = corev1.ServiceAffinityClientIP })
		serviceStrategy{}.Default(svc)
		if got := svc.Spec.SessionAffinityConfig.ClientIP.TimeoutSeconds; got == nil || *got != 10800 {
			t.Errorf("timeout = %v", got)
		}
	})
	t.Run("a named target port and an explicit protocol are kept", func(t *testing.T) {
		t.Parallel()
		svc := testService(func(s *corev1.Service) {
			s.Spec.Ports[0].TargetPort = intstr.FromString("http")
			s.Spec.Ports[0].Protocol = corev1.ProtocolUDP
		})
		serviceStrategy{}.Default(svc)
		if p := svc.Spec.Ports[0]; p.TargetPort != intstr.FromString("http") || p.Protocol != corev1.ProtocolUDP {
			t.Errorf("port = %+v", p)
		}
	})
	t.Run("a headless service without selector requires dual stack like upstream", func(t *testing.T) {
		t.Parallel()
		svc := testService(func(s *corev1.Service) { s.Spec.ClusterIP = "None"; s.Spec.Selector = nil })
		serviceStrategy{}.Default(svc)
		if p := svc.Spec.IPFamilyPolicy; p == nil || *p != corev1.IPFamilyPolicyRequireDualStack {
			t.Errorf("ipFamilyPolicy = %v", p)
		}
	})
	t.Run("a requested IPv6 cluster IP gets the IPv6 family", func(t *testing.T) {
		t.Parallel()
		svc := testService(func(s *corev1.Service) { s.Spec.ClusterIP = "fd00::10" })
		serviceStrategy{}.Default(svc)
		if !slices.Equal(svc.Spec.IPFamilies, []corev1.IPFamily{corev1.IPv6Protocol}) {
			t.Errorf("ipFamilies = %v", svc.Spec.IPFamilies)
		}
	})
	t.Run("an ExternalName service gets no IP family or internal traffic policy", func(t *testing.T) {
		t.Parallel()
		svc := testService(func(s *corev1.Service) {
			s.Spec.Type = corev1.ServiceTypeExternalName
			s.Spec.ExternalName = "example.com"
		})
		serviceStrategy{}.Default(svc)
		if svc.Spec.IPFamilyPolicy != nil || svc.Spec.IPFamilies != nil || svc.Spec.InternalTrafficPolicy != nil {
			t.Errorf("spec = %+v", svc.Spec)
		}
	})
}

func TestServiceValidation(t *testing.T) {
	t.Parallel()
	lb := func(s *corev1.Service) { s.Spec.Type = corev1.ServiceTypeLoadBalancer }
	tests := []struct {
		name   string
		mutate func(*corev1.Service)
		want   []string
	}{
		{"a plain ClusterIP service is valid", func(*corev1.Service) {}, nil},
		{"a headless service without ports is valid", func(s *corev1.Service) { s.Spec.ClusterIP = "None"; s.Spec.Ports = nil }, nil},
		{"a requested cluster IP is valid", func(s *corev1.Service) { s.Spec.ClusterIP = "10.43.0.20" }, nil},
		{"an ExternalName service with a fully qualified name is valid", func(s *corev1.Service) {
			s.Spec.Type = corev1.ServiceTypeExternalName
			s.Spec.ExternalName = "db.example.com."
		}, nil},
		{"a LoadBalancer with source ranges is valid", func(s *corev1.Service) {
			lb(s)
			s.Spec.LoadBalancerSourceRanges = []string{"10.0.0.0/8", " 192.168.0.0/16"}
		}, nil},
		{"a service without ports needs them", func(s *corev1.Service) { s.Spec.Ports = nil }, []string{"Required value spec.ports"}},
		{"an unknown type is not supported", func(s *corev1.Service) { s.Spec.Type = "Magic" }, []string{"Unsupported value spec.type"}},
		{"port 0 is invalid", func(s *corev1.Service) { s.Spec.Ports[0].Port = 0; s.Spec.Ports[0].TargetPort = intstr.FromInt32(80) },
			[]string{"Invalid value spec.ports[0].port"}},
		{"port 70000 is invalid", func(s *corev1.Service) { s.Spec.Ports[0].Port = 70000 },
			[]string{"Invalid value spec.ports[0].port", "Invalid value spec.ports[0].targetPort"}},
		{"several ports need names", func(s *corev1.Service) { s.Spec.Ports = append(s.Spec.Ports, corev1.ServicePort{Name: "b", Port: 81}) },
			[]string{"Required value spec.ports[0].name"}},
		{"port names must be unique DNS labels", func(s *corev1.Service) {
			s.Spec.Ports = []corev1.ServicePort{{Name: "Web", Port: 80}, {Name: "Web", Port: 81}}
		}, []string{"Duplicate value spec.ports[1].name", "Invalid value spec.ports[0].name", "Invalid value spec.ports[1].name"}},
		{"a port and protocol pair may not repeat", func(s *corev1.Service) {
			s.Spec.Ports = []corev1.ServicePort{{Name: "a", Port: 80}, {Name: "b", Port: 80}}
		}, []string{"Duplicate value spec.ports[1]"}},
		{"the same port over UDP and TCP is fine", func(s *corev1.Service) {
			s.Spec.Ports = []corev1.ServicePort{{Name: "a", Port: 53}, {Name: "b", Port: 53, Protocol: corev1.ProtocolUDP}}
		}, nil},
		{"an unknown protocol is not supported", func(s *corev1.Service) { s.Spec.Ports[0].Protocol = "ICMP" },
			[]string{"Unsupported value spec.ports[0].protocol"}},
		{"a ClusterIP service may not set a node port", func(s *corev1.Service) { s.Spec.Ports[0].NodePort = 30080 },
			[]string{"Forbidden spec.ports[0].nodePort"}},
		{"a cluster IP must be an IP", func(s *corev1.Service) { s.Spec.ClusterIP = "10.43.0.300" },
			[]string{"Invalid value spec.clusterIPs[0]"}},
		{"a NodePort service may not be headless", func(s *corev1.Service) { s.Spec.Type = corev1.ServiceTypeNodePort; s.Spec.ClusterIP = "None" },
			[]string{"Invalid value spec.clusterIPs[0]"}},
		{"an ExternalName service needs the name", func(s *corev1.Service) { s.Spec.Type = corev1.ServiceTypeExternalName },
			[]string{"Required value spec.externalName"}},
		{"an ExternalName must be a DNS name", func(s *corev1.Service) {
			s.Spec.Type = corev1.ServiceTypeExternalName
			s.Spec.ExternalName = "not_a_name"
		}, []string{"Invalid value spec.externalName"}},
		{"an ExternalName service may not have a cluster IP", func(s *corev1.Service) {
			s.Spec.Type = corev1.ServiceTypeExternalName
			s.Spec.ExternalName = "example.com"
			s.Spec.ClusterIP = "10.43.0.9"
		}, []string{"Forbidden spec.clusterIPs"}},
		{"selector labels must be valid", func(s *corev1.Service) { s.Spec.Selector = map[string]string{"app": "a b"} },
			[]string{"Invalid value spec.selector"}},
		{"an unknown session affinity is not supported", func(s *corev1.Service) { s.Spec.SessionAffinity = "Cookie" },
			[]string{"Unsupported value spec.sessionAffinity"}},
		{"a ClientIP timeout above a day is invalid", func(s *corev1.Service) {
			s.Spec.SessionAffinity = corev1.ServiceAffinityClientIP
			s.Spec.SessionAffinityConfig = &corev1.SessionAffinityConfig{ClientIP: &corev1.ClientIPConfig{TimeoutSeconds: ptr.To[int32](86401)}}
		}, []string{"Invalid value spec.sessionAffinityConfig.clientIP.timeoutSeconds"}},
		{"source ranges need a LoadBalancer", func(s *corev1.Service) { s.Spec.LoadBalancerSourceRanges = []string{"10.0.0.0/8"} },
			[]string{"Forbidden spec.LoadBalancerSourceRanges"}},
		{"source ranges must be CIDRs", func(s *corev1.Service) { lb(s); s.Spec.LoadBalancerSourceRanges = []string{"10.0.0.0"} },
			[]string{"Invalid value spec.LoadBalancerSourceRanges[0]"}},
		{"the source range annotation must hold CIDRs", func(s *corev1.Service) {
			lb(s)
			s.Annotations = map[string]string{corev1.AnnotationLoadBalancerSourceRangesKey: "10.0.0.0/8,nope"}
		}, []string{"Invalid value metadata.annotations[service.beta.kubernetes.io/load-balancer-source-ranges]"}},
		{"external IPs may not be loopback", func(s *corev1.Service) { s.Spec.ExternalIPs = []string{"127.0.0.1"} },
			[]string{"Invalid value spec.externalIPs[0]"}},
		{"externalTrafficPolicy needs an externally reachable service", func(s *corev1.Service) { s.Spec.ExternalTrafficPolicy = "Local" },
			[]string{"Invalid value spec.externalTrafficPolicy"}},
		{"a health check node port needs LoadBalancer and Local", func(s *corev1.Service) { s.Spec.HealthCheckNodePort = 31000 },
			[]string{"Invalid value spec.healthCheckNodePort"}},
		{"loadBalancerClass needs a LoadBalancer", func(s *corev1.Service) { s.Spec.LoadBalancerClass = ptr.To("example.com/lb") },
			[]string{"Forbidden spec.loadBalancerClass"}},
		{"an unknown traffic distribution is not supported", func(s *corev1.Service) { s.Spec.TrafficDistribution = ptr.To("Nearest") },
			[]string{"Unsupported value spec.trafficDistribution"}},
		{"cluster IPs must agree with clusterIP", func(s *corev1.Service) {
			s.Spec.ClusterIP = "10.43.0.20"
			s.Spec.ClusterIPs = []string{"10.43.0.21"}
		}, []string{"Invalid value spec.clusterIPs"}},
		{"two cluster IPs of one family are invalid", func(s *corev1.Service) {
			s.Spec.ClusterIP = "10.43.0.20"
			s.Spec.ClusterIPs = []string{"10.43.0.20", "10.43.0.21"}
			s.Spec.IPFamilyPolicy = ptr.To(corev1.IPFamilyPolicyPreferDualStack)
		}, []string{"Invalid value spec.clusterIPs"}},
		{"a family must match its cluster IP", func(s *corev1.Service) {
			s.Spec.ClusterIP = "10.43.0.20"
			s.Spec.IPFamilies = []corev1.IPFamily{corev1.IPv6Protocol}
		}, []string{"Invalid value spec.clusterIPs[0]"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			expectErrs(t, createErrs(t, serviceStrategy{}, testService(tt.mutate)), tt.want...)
		})
	}
}

// allocated returns a defaulted, created copy of svc with the cluster IP (and node ports
// for NodePort and LoadBalancer services) the allocator would have set.
func allocated(t *testing.T, svc *corev1.Service) *corev1.Service {
	t.Helper()
	if errs := createErrs(t, serviceStrategy{}, svc); len(errs) > 0 {
		t.Fatalf("create: %v", errs)
	}
	if ServiceNeedsClusterIP(svc) && svc.Spec.ClusterIP == "" {
		svc.Spec.ClusterIP, svc.Spec.ClusterIPs = "10.43.0.7", []string{"10.43.0.7"}
	}
	if ServiceNeedsNodePorts(svc) {
		for i := range svc.Spec.Ports {
			svc.Spec.Ports[i].NodePort = int32(30080 + i)
		}
	}
	return svc
}

func TestServiceUpdate(t *testing.T) {
	t.Parallel()
	nodePort := func(s *corev1.Service) { s.Spec.Type = corev1.ServiceTypeNodePort }
	tests := []struct {
		name   string
		old    func(*corev1.Service)
		mutate func(*corev1.Service)
		want   []string
	}{
		{"changing the selector is allowed", nil, func(s *corev1.Service) { s.Spec.Selector = map[string]string{"app": "api"} }, nil},
		{"changing the cluster IP is refused", nil, func(s *corev1.Service) {
			s.Spec.ClusterIP, s.Spec.ClusterIPs = "10.43.0.8", []string{"10.43.0.8"}
		}, []string{"Invalid value spec.clusterIPs[0]"}},
		{"changing only the singular cluster IP is refused", nil, func(s *corev1.Service) { s.Spec.ClusterIP = "10.43.0.8" },
			[]string{"Invalid value spec.clusterIPs[0]"}},
		{"an update that omits the cluster IP keeps it", nil, func(s *corev1.Service) { s.Spec.ClusterIP, s.Spec.ClusterIPs = "", nil }, nil},
		{"switching to ExternalName drops the cluster IP", nil, func(s *corev1.Service) {
			s.Spec.Type = corev1.ServiceTypeExternalName
			s.Spec.ExternalName = "example.com"
		}, nil},
		{"switching from NodePort to ClusterIP drops the node ports", nodePort, func(s *corev1.Service) {
			s.Spec.Type = corev1.ServiceTypeClusterIP
		}, nil},
		{"an update that omits node ports keeps them", nodePort, func(s *corev1.Service) { s.Spec.Ports[0].NodePort = 0 }, nil},
		{"a loadBalancerClass may not change", func(s *corev1.Service) {
			s.Spec.Type = corev1.ServiceTypeLoadBalancer
			s.Spec.LoadBalancerClass = ptr.To("example.com/a")
		}, func(s *corev1.Service) { s.Spec.LoadBalancerClass = ptr.To("example.com/b") },
			[]string{"Invalid value spec.loadBalancerClass"}},
		{"the health check node port may not change", func(s *corev1.Service) {
			s.Spec.Type = corev1.ServiceTypeLoadBalancer
			s.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyLocal
			s.Spec.HealthCheckNodePort = 31000
		}, func(s *corev1.Service) { s.Spec.HealthCheckNodePort = 31001 },
			[]string{"Forbidden spec.healthCheckNodePort"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			mutateOld := tt.old
			if mutateOld == nil {
				mutateOld = func(*corev1.Service) {}
			}
			old := allocated(t, testService(mutateOld))
			svc := old.DeepCopy()
			tt.mutate(svc)
			expectErrs(t, updateErrs(t, serviceStrategy{}, svc, old), tt.want...)
		})
	}
}

func TestServiceUpdateCarriesAllocatedValues(t *testing.T) {
	t.Parallel()
	t.Run("omitted cluster IPs and node ports come back from the stored object", func(t *testing.T) {
		t.Parallel()
		old := allocated(t, testService(func(s *corev1.Service) { s.Spec.Type = corev1.ServiceTypeNodePort }))
		svc := testService(func(s *corev1.Service) { s.Spec.Type = corev1.ServiceTypeNodePort })
		if errs := updateErrs(t, serviceStrategy{}, svc, old); len(errs) > 0 {
			t.Fatal(errs)
		}
		if svc.Spec.ClusterIP != "10.43.0.7" || !slices.Equal(svc.Spec.ClusterIPs, []string{"10.43.0.7"}) || svc.Spec.Ports[0].NodePort != 30080 {
			t.Errorf("spec = %+v", svc.Spec)
		}
	})
	t.Run("switching to ExternalName clears cluster IPs and families", func(t *testing.T) {
		t.Parallel()
		old := allocated(t, testService())
		svc := old.DeepCopy()
		svc.Spec.Type, svc.Spec.ExternalName = corev1.ServiceTypeExternalName, "example.com"
		if errs := updateErrs(t, serviceStrategy{}, svc, old); len(errs) > 0 {
			t.Fatal(errs)
		}
		if svc.Spec.ClusterIP != "" || svc.Spec.ClusterIPs != nil || svc.Spec.IPFamilies != nil || svc.Spec.IPFamilyPolicy != nil {
			t.Errorf("spec = %+v", svc.Spec)
		}
	})
}

func TestServiceStatusSplit(t *testing.T) {
	t.Parallel()
	ingress := corev1.LoadBalancerStatus{Ingress: []corev1.LoadBalancerIngress{{IP: "192.0.2.10"}}}
	t.Run("creating clears status", func(t *testing.T) {
		t.Parallel()
		svc := testService()
		svc.Status.LoadBalancer = ingress
		createErrs(t, serviceStrategy{}, svc)
		if len(svc.Status.LoadBalancer.Ingress) != 0 {
			t.Errorf("status = %+v", svc.Status)
		}
	})
	t.Run("a spec update keeps the stored status", func(t *testing.T) {
		t.Parallel()
		old := allocated(t, testService(func(s *corev1.Service) { s.Spec.Type = corev1.ServiceTypeLoadBalancer }))
		old.Status.LoadBalancer = ingress
		svc := old.DeepCopy()
		svc.Status = corev1.ServiceStatus{}
		updateErrs(t, serviceStrategy{}, svc, old)
		if len(svc.Status.LoadBalancer.Ingress) != 1 {
			t.Errorf("status = %+v", svc.Status)
		}
	})
	t.Run("a status update keeps the stored spec and gets the ingress ipMode", func(t *testing.T) {
		t.Parallel()
		old := allocated(t, testService(func(s *corev1.Service) { s.Spec.Type = corev1.ServiceTypeLoadBalancer }))
		svc := old.DeepCopy()
		svc.Spec.Selector = map[string]string{"app": "other"}
		svc.Status.LoadBalancer = ingress
		if errs := statusUpdateErrs(t, serviceStrategy{}, svc, old); len(errs) > 0 {
			t.Fatal(errs)
		}
		if svc.Spec.Selector["app"] != "web" {
			t.Errorf("selector = %v", svc.Spec.Selector)
		}
	})
	t.Run("a status update may not give a ClusterIP service ingress points", func(t *testing.T) {
		t.Parallel()
		old := allocated(t, testService())
		svc := old.DeepCopy()
		svc.Status.LoadBalancer = ingress
		expectErrs(t, statusUpdateErrs(t, serviceStrategy{}, svc, old), "Forbidden status.loadBalancer.ingress")
	})
	t.Run("ingress hostnames must not be IPs", func(t *testing.T) {
		t.Parallel()
		old := allocated(t, testService(func(s *corev1.Service) { s.Spec.Type = corev1.ServiceTypeLoadBalancer }))
		svc := old.DeepCopy()
		svc.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{Hostname: "192.0.2.1"}}
		expectErrs(t, statusUpdateErrs(t, serviceStrategy{}, svc, old), "Invalid value status.loadBalancer.ingress[0].hostname")
	})
}

func TestServiceTable(t *testing.T) {
	t.Parallel()
	table := servicesResource().Table
	wantCols := []string{"Name", "Type", "Cluster-IP", "External-IP", "Port(s)", "Age", "Selector (wide)"}
	if got := columnNames(table); !slices.Equal(got, wantCols) {
		t.Fatalf("columns = %v", got)
	}
	tests := []struct {
		name string
		svc  *corev1.Service
		want []any
	}{
		{"a ClusterIP service shows its IP and ports", allocated(t, testService()),
			[]any{"web", "ClusterIP", "10.43.0.7", "<none>", "80/TCP", "90m", "app=web"}},
		{"a NodePort service shows node ports", allocated(t, testService(func(s *corev1.Service) {
			s.Spec.Type = corev1.ServiceTypeNodePort
			s.Spec.Ports = []corev1.ServicePort{{Name: "http", Port: 80}, {Name: "https", Port: 443}}
		})), []any{"web", "NodePort", "10.43.0.7", "<none>", "80:30080/TCP,443:30081/TCP", "90m", "app=web"}},
		{"a LoadBalancer without ingress is pending", allocated(t, testService(func(s *corev1.Service) {
			s.Spec.Type = corev1.ServiceTypeLoadBalancer
			s.Spec.AllocateLoadBalancerNodePorts = ptr.To(false)
		})), []any{"web", "LoadBalancer", "10.43.0.7", "<pending>", "80/TCP", "90m", "app=web"}},
		{"a LoadBalancer shows sorted ingress then external IPs", func() *corev1.Service {
			s := allocated(t, testService(func(s *corev1.Service) {
				s.Spec.Type = corev1.ServiceTypeLoadBalancer
				s.Spec.ExternalIPs = []string{"198.51.100.1"}
			}))
			s.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: "192.0.2.9"}, {Hostname: "lb.example.com"}, {IP: "192.0.2.9"}}
			return s
		}(), []any{"web", "LoadBalancer", "10.43.0.7", "192.0.2.9,lb.example.com,198.51.100.1", "80:30080/TCP", "90m", "app=web"}},
		{"a headless service without selector shows None and <none>", allocated(t, testService(func(s *corev1.Service) {
			s.Spec.ClusterIP = "None"
			s.Spec.Selector = nil
			s.Spec.Ports = nil
		})), []any{"web", "ClusterIP", "None", "<none>", "<none>", "90m", "<none>"}},
		{"an ExternalName service shows the name", allocated(t, testService(func(s *corev1.Service) {
			s.Spec.Type = corev1.ServiceTypeExternalName
			s.Spec.ExternalName = "db.example.com"
		})), []any{"web", "ExternalName", "<none>", "db.example.com", "80/TCP", "90m", "app=web"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			expectRow(t, table, tt.svc, testNow, tt.want...)
		})
	}
}

func TestServiceFieldsAndHelpers(t *testing.T) {
	t.Parallel()
	t.Run("field selectors expose spec.clusterIP and spec.type", func(t *testing.T) {
		t.Parallel()
		svc := allocated(t, testService())
		got := servicesResource().Fields(svc)
		if len(got) != 2 || got["spec.clusterIP"] != "10.43.0.7" || got["spec.type"] != "ClusterIP" {
			t.Errorf("fields = %v", got)
		}
	})
	t.Run("service names are DNS-1035 labels", func(t *testing.T) {
		t.Parallel()
		validate := servicesResource().NameValidation
		if len(validate("web-1", false)) != 0 || len(validate("1web", false)) == 0 || len(validate("a.b", false)) == 0 {
			t.Error("name validation is not DNS-1035")
		}
	})
	tests := []struct {
		name                  string
		svc                   *corev1.Service
		clusterIP, nodePorts  bool
		healthCheck           bool
		wantNodePorts         []int32
		wantExternallyVisible bool
	}{
		{name: "ClusterIP", svc: testService(), clusterIP: true},
		{name: "headless", svc: testService(func(s *corev1.Service) { s.Spec.ClusterIP = "None" })},
		{name: "ExternalName", svc: testService(func(s *corev1.Service) { s.Spec.Type = corev1.ServiceTypeExternalName })},
		{name: "NodePort", svc: testService(func(s *corev1.Service) {
			s.Spec.Type = corev1.ServiceTypeNodePort
			s.Spec.Ports = []corev1.ServicePort{{Port: 80, NodePort: 30001}, {Port: 81, NodePort: 30001}, {Port: 82}}
		}), clusterIP: true, nodePorts: true, wantNodePorts: []int32{30001}, wantExternallyVisible: true},
		{name: "LoadBalancer without node ports", svc: testService(func(s *corev1.Service) {
			s.Spec.Type = corev1.ServiceTypeLoadBalancer
			s.Spec.AllocateLoadBalancerNodePorts = ptr.To(false)
			s.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyLocal
		}), clusterIP: true, healthCheck: true, wantExternallyVisible: true},
	}
	for _, tt := range tests {
		t.Run("the allocator helpers classify a "+tt.name+" service", func(t *testing.T) {
			t.Parallel()
			if got := ServiceNeedsClusterIP(tt.svc); got != tt.clusterIP {
				t.Errorf("ServiceNeedsClusterIP = %v", got)
			}
			if got := ServiceNeedsNodePorts(tt.svc); got != tt.nodePorts {
				t.Errorf("ServiceNeedsNodePorts = %v", got)
			}
			if got := ServiceNeedsHealthCheckNodePort(tt.svc); got != tt.healthCheck {
				t.Errorf("ServiceNeedsHealthCheckNodePort = %v", got)
			}
			if got := ServiceNodePorts(tt.svc); !slices.Equal(got, tt.wantNodePorts) {
				t.Errorf("ServiceNodePorts = %v", got)
			}
			if got := serviceExternallyAccessible(tt.svc); got != tt.wantExternallyVisible {
				t.Errorf("externally accessible = %v", got)
			}
		})
	}
}
