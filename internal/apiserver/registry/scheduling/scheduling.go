package scheduling

import "capstan/internal/apiserver/registry"

// Resources returns every served scheduling.k8s.io/v1 resource.
func Resources() []registry.Resource {
	return []registry.Resource{priorityClassResource()}
}
