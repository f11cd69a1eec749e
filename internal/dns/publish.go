package dns

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"
)

const (
	// ServiceNamespace and ServiceName name the Service clients reach cluster DNS through.
	ServiceNamespace = "kube-system"
	ServiceName      = "kube-dns"
	// ManagedBy marks the EndpointSlices DNS servers write for that Service.
	ManagedBy = "capstan-dns"
	// DefaultServiceIP is the ClusterIP of kube-dns in the default service CIDR.
	DefaultServiceIP = "10.43.0.10"
	// metricsServicePort is the Service's port of /metrics, as upstream's kube-dns Service.
	metricsServicePort = 9153
)

// Publish says how a DNS server registers itself behind the kube-dns Service.
type Publish struct {
	// ServiceIP is the ClusterIP the Service is created with when it does not exist.
	// Default DefaultServiceIP.
	ServiceIP string
	// Address is the IP clients reach this server at (the node's). Required.
	Address net.IP
	// Name names this server's EndpointSlice, kube-dns-<name>. Default: the host name.
	Name string
	// NodeName, when set, is the endpoint's nodeName.
	NodeName string
}

// publisher keeps the kube-dns Service, this server's EndpointSlice and the Endpoints
// (the union of all DNS servers' slices) in place, and withdraws the slice on shutdown.
type publisher struct {
	client           kubernetes.Interface
	pub              Publish
	sliceName        string
	port, metricPort int32
	store            *IndexerStore
	log              *slog.Logger
	poke             chan struct{}
	// resync is how often the objects are checked without a change seen.
	resync time.Duration
}

func newPublisher(client kubernetes.Interface, pub Publish, port, metricsPort int32, store *IndexerStore, log *slog.Logger) *publisher {
	if pub.ServiceIP == "" {
		pub.ServiceIP = DefaultServiceIP
	}
	if pub.Name == "" {
		pub.Name, _ = os.Hostname()
	}
	return &publisher{
		client: client, pub: pub, sliceName: sliceName(pub.Name, pub.Address),
		port: port, metricPort: metricsPort, store: store, log: log,
		poke: make(chan struct{}, 1), resync: time.Minute,
	}
}

// watch pokes the publisher when the Service or a DNS slice changes.
func (p *publisher) watch(services, slices cache.SharedIndexInformer) {
	h := cache.FilteringResourceEventHandler{
		FilterFunc: func(obj any) bool {
			if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = t.Obj
			}
			m, err := metaOf(obj)
			return err == nil && m.GetNamespace() == ServiceNamespace &&
				(m.GetName() == ServiceName || m.GetLabels()[discoveryv1.LabelServiceName] == ServiceName)
		},
		Handler: cache.ResourceEventHandlerFuncs{
			AddFunc:    func(any) { p.kick() },
			UpdateFunc: func(any, any) { p.kick() },
			DeleteFunc: func(any) { p.kick() },
		},
	}
	_, _ = services.AddEventHandler(h)
	_, _ = slices.AddEventHandler(h)
}

func metaOf(obj any) (metav1.Object, error) {
	m, ok := obj.(metav1.Object)
	if !ok {
		return nil, fmt.Errorf("%T has no object meta", obj)
	}
	return m, nil
}

func (p *publisher) kick() {
	select {
	case p.poke <- struct{}{}:
	default:
	}
}

// run converges until ctx is done, retrying failures with backoff, then withdraws.
func (p *publisher) run(ctx context.Context) {
	backoff := time.Second
	for {
		wait := p.resync
		if err := p.sync(ctx); err != nil {
			if ctx.Err() != nil {
				break
			}
			p.log.Warn("publishing the kube-dns endpoint", "err", err, "retry", backoff)
			wait, backoff = backoff, min(2*backoff, 30*time.Second)
		} else {
			backoff = time.Second
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
		case <-p.poke:
		case <-t.C:
		}
		t.Stop()
		if ctx.Err() != nil {
			break
		}
	}
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := p.withdraw(wctx); err != nil {
		p.log.Warn("withdrawing the kube-dns endpoint", "err", err)
	}
}

