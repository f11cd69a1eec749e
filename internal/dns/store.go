package dns

import (
	"net/netip"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"
)

// Store is what answers are built from: the informer caches, read only. Objects returned
// are shared with the cache and must not be modified.
type Store interface {
	// Service returns the Service ns/name, nil when there is none.
	Service(namespace, name string) *corev1.Service
	// HasServices reports whether namespace holds any Service.
	HasServices(namespace string) bool
	// EndpointSlices returns the slices of the Service ns/name.
	EndpointSlices(namespace, service string) []*discoveryv1.EndpointSlice
	// ServicesByIP returns the Services with ip among their ClusterIPs.
	ServicesByIP(ip netip.Addr) []*corev1.Service
	// EndpointSlicesByIP returns the slices with an endpoint address ip.
	EndpointSlicesByIP(ip netip.Addr) []*discoveryv1.EndpointSlice
	// PodsByIP returns the running, not host-network pods with ip among their pod IPs.
	PodsByIP(ip netip.Addr) []*corev1.Pod
	// HasPods reports whether namespace holds any pod with an IP of its own.
	HasPods(namespace string) bool
}

const (
	// indexPodNamespace indexes pods with an IP of their own by namespace.
	indexPodNamespace = "podNamespace"
	indexClusterIP    = "clusterIP"
	indexService      = "service"
	indexIP           = "ip"
)

// ServiceIndexers, EndpointSliceIndexers and PodIndexers are the indexes the Store reads;
// the informers (or a test's plain cache.Indexer) must be built with them.
func ServiceIndexers() cache.Indexers {
	return cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc, indexClusterIP: serviceIPs}
}

func EndpointSliceIndexers() cache.Indexers {
	return cache.Indexers{indexService: sliceService, indexIP: sliceIPs}
}

func PodIndexers() cache.Indexers {
	return cache.Indexers{indexPodNamespace: podNamespace, indexIP: podIPs}
}

func serviceIPs(obj any) ([]string, error) {
	svc, ok := obj.(*corev1.Service)
	if !ok {
		return nil, nil
	}
	ips := svc.Spec.ClusterIPs
	if len(ips) == 0 && svc.Spec.ClusterIP != "" {
		ips = []string{svc.Spec.ClusterIP}
	}
	return canonicalIPs(ips), nil
}

func sliceService(obj any) ([]string, error) {
	s, ok := obj.(*discoveryv1.EndpointSlice)
	if !ok {
		return nil, nil
	}
	name := s.Labels[discoveryv1.LabelServiceName]
	if name == "" {
		return nil, nil
	}
	return []string{s.Namespace + "/" + name}, nil
}

func sliceIPs(obj any) ([]string, error) {
	s, ok := obj.(*discoveryv1.EndpointSlice)
	if !ok || s.AddressType == discoveryv1.AddressTypeFQDN {
		return nil, nil
	}
	var out []string
	for _, ep := range s.Endpoints {
		out = append(out, canonicalIPs(ep.Addresses)...)
	}
	return out, nil
}

// podHasOwnIP: host-network pods share the node's address, and finished pods have given
// theirs back; neither names an IP.
func podHasOwnIP(pod *corev1.Pod) bool {
	return !pod.Spec.HostNetwork && pod.Status.Phase != corev1.PodSucceeded && pod.Status.Phase != corev1.PodFailed
}

func podNamespace(obj any) ([]string, error) {
	pod, ok := obj.(*corev1.Pod)
	if !ok || !podHasOwnIP(pod) || (pod.Status.PodIP == "" && len(pod.Status.PodIPs) == 0) {
		return nil, nil
	}
	return []string{pod.Namespace}, nil
}

func podIPs(obj any) ([]string, error) {
	pod, ok := obj.(*corev1.Pod)
	if !ok || !podHasOwnIP(pod) {
		return nil, nil
	}
	ips := make([]string, 0, len(pod.Status.PodIPs)+1)
	for _, ip := range pod.Status.PodIPs {
		ips = append(ips, ip.IP)
	}
	if len(ips) == 0 && pod.Status.PodIP != "" {
		ips = append(ips, pod.Status.PodIP)
	}
	return canonicalIPs(ips), nil
}

// canonicalIPs parses and re-prints addresses so that index keys and lookups agree; what
// does not parse ("None", "") is dropped.
func canonicalIPs(in []string) []string {
	out := make([]string, 0, len(in))
	for _, s := range in {
		if ip, err := netip.ParseAddr(s); err == nil {
			out = append(out, ip.String())
		}
	}
	return out
}

// stripPod keeps only what DNS reads of a pod, so the pod cache stays small.
func stripPod(obj any) (any, error) {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return obj, nil
	}
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: pod.Name, Namespace: pod.Namespace, UID: pod.UID, ResourceVersion: pod.ResourceVersion},
		Spec:       corev1.PodSpec{HostNetwork: pod.Spec.HostNetwork},
		Status:     corev1.PodStatus{Phase: pod.Status.Phase, PodIP: pod.Status.PodIP, PodIPs: pod.Status.PodIPs},
	}, nil
}

// IndexerStore is a Store over three indexers built with the indexers above.
type IndexerStore struct {
	ServiceIndexer, SliceIndexer, PodIndexer cache.Indexer
}

var _ Store = (*IndexerStore)(nil)

func (s *IndexerStore) Service(namespace, name string) *corev1.Service {
	obj, ok, err := s.ServiceIndexer.GetByKey(namespace + "/" + name)
	if err != nil || !ok {
		return nil
	}
	svc, _ := obj.(*corev1.Service)
	return svc
}

func (s *IndexerStore) HasServices(namespace string) bool {
	keys, err := s.ServiceIndexer.IndexKeys(cache.NamespaceIndex, namespace)
	return err == nil && len(keys) > 0
}

func (s *IndexerStore) EndpointSlices(namespace, service string) []*discoveryv1.EndpointSlice {
	objs, _ := s.SliceIndexer.ByIndex(indexService, namespace+"/"+service)
	return typed[*discoveryv1.EndpointSlice](objs)
}

func (s *IndexerStore) ServicesByIP(ip netip.Addr) []*corev1.Service {
	objs, _ := s.ServiceIndexer.ByIndex(indexClusterIP, ip.String())
	return typed[*corev1.Service](objs)
}

func (s *IndexerStore) EndpointSlicesByIP(ip netip.Addr) []*discoveryv1.EndpointSlice {
	objs, _ := s.SliceIndexer.ByIndex(indexIP, ip.String())
	return typed[*discoveryv1.EndpointSlice](objs)
}

func (s *IndexerStore) PodsByIP(ip netip.Addr) []*corev1.Pod {
	objs, _ := s.PodIndexer.ByIndex(indexIP, ip.String())
	return typed[*corev1.Pod](objs)
}

func (s *IndexerStore) HasPods(namespace string) bool {
	keys, err := s.PodIndexer.IndexKeys(indexPodNamespace, namespace)
	return err == nil && len(keys) > 0
}

func typed[T any](objs []any) []T {
	out := make([]T, 0, len(objs))
	for _, o := range objs {
		if t, ok := o.(T); ok {
			out = append(out, t)
		}
	}
	return out
}
