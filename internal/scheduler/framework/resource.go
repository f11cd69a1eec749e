package framework

import (
	corev1 "k8s.io/api/core/v1"
)

// Defaults counted for a container without a cpu or memory request when scoring (never when
// filtering), so that many request-less pods do not all land on one node. Upstream's values.
const (
	DefaultMilliCPURequest int64 = 100               // 0.1 core
	DefaultMemoryRequest   int64 = 200 * 1024 * 1024 // 200 MiB
)

// Resource is an amount of each schedulable resource: cpu in millicores, memory and
// ephemeral storage in bytes, a pod count, and every other (extended, hugepages) resource by
// name.
type Resource struct {
	MilliCPU         int64
	Memory           int64
	EphemeralStorage int64
	AllowedPodNumber int64
	Scalar           map[corev1.ResourceName]int64
}

// NewResource converts a resource list.
func NewResource(rl corev1.ResourceList) Resource {
	var r Resource
	r.Add(rl)
	return r
}

// Add adds rl to r.
func (r *Resource) Add(rl corev1.ResourceList) {
	for name, q := range rl {
		switch name {
		case corev1.ResourceCPU:
			r.MilliCPU += q.MilliValue()
		case corev1.ResourceMemory:
			r.Memory += q.Value()
		case corev1.ResourceEphemeralStorage:
			r.EphemeralStorage += q.Value()
		case corev1.ResourcePods:
			r.AllowedPodNumber += q.Value()
		default:
			if IsScalarResourceName(name) {
				r.AddScalar(name, q.Value())
			}
		}
	}
}

// AddScalar adds v of the named scalar resource.
func (r *Resource) AddScalar(name corev1.ResourceName, v int64) {
	if r.Scalar == nil {
		r.Scalar = make(map[corev1.ResourceName]int64, 1)
	}
	r.Scalar[name] += v
}

// AddResource adds o to r.
func (r *Resource) AddResource(o *Resource) {
	r.MilliCPU += o.MilliCPU
	r.Memory += o.Memory
	r.EphemeralStorage += o.EphemeralStorage
	r.AllowedPodNumber += o.AllowedPodNumber
	for k, v := range o.Scalar {
		r.AddScalar(k, v)
	}
}

// SubResource subtracts o from r.
func (r *Resource) SubResource(o *Resource) {
	r.MilliCPU -= o.MilliCPU
	r.Memory -= o.Memory
	r.EphemeralStorage -= o.EphemeralStorage
	r.AllowedPodNumber -= o.AllowedPodNumber
	for k, v := range o.Scalar {
		r.AddScalar(k, -v)
	}
}

// SetMax raises each amount of r to o's where o's is larger.
func (r *Resource) SetMax(o *Resource) {
	r.MilliCPU = max(r.MilliCPU, o.MilliCPU)
	r.Memory = max(r.Memory, o.Memory)
	r.EphemeralStorage = max(r.EphemeralStorage, o.EphemeralStorage)
	for k, v := range o.Scalar {
		if v > r.Scalar[k] {
			if r.Scalar == nil {
				r.Scalar = make(map[corev1.ResourceName]int64, 1)
			}
			r.Scalar[k] = v
		}
	}
}

// Clone returns a deep copy.
func (r *Resource) Clone() Resource {
	c := *r
	if r.Scalar != nil {
		c.Scalar = make(map[corev1.ResourceName]int64, len(r.Scalar))
		for k, v := range r.Scalar {
			c.Scalar[k] = v
		}
	}
	return c
}

// IsZero says whether r requests nothing (pods aside).
func (r *Resource) IsZero() bool {
	if r.MilliCPU != 0 || r.Memory != 0 || r.EphemeralStorage != 0 {
		return false
	}
	for _, v := range r.Scalar {
		if v != 0 {
			return false
		}
	}
	return true
}

// Get returns the amount of the named resource.
func (r *Resource) Get(name corev1.ResourceName) int64 {
	switch name {
	case corev1.ResourceCPU:
		return r.MilliCPU
	case corev1.ResourceMemory:
		return r.Memory
	case corev1.ResourceEphemeralStorage:
		return r.EphemeralStorage
	case corev1.ResourcePods:
		return r.AllowedPodNumber
	default:
		return r.Scalar[name]
	}
}