// sync makes the Service, this server's slice and the Endpoints what they should be.
func (p *publisher) sync(ctx context.Context) error {
	if p.store.Service(ServiceNamespace, ServiceName) == nil {
		_, err := p.client.CoreV1().Services(ServiceNamespace).Create(ctx, desiredService(p.pub.ServiceIP), metav1.CreateOptions{})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("creating Service %s/%s: %w", ServiceNamespace, ServiceName, err)
		}
	}
	want := desiredSlice(p.sliceName, p.pub.Address, p.pub.NodeName, p.port, p.metricPort)
	sc := p.client.DiscoveryV1().EndpointSlices(ServiceNamespace)
	obj, ok, _ := p.store.SliceIndexer.GetByKey(ServiceNamespace + "/" + p.sliceName)
	switch {
	case !ok:
		if _, err := sc.Create(ctx, want, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("creating EndpointSlice %s: %w", p.sliceName, err)
		}
	default:
		cur := obj.(*discoveryv1.EndpointSlice)
		if cur.AddressType != want.AddressType {
			if err := sc.Delete(ctx, cur.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
				return err
			}
			if _, err := sc.Create(ctx, want, metav1.CreateOptions{}); err != nil {
				return err
			}
		} else if !sliceUpToDate(cur, want) {
			upd := cur.DeepCopy()
			upd.Labels, upd.Endpoints, upd.Ports = want.Labels, want.Endpoints, want.Ports
			if _, err := sc.Update(ctx, upd, metav1.UpdateOptions{}); err != nil {
				return fmt.Errorf("updating EndpointSlice %s: %w", p.sliceName, err)
			}
		}
	}
	return p.syncEndpoints(ctx, p.ownSlices(want))
}

// withdraw removes this server's slice and its address from the Endpoints.
func (p *publisher) withdraw(ctx context.Context) error {
	err := p.client.DiscoveryV1().EndpointSlices(ServiceNamespace).Delete(ctx, p.sliceName, metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	return p.syncEndpoints(ctx, p.ownSlices(nil))
}

// ownSlices lists the DNS servers' slices from the cache with this server's replaced by
// mine (nil: without it), since the cache may not have seen the last write yet.
func (p *publisher) ownSlices(mine *discoveryv1.EndpointSlice) []*discoveryv1.EndpointSlice {
	var out []*discoveryv1.EndpointSlice
	for _, s := range p.store.EndpointSlices(ServiceNamespace, ServiceName) {
		if s.Labels[discoveryv1.LabelManagedBy] == ManagedBy && s.Name != p.sliceName {
			out = append(out, s)
		}
	}
	if mine != nil {
		out = append(out, mine)
	}
	return out
}

func (p *publisher) syncEndpoints(ctx context.Context, slices []*discoveryv1.EndpointSlice) error {
	want := endpointsFor(slices)
	ec := p.client.CoreV1().Endpoints(ServiceNamespace)
	cur, err := ec.Get(ctx, ServiceName, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		if _, err := ec.Create(ctx, want, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("creating Endpoints %s: %w", ServiceName, err)
		}
		return nil
	case err != nil:
		return err
	}
	if equality.Semantic.DeepEqual(cur.Subsets, want.Subsets) && cur.Labels[discoveryv1.LabelSkipMirror] == "true" {
		return nil
	}
	upd := cur.DeepCopy()
	upd.Subsets = want.Subsets
	if upd.Labels == nil {
		upd.Labels = map[string]string{}
	}
	for k, v := range want.Labels {
		upd.Labels[k] = v
	}
	if _, err := ec.Update(ctx, upd, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("updating Endpoints %s: %w", ServiceName, err)
	}
	return nil
}

// desiredService is the kube-dns Service as created: selectorless (its endpoints are the
// DNS servers, written by them), with upstream's port names.
func desiredService(ip string) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{
			Name: ServiceName, Namespace: ServiceNamespace,
			Labels:      map[string]string{"k8s-app": "kube-dns", "kubernetes.io/cluster-service": "true", "kubernetes.io/name": "CapstanDNS"},
			Annotations: map[string]string{"prometheus.io/port": fmt.Sprint(metricsServicePort), "prometheus.io/scrape": "true"},
		},
		Spec: corev1.ServiceSpec{
			Type:      corev1.ServiceTypeClusterIP,
			ClusterIP: ip,
			Ports: []corev1.ServicePort{
				{Name: "dns", Protocol: corev1.ProtocolUDP, Port: 53, TargetPort: intstr.FromInt32(53)},
				{Name: "dns-tcp", Protocol: corev1.ProtocolTCP, Port: 53, TargetPort: intstr.FromInt32(53)},
				{Name: "metrics", Protocol: corev1.ProtocolTCP, Port: metricsServicePort, TargetPort: intstr.FromInt32(metricsServicePort)},
			},
		},
	}
}

