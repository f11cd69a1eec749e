package discovery

import "capstan/internal/apiserver/registry"

// Resources returns every served discovery.k8s.io/v1 resource.
func Resources() []registry.Resource {
	return []registry.Resource{endpointSliceResource()}
}