// IsScalarResourceName says whether name is counted as a scalar: extended resources
// (domain/name outside kubernetes.io), hugepages-*, and kubernetes.io/-prefixed resources
// other than the built-in ones.
func IsScalarResourceName(name corev1.ResourceName) bool {
	s := string(name)
	switch name {
	case corev1.ResourceCPU, corev1.ResourceMemory, corev1.ResourceEphemeralStorage, corev1.ResourcePods, corev1.ResourceStorage:
		return false
	}
	if len(s) > len(corev1.ResourceHugePagesPrefix) && s[:len(corev1.ResourceHugePagesPrefix)] == corev1.ResourceHugePagesPrefix {
		return true
	}
	if len(s) > len(corev1.ResourceAttachableVolumesPrefix) && s[:len(corev1.ResourceAttachableVolumesPrefix)] == corev1.ResourceAttachableVolumesPrefix {
		return true
	}
	for i := 0; i < len(s); i++ {
		if s[i] == '/' {
			return true // extended (example.com/foo) or prefixed native (kubernetes.io/foo)
		}
	}
	return false
}

// IsExtendedResourceName says whether name is an extended resource: a domain-qualified
// name outside the kubernetes.io domain, not a request for hugepages.
func IsExtendedResourceName(name corev1.ResourceName) bool {
	s := string(name)
	slash := -1
	for i := 0; i < len(s); i++ {
		if s[i] == '/' {
			slash = i
			break
		}
	}
	if slash < 0 {
		return false
	}
	domain := s[:slash]
	if domain == "kubernetes.io" || len(domain) > len(".kubernetes.io") && domain[len(domain)-len(".kubernetes.io"):] == ".kubernetes.io" {
		return false
	}
	return s[:min(len(s), len("requests."))] != "requests."
}

// PodRequests returns the resources the pod occupies on a node, by upstream's rules: regular
// containers and restartable init containers (sidecars) run together and are summed; a
// regular init container runs alone beside the sidecars started before it; the pod needs the
// larger of the two, plus its overhead. Pod-level requests (spec.resources), when set,
// replace the container sum for the resources they name. With nonZero, a container missing a
// cpu or memory request counts the defaults above (used for scoring).
func PodRequests(pod *corev1.Pod, nonZero bool) Resource {
	var sum Resource
	for i := range pod.Spec.Containers {
		c := containerRequests(&pod.Spec.Containers[i], nonZero)
		sum.AddResource(&c)
	}
	var sidecars, initMax Resource
	for i := range pod.Spec.InitContainers {
		ic := &pod.Spec.InitContainers[i]
		c := containerRequests(ic, nonZero)
		if ic.RestartPolicy != nil && *ic.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			sum.AddResource(&c)
			sidecars.AddResource(&c)
			c = sidecars.Clone()
		} else {
			c.AddResource(&sidecars)
		}
		initMax.SetMax(&c)
	}
	sum.SetMax(&initMax)
	if pod.Spec.Resources != nil {
		for name, q := range pod.Spec.Resources.Requests {
			switch name {
			case corev1.ResourceCPU:
				sum.MilliCPU = q.MilliValue()
			case corev1.ResourceMemory:
				sum.Memory = q.Value()
			}
		}
	}
	if pod.Spec.Overhead != nil {
		sum.Add(pod.Spec.Overhead)
	}
	sum.AllowedPodNumber = 0
	return sum
}

func containerRequests(c *corev1.Container, nonZero bool) Resource {
	r := NewResource(c.Resources.Requests)
	if nonZero {
		if _, ok := c.Resources.Requests[corev1.ResourceCPU]; !ok {
			r.MilliCPU = DefaultMilliCPURequest
		}
		if _, ok := c.Resources.Requests[corev1.ResourceMemory]; !ok {
			r.Memory = DefaultMemoryRequest
		}
	}
	return r
}
