package framework

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
)

// NodeInfo is what the scheduler knows of one node: the node object and the pods on it
// (bound, or assumed by this scheduler), with their totals kept up to date.
//
// Inside the cache a NodeInfo changes as pods come and go; a Snapshot holds clones, which
// nothing changes during a scheduling cycle. Preemption and nominated-pod filtering clone
// again before trying changes.
type NodeInfo struct {
	node *corev1.Node

	Pods                         []*PodInfo
	PodsWithAffinity             []*PodInfo
	PodsWithRequiredAntiAffinity []*PodInfo
	// UsedPorts are the host ports of the pods.
	UsedPorts HostPortInfo
	// Requested is the sum of the pods' Requests; NonZeroRequested of their NonZeroRequests.
	Requested        Resource
	NonZeroRequested Resource
	// Allocatable is the node's status.allocatable.
	Allocatable Resource
	// Images maps every name of every image on the node to its size in bytes.
	Images map[string]int64
	// PVCRefCounts counts the pods using each claim ("namespace/name").
	PVCRefCounts map[string]int
	// Generation orders changes; the cache sets it, the snapshot uses it to copy only what
	// changed since the last cycle.
	Generation int64
}

// NewNodeInfo returns a NodeInfo with the pods and no node.
func NewNodeInfo(pods ...*PodInfo) *NodeInfo {
	ni := &NodeInfo{UsedPorts: HostPortInfo{}, PVCRefCounts: map[string]int{}}
	for _, p := range pods {
		ni.AddPodInfo(p)
	}
	return ni
}

// Node returns the node, nil when only pods are known (the node object is not yet seen).
func (n *NodeInfo) Node() *corev1.Node {
	if n == nil {
		return nil
	}
	return n.node
}

// SetNode sets the node object and what derives from it.
func (n *NodeInfo) SetNode(node *corev1.Node) {
	n.node = node
	n.Allocatable = NewResource(node.Status.Allocatable)
	images := make(map[string]int64, len(node.Status.Images))
	for _, img := range node.Status.Images {
		for _, name := range img.Names {
			images[NormalizeImageName(name)] = img.SizeBytes
		}
	}
	n.Images = images
}

// RemoveNode forgets the node object; the pods stay until they are deleted.
func (n *NodeInfo) RemoveNode() { n.node = nil }

// AddPodInfo adds a pod and its requests, ports and claims.
func (n *NodeInfo) AddPodInfo(pi *PodInfo) {
	n.Pods = append(n.Pods, pi)
	if len(pi.RequiredAffinityTerms) > 0 || len(pi.RequiredAntiAffinityTerms) > 0 ||
		len(pi.PreferredAffinityTerms) > 0 || len(pi.PreferredAntiAffinityTerms) > 0 {
		n.PodsWithAffinity = append(n.PodsWithAffinity, pi)
	}
	if len(pi.RequiredAntiAffinityTerms) > 0 {
		n.PodsWithRequiredAntiAffinity = append(n.PodsWithRequiredAntiAffinity, pi)
	}
	n.update(pi, 1)
}

// RemovePod removes the pod with pod's UID.
func (n *NodeInfo) RemovePod(pod *corev1.Pod) error {
	n.PodsWithAffinity, _ = removeFrom(n.PodsWithAffinity, pod)
	n.PodsWithRequiredAntiAffinity, _ = removeFrom(n.PodsWithRequiredAntiAffinity, pod)
	var pi *PodInfo
	n.Pods, pi = removeFrom(n.Pods, pod)
	if pi == nil {
		return fmt.Errorf("no pod %s/%s on node %s", pod.Namespace, pod.Name, n.nodeName())
	}
	n.update(pi, -1)
	return nil
}

func (n *NodeInfo) nodeName() string {
	if n.node == nil {
		return "<unknown>"
	}
	return n.node.Name
}

// removeFrom removes the pod from s without keeping the order, and returns it.
func removeFrom(s []*PodInfo, pod *corev1.Pod) ([]*PodInfo, *PodInfo) {
	for i, p := range s {
		if p.Pod.UID == pod.UID {
			last := len(s) - 1
			s[i] = s[last]
			s[last] = nil
			return s[:last], p
		}
	}
	return s, nil
}

func (n *NodeInfo) update(pi *PodInfo, sign int) {
	if sign > 0 {
		n.Requested.AddResource(&pi.Requests)
		n.NonZeroRequested.AddResource(&pi.NonZeroRequests)
	} else {
		n.Requested.SubResource(&pi.Requests)
		n.NonZeroRequested.SubResource(&pi.NonZeroRequests)
	}
	if n.UsedPorts == nil {
		n.UsedPorts = HostPortInfo{}
	}
	forEachHostPort(pi.Pod, func(p *corev1.ContainerPort) {
		if sign > 0 {
			n.UsedPorts.Add(p.HostIP, string(p.Protocol), p.HostPort)
		} else {
			n.UsedPorts.Remove(p.HostIP, string(p.Protocol), p.HostPort)
		}
	})
	if n.PVCRefCounts == nil {
		n.PVCRefCounts = map[string]int{}
	}
	for i := range pi.Pod.Spec.Volumes {
		v := &pi.Pod.Spec.Volumes[i]
		if v.PersistentVolumeClaim == nil {
			continue
		}
		key := pi.Pod.Namespace + "/" + v.PersistentVolumeClaim.ClaimName
		n.PVCRefCounts[key] += sign
		if n.PVCRefCounts[key] <= 0 {
			delete(n.PVCRefCounts, key)
		}
	}
}

