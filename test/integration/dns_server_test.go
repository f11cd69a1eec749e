package integration

import (
	"fmt"
	"net"
	"slices"
	"testing"
	"time"

	"github.com/miekg/dns"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"capstan/internal/server"
	capstantesting "capstan/internal/testing"
)

func TestIntegrationDNSPublishesKubeDNS(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	ip := nodeIP(t)
	// The DNS component of `capstan server` itself, on a free port of the node's address.
	s := capstantesting.StartServerWith(t, func(o *server.Options) {
		o.DisableControllerManager, o.DisableScheduler = true, true
		o.DNSListen, o.DNSMetricsListen = net.JoinHostPort(ip, "0"), net.JoinHostPort(ip, "0")
	})
	ctx, c := t.Context(), s.Client
	var slice *discoveryv1.EndpointSlice
	poll(t, 10*time.Second, "the kube-dns EndpointSlice", func() bool {
		l, err := c.DiscoveryV1().EndpointSlices("kube-system").List(ctx, metav1.ListOptions{
			LabelSelector: discoveryv1.LabelManagedBy + "=capstan-dns"})
		if err != nil || len(l.Items) != 1 {
			return false
		}
		slice = &l.Items[0]
		return true
	})
	svc, err := c.CoreV1().Services("kube-system").Get(ctx, "kube-dns", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if svc.Spec.ClusterIP != "10.43.0.10" || svc.Labels["k8s-app"] != "kube-dns" || len(svc.Spec.Ports) != 3 {
		t.Errorf("kube-dns Service: clusterIP %s labels %v ports %v", svc.Spec.ClusterIP, svc.Labels, svc.Spec.Ports)
	}
	if slice.Labels[discoveryv1.LabelServiceName] != "kube-dns" || slice.Endpoints[0].Addresses[0] != ip {
		t.Fatalf("slice %+v", slice)
	}
	var port int32
	for _, p := range slice.Ports {
		if *p.Name == "dns" {
			port = *p.Port
		}
	}
	addr := net.JoinHostPort(ip, fmt.Sprint(port))
	if r := ask(t, addr, "udp", "kube-dns.kube-system.svc.cluster.local.", dns.TypeA); !slices.Equal(rdata(r), []string{"A 10.43.0.10"}) {
		t.Errorf("the server's DNS answers %q for kube-dns", rdata(r))
	}
	poll(t, 5*time.Second, "the kube-dns Endpoints", func() bool {
		ep, err := c.CoreV1().Endpoints("kube-system").Get(ctx, "kube-dns", metav1.GetOptions{})
		return err == nil && len(ep.Subsets) == 1 && ep.Subsets[0].Addresses[0].IP == ip &&
			ep.Labels[discoveryv1.LabelSkipMirror] == "true"
	})

	// A deleted slice comes back.
	if err := c.DiscoveryV1().EndpointSlices("kube-system").Delete(ctx, slice.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	poll(t, 5*time.Second, "the slice to be recreated", func() bool {
		_, err := c.DiscoveryV1().EndpointSlices("kube-system").Get(ctx, slice.Name, metav1.GetOptions{})
		return err == nil
	})
}
