package integration

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	capstantesting "capstan/internal/testing"
)

// ndEndpointsSummary renders Endpoints as "ready=[ip...] notready=[ip...] ports=[name:port...]".
func ndEndpointsSummary(ep *corev1.Endpoints) string {
	var ready, notReady, ports []string
	for _, ss := range ep.Subsets {
		for _, a := range ss.Addresses {
			ready = append(ready, a.IP)
		}
		for _, a := range ss.NotReadyAddresses {
			notReady = append(notReady, a.IP)
		}
		for _, p := range ss.Ports {
			ports = append(ports, fmt.Sprintf("%s:%d", p.Name, p.Port))
		}
	}
	sort.Strings(ready)
	sort.Strings(notReady)
	return fmt.Sprintf("ready=%v notready=%v ports=%v", ready, notReady, ports)
}

// ndSlicesSummary renders a service's controller-managed slices as "ip:ready/serving/terminating ..." and ports.
func ndSlicesSummary(ctx context.Context, s *capstantesting.Server, ns, svc, manager string) (string, error) {
	list, err := s.Client.DiscoveryV1().EndpointSlices(ns).List(ctx, metav1.ListOptions{
		LabelSelector: discoveryv1.LabelServiceName + "=" + svc + "," + discoveryv1.LabelManagedBy + "=" + manager})
	if err != nil {
		return "", err
	}
	var eps, ports []string
	for _, sl := range list.Items {
		for _, e := range sl.Endpoints {
			b := func(p *bool) string {
				if p == nil {
					return "-"
				}
				return fmt.Sprint(*p)
			}
			eps = append(eps, fmt.Sprintf("%s:%s/%s/%s", e.Addresses[0], b(e.Conditions.Ready), b(e.Conditions.Serving), b(e.Conditions.Terminating)))
		}
		for _, p := range sl.Ports {
			ports = append(ports, fmt.Sprintf("%s:%d", *p.Name, *p.Port))
		}
	}
	sort.Strings(eps)
	return fmt.Sprintf("slices=%d endpoints=%v ports=%v", len(list.Items), eps, ports), nil
}

