package endpointslice

import (
	"context"
	"log/slog"
	"maps"
	"net/netip"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	discoverylisters "k8s.io/client-go/listers/discovery/v1"
	"k8s.io/client-go/tools/cache"

	"capstan/internal/controller/base"
	"capstan/internal/controller/endpointutil"
)

// MirroringName is the mirroring controller's name in --controllers.
const MirroringName = "endpointslice-mirroring-controller"

// MaxEndpointsPerSubset is upstream's --mirroring-max-endpoints-per-subset default: the
// addresses of one subset mirrored at most.
const MaxEndpointsPerSubset = 1000

// lastAppliedAnnotation is kubectl's; it describes the Endpoints, not the slices.
const lastAppliedAnnotation = "kubectl.kubernetes.io/last-applied-configuration"

// Mirroring mirrors hand-made Endpoints into EndpointSlices.
type Mirroring struct {
	opts      Options
	services  corelisters.ServiceLister
	endpoints corelisters.EndpointsLister
	slices    discoverylisters.EndpointSliceLister
	writer    *writer
	loop      *base.Loop
}

// NewMirroring registers the informers; Run starts the controller. MaxEndpointsPerSlice
// in opts applies as for the endpointslice controller.
func NewMirroring(opts Options) (*Mirroring, error) {
	if opts.MaxEndpointsPerSlice <= 0 {
		opts.MaxEndpointsPerSlice = MaxEndpointsPerSlice
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	c := &Mirroring{opts: opts, writer: newWriter(opts.Client)}
	c.loop = base.New(base.Options{Name: MirroringName, Sync: c.sync, Workers: opts.Workers, Metrics: opts.Metrics, Logger: opts.Logger})
	f := opts.Informers
	svcInf, epInf, sliceInf := f.Core().V1().Services(), f.Core().V1().Endpoints(), f.Discovery().V1().EndpointSlices()
	c.services, c.endpoints, c.slices = svcInf.Lister(), epInf.Lister(), sliceInf.Lister()
	for _, inf := range []cache.SharedIndexInformer{svcInf.Informer(), epInf.Informer()} {
		if _, err := inf.AddEventHandler(c.loop.Handler()); err != nil {
			return nil, err
		}
	}
	if _, err := sliceInf.Informer().AddEventHandler(sliceHandler(MirroringManager, c.loop.EnqueueKey)); err != nil {
		return nil, err
	}
	c.loop.WaitFor(svcInf.Informer().HasSynced, epInf.Informer().HasSynced, sliceInf.Informer().HasSynced)
	return c, nil
}

// Run runs the controller until ctx is done.
func (c *Mirroring) Run(ctx context.Context) error { return c.loop.Run(ctx) }

func (c *Mirroring) sync(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	existing, err := c.slices.EndpointSlices(ns).List(managedBy(MirroringManager, name))
	if err != nil {
		return err
	}
	if !c.writer.fresh(key, existing) {
		return errStale
	}
	ep, err := c.endpoints.Endpoints(ns).Get(name)
	if err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	svc, serr := c.services.Services(ns).Get(name)
	if serr != nil && !apierrors.IsNotFound(serr) {
		return serr
	}
	if ep == nil || svc == nil || svc.Spec.Selector != nil || ep.Labels[discoveryv1.LabelSkipMirror] == "true" {
		return c.writer.apply(ctx, key, plan{delete: copies(existing)}, nil, sliceMeta{namespace: ns})
	}
	p := planSlices(existing, mirrorGroups(ep), c.opts.MaxEndpointsPerSlice, "")
	return c.writer.apply(ctx, key, p, existing, mirrorMeta(ep))
}

// mirrorMeta is the metadata of an Endpoints object's slices: its labels and annotations
// (less the reserved and kubectl's), the service name and manager, owned by the Endpoints.
func mirrorMeta(ep *corev1.Endpoints) sliceMeta {
	labels := maps.Clone(ep.Labels)
	if labels == nil {
		labels = map[string]string{}
	}
	labels[discoveryv1.LabelServiceName] = ep.Name
	labels[discoveryv1.LabelManagedBy] = MirroringManager
	annotations := maps.Clone(ep.Annotations)
	delete(annotations, lastAppliedAnnotation)
	delete(annotations, endpointutil.LastChangeTriggerTimeAnnotation)
	return sliceMeta{
		namespace: ep.Namespace, generateName: slicePrefix(ep.Name), labels: labels, annotations: annotations,
		owner: *metav1.NewControllerRef(ep, corev1.SchemeGroupVersion.WithKind("Endpoints")),
	}
}

// mirrorGroups converts the subsets of an Endpoints object: ready and not-ready
// addresses, at most MaxEndpointsPerSubset of each subset (ready ones first), grouped by
// address type and ports.
func mirrorGroups(ep *corev1.Endpoints) []group {
	groups := map[string]*group{}
	for _, ss := range ep.Subsets {
		var ports []discoveryv1.EndpointPort
		for _, p := range ss.Ports {
			name, port, proto := p.Name, p.Port, p.Protocol
			ports = append(ports, discoveryv1.EndpointPort{Name: &name, Port: &port, Protocol: &proto, AppProtocol: p.AppProtocol})
		}
		budget := MaxEndpointsPerSubset
		add := func(addrs []corev1.EndpointAddress, ready bool) {
			for _, a := range addrs {
				ip, err := netip.ParseAddr(a.IP)
				if err != nil || budget == 0 {
					continue
				}
				budget--
				at := discoveryv1.AddressTypeIPv4
				if ip.Is6() && !ip.Is4In6() {
					at = discoveryv1.AddressTypeIPv6
				}
				k := groupKey(at, ports)
				g := groups[k]
				if g == nil {
					g = &group{AddressType: at, Ports: ports}
					groups[k] = g
				}
				g.Endpoints = append(g.Endpoints, addressEndpoint(a, ready))
			}
		}
		add(ss.Addresses, true)
		add(ss.NotReadyAddresses, false)
	}
	var out []group
	for _, k := range sortedKeys(groups) {
		out = append(out, *groups[k])
	}
	return out
}

func addressEndpoint(a corev1.EndpointAddress, ready bool) discoveryv1.Endpoint {
	e := discoveryv1.Endpoint{Addresses: []string{a.IP}, Conditions: discoveryv1.EndpointConditions{Ready: &ready}, NodeName: a.NodeName}
	if a.Hostname != "" {
		h := a.Hostname
		e.Hostname = &h
	}
	if a.TargetRef != nil {
		e.TargetRef = a.TargetRef.DeepCopy()
	}
	return e
}
