package coordination

import "capstan/internal/apiserver/registry"

// Resources returns every served coordination.k8s.io/v1 resource.
func Resources() []registry.Resource {
	return []registry.Resource{leaseResource()}
}