// Snapshot returns a copy that shares the (immutable) PodInfos and node object but none of
// the mutable containers.
func (n *NodeInfo) Snapshot() *NodeInfo {
	c := &NodeInfo{
		node:             n.node,
		Requested:        n.Requested.Clone(),
		NonZeroRequested: n.NonZeroRequested.Clone(),
		Allocatable:      n.Allocatable.Clone(),
		Images:           n.Images,
		Generation:       n.Generation,
		UsedPorts:        make(HostPortInfo, len(n.UsedPorts)),
		PVCRefCounts:     make(map[string]int, len(n.PVCRefCounts)),
	}
	if len(n.Pods) > 0 {
		c.Pods = append([]*PodInfo(nil), n.Pods...)
	}
	if len(n.PodsWithAffinity) > 0 {
		c.PodsWithAffinity = append([]*PodInfo(nil), n.PodsWithAffinity...)
	}
	if len(n.PodsWithRequiredAntiAffinity) > 0 {
		c.PodsWithRequiredAntiAffinity = append([]*PodInfo(nil), n.PodsWithRequiredAntiAffinity...)
	}
	for ip, ports := range n.UsedPorts {
		m := make(map[ProtocolPort]struct{}, len(ports))
		for k := range ports {
			m[k] = struct{}{}
		}
		c.UsedPorts[ip] = m
	}
	for k, v := range n.PVCRefCounts {
		c.PVCRefCounts[k] = v
	}
	return c
}

// forEachHostPort calls fn for every port of the pod's containers (and sidecars) that asks
// for a host port.
func forEachHostPort(pod *corev1.Pod, fn func(*corev1.ContainerPort)) {
	for i := range pod.Spec.Containers {
		c := &pod.Spec.Containers[i]
		for j := range c.Ports {
			if c.Ports[j].HostPort > 0 {
				fn(&c.Ports[j])
			}
		}
	}
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		if c.RestartPolicy == nil || *c.RestartPolicy != corev1.ContainerRestartPolicyAlways {
			continue
		}
		for j := range c.Ports {
			if c.Ports[j].HostPort > 0 {
				fn(&c.Ports[j])
			}
		}
	}
}

// HostPorts returns the pod's host ports.
func HostPorts(pod *corev1.Pod) []corev1.ContainerPort {
	var out []corev1.ContainerPort
	forEachHostPort(pod, func(p *corev1.ContainerPort) { out = append(out, *p) })
	return out
}

// ProtocolPort is a protocol and port.
type ProtocolPort struct {
	Protocol string
	Port     int32
}

// HostPortInfo is the set of host ports in use by IP, protocol and port.
type HostPortInfo map[string]map[ProtocolPort]struct{}

const anyIP = "0.0.0.0"

func sanitize(ip, protocol string) (string, string) {
	if ip == "" {
		ip = anyIP
	}
	if protocol == "" {
		protocol = string(corev1.ProtocolTCP)
	}
	return ip, protocol
}

// Add marks ip:port/protocol used.
func (h HostPortInfo) Add(ip, protocol string, port int32) {
	ip, protocol = sanitize(ip, protocol)
	m := h[ip]
	if m == nil {
		m = map[ProtocolPort]struct{}{}
		h[ip] = m
	}
	m[ProtocolPort{protocol, port}] = struct{}{}
}

// Remove unmarks ip:port/protocol.
func (h HostPortInfo) Remove(ip, protocol string, port int32) {
	ip, protocol = sanitize(ip, protocol)
	if m := h[ip]; m != nil {
		delete(m, ProtocolPort{protocol, port})
		if len(m) == 0 {
			delete(h, ip)
		}
	}
}

// CheckConflict says whether using ip:port/protocol clashes with a used port: the same
// port and protocol on the same IP, or on any IP when either side is 0.0.0.0.
func (h HostPortInfo) CheckConflict(ip, protocol string, port int32) bool {
	if port <= 0 {
		return false
	}
	ip, protocol = sanitize(ip, protocol)
	pp := ProtocolPort{protocol, port}
	if ip == anyIP {
		for _, m := range h {
			if _, ok := m[pp]; ok {
				return true
			}
		}
		return false
	}
	for _, key := range [2]string{anyIP, ip} {
		if _, ok := h[key][pp]; ok {
			return true
		}
	}
	return false
}