func TestIntegrationEndpointsAndSlices(t *testing.T) {
	s := start(t)
	ctx := t.Context()
	ndNode(t, s, "ep-node", map[string]string{corev1.LabelTopologyZone: "zone-a"})
	labels := map[string]string{"app": "web"}
	ndPod(t, s, "default", "web-1", "ep-node", "10.42.0.11", true, labels)
	ndPod(t, s, "default", "web-2", "ep-node", "10.42.0.12", true, labels)
	ndPod(t, s, "default", "web-3", "ep-node", "10.42.0.13", false, labels)
	ndPod(t, s, "default", "other", "ep-node", "10.42.0.14", true, map[string]string{"app": "other"})
	_, err := s.Client.CoreV1().Services("default").Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: corev1.ServiceSpec{Selector: labels, Ports: []corev1.ServicePort{
			{Name: "http", Port: 80, TargetPort: intstr.FromString("http")}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}

	wantEP := "ready=[10.42.0.11 10.42.0.12] notready=[10.42.0.13] ports=[http:8080]"
	wantSlices := "slices=1 endpoints=[10.42.0.11:true/true/false 10.42.0.12:true/true/false 10.42.0.13:false/false/false] ports=[http:8080]"
	ndEventually(t, 10*time.Second, func(ctx context.Context) error {
		ep, err := s.Client.CoreV1().Endpoints("default").Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if got := ndEndpointsSummary(ep); got != wantEP {
			return fmt.Errorf("endpoints %s, want %s", got, wantEP)
		}
		if ep.Annotations["endpoints.kubernetes.io/last-change-trigger-time"] == "" {
			return fmt.Errorf("endpoints lack the last-change-trigger-time annotation: %v", ep.Annotations)
		}
		got, err := ndSlicesSummary(ctx, s, "default", "web", "endpointslice-controller.k8s.io")
		if err != nil {
			return err
		}
		if got != wantSlices {
			return fmt.Errorf("endpoint slices %s, want %s", got, wantSlices)
		}
		return nil
	})
	list, _ := s.Client.DiscoveryV1().EndpointSlices("default").List(ctx, metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=web"})
	for _, sl := range list.Items {
		if !strings.HasPrefix(sl.Name, "web-") || len(sl.OwnerReferences) != 1 || sl.OwnerReferences[0].Name != "web" {
			t.Errorf("slice %s: owners %+v", sl.Name, sl.OwnerReferences)
		}
		for _, e := range sl.Endpoints {
			if e.Zone == nil || *e.Zone != "zone-a" || e.NodeName == nil || *e.NodeName != "ep-node" {
				t.Errorf("endpoint %v: zone %v node %v", e.Addresses, e.Zone, e.NodeName)
			}
		}
	}

	// The not-ready pod becomes ready; a ready pod is deleted (graceful: it is terminating).
	p3, err := s.Client.CoreV1().Pods("default").Get(ctx, "web-3", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ndSetPodStatus(t, s, p3, "10.42.0.13", true)
	if err := s.Client.CoreV1().Pods("default").Delete(ctx, "web-1", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	wantEP = "ready=[10.42.0.12 10.42.0.13] notready=[] ports=[http:8080]"
	wantSlices = "slices=1 endpoints=[10.42.0.11:false/true/true 10.42.0.12:true/true/false 10.42.0.13:true/true/false] ports=[http:8080]"
	ndEventually(t, 10*time.Second, func(ctx context.Context) error {
		ep, err := s.Client.CoreV1().Endpoints("default").Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if got := ndEndpointsSummary(ep); got != wantEP {
			return fmt.Errorf("endpoints %s, want %s", got, wantEP)
		}
		got, err := ndSlicesSummary(ctx, s, "default", "web", "endpointslice-controller.k8s.io")
		if err != nil {
			return err
		}
		if got != wantSlices {
			return fmt.Errorf("endpoint slices %s, want %s", got, wantSlices)
		}
		return nil
	})

	// A selectorless service with hand-made Endpoints is mirrored; the kubernetes
	// service's endpoints are not.
	if _, err := s.Client.CoreV1().Services("default").Create(ctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "external"},
		Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "db", Port: 5432}}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Client.CoreV1().Endpoints("default").Create(ctx, &corev1.Endpoints{ObjectMeta: metav1.ObjectMeta{Name: "external"},
		Subsets: []corev1.EndpointSubset{{Addresses: []corev1.EndpointAddress{{IP: "192.0.2.10"}},
			Ports: []corev1.EndpointPort{{Name: "db", Port: 5432, Protocol: corev1.ProtocolTCP}}}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	ndEventually(t, 10*time.Second, func(ctx context.Context) error {
		got, err := ndSlicesSummary(ctx, s, "default", "external", "endpointslicemirroring-controller.k8s.io")
		if err != nil {
			return err
		}
		if want := "slices=1 endpoints=[192.0.2.10:true/-/-] ports=[db:5432]"; got != want {
			return fmt.Errorf("mirrored slices %s, want %s", got, want)
		}
		return nil
	})
	all, err := s.Client.DiscoveryV1().EndpointSlices("default").List(ctx, metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=kubernetes"})
	if err != nil {
		t.Fatal(err)
	}
	if len(all.Items) != 1 || all.Items[0].Labels[discoveryv1.LabelManagedBy] != "capstan-apiserver" {
		t.Errorf("kubernetes service slices: %d, want only the API server's", len(all.Items))
	}
	kep, _ := s.Client.CoreV1().Endpoints("default").Get(ctx, "kubernetes", metav1.GetOptions{})
	if kep == nil || len(kep.Subsets) != 1 || kep.Subsets[0].Addresses[0].IP != "127.0.0.1" {
		t.Errorf("kubernetes endpoints changed: %+v", kep)
	}

	// Deleting the service removes its Endpoints.
	if err := s.Client.CoreV1().Services("default").Delete(ctx, "web", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	ndEventually(t, 10*time.Second, func(ctx context.Context) error {
		if _, err := s.Client.CoreV1().Endpoints("default").Get(ctx, "web", metav1.GetOptions{}); err == nil {
			return fmt.Errorf("endpoints of the deleted service remain")
		}
		got, err := ndSlicesSummary(ctx, s, "default", "web", "endpointslice-controller.k8s.io")
		if err != nil {
			return err
		}
		if !strings.HasPrefix(got, "slices=0") {
			return fmt.Errorf("slices of the deleted service remain: %s", got)
		}
		return nil
	})
}