// desiredSlice is one DNS server's EndpointSlice of kube-dns.
func desiredSlice(name string, addr net.IP, nodeName string, port, metricsPort int32) *discoveryv1.EndpointSlice {
	at := discoveryv1.AddressTypeIPv4
	if addr.To4() == nil {
		at = discoveryv1.AddressTypeIPv6
	}
	ep := discoveryv1.Endpoint{
		Addresses:  []string{addr.String()},
		Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true), Serving: ptr.To(true), Terminating: ptr.To(false)},
	}
	if nodeName != "" {
		ep.NodeName = ptr.To(nodeName)
	}
	ports := []discoveryv1.EndpointPort{
		{Name: ptr.To("dns"), Protocol: ptr.To(corev1.ProtocolUDP), Port: ptr.To(port)},
		{Name: ptr.To("dns-tcp"), Protocol: ptr.To(corev1.ProtocolTCP), Port: ptr.To(port)},
	}
	if metricsPort > 0 {
		ports = append(ports, discoveryv1.EndpointPort{Name: ptr.To("metrics"), Protocol: ptr.To(corev1.ProtocolTCP), Port: ptr.To(metricsPort)})
	}
	return &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: ServiceNamespace,
			Labels: map[string]string{
				discoveryv1.LabelServiceName: ServiceName,
				discoveryv1.LabelManagedBy:   ManagedBy,
				"k8s-app":                    "kube-dns",
			},
		},
		AddressType: at,
		Endpoints:   []discoveryv1.Endpoint{ep},
		Ports:       ports,
	}
}

func sliceUpToDate(cur, want *discoveryv1.EndpointSlice) bool {
	for k, v := range want.Labels {
		if cur.Labels[k] != v {
			return false
		}
	}
	return equality.Semantic.DeepEqual(cur.Endpoints, want.Endpoints) && equality.Semantic.DeepEqual(cur.Ports, want.Ports)
}

// endpointsFor is the kube-dns Endpoints: the ready addresses of the DNS servers' slices,
// one subset per distinct set of ports, labelled so the mirroring controller leaves it
// alone (the slices are already there).
func endpointsFor(sl []*discoveryv1.EndpointSlice) *corev1.Endpoints {
	type group struct {
		ports []corev1.EndpointPort
		addrs []string
	}
	var groups []*group
	for _, s := range sl {
		var ports []corev1.EndpointPort
		for _, p := range s.Ports {
			if p.Port == nil {
				continue
			}
			ports = append(ports, corev1.EndpointPort{Name: deref(p.Name), Port: *p.Port, Protocol: derefProto(p.Protocol)})
		}
		slices.SortFunc(ports, func(a, b corev1.EndpointPort) int { return strings.Compare(a.Name, b.Name) })
		i := slices.IndexFunc(groups, func(g *group) bool { return equality.Semantic.DeepEqual(g.ports, ports) })
		if i < 0 {
			groups = append(groups, &group{ports: ports})
			i = len(groups) - 1
		}
		for _, ep := range s.Endpoints {
			if ep.Conditions.Ready != nil && !*ep.Conditions.Ready {
				continue
			}
			groups[i].addrs = append(groups[i].addrs, ep.Addresses...)
		}
	}
	out := &corev1.Endpoints{ObjectMeta: metav1.ObjectMeta{
		Name: ServiceName, Namespace: ServiceNamespace,
		Labels: map[string]string{discoveryv1.LabelSkipMirror: "true", "k8s-app": "kube-dns"},
	}}
	for _, g := range groups {
		if len(g.addrs) == 0 {
			continue
		}
		addrs := sortedUnique(g.addrs)
		sub := corev1.EndpointSubset{Ports: g.ports}
		for _, a := range addrs {
			sub.Addresses = append(sub.Addresses, corev1.EndpointAddress{IP: a})
		}
		out.Subsets = append(out.Subsets, sub)
	}
	slices.SortFunc(out.Subsets, func(a, b corev1.EndpointSubset) int {
		return strings.Compare(a.Addresses[0].IP, b.Addresses[0].IP)
	})
	return out
}

// sliceName is kube-dns-<name> made a valid object name; the address stands in when the
// name cannot be made one.
func sliceName(name string, addr net.IP) string {
	var b strings.Builder
	for _, r := range strings.ToLower(name) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-', r == '.':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	n := strings.Trim(b.String(), "-.")
	out := ServiceName + "-" + n
	if n == "" || len(validation.IsDNS1123Subdomain(out)) > 0 {
		out = ServiceName + "-" + strings.NewReplacer(".", "-", ":", "-").Replace(addr.String())
	}
	return out
}
