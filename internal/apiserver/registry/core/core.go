package core

import "capstan/internal/apiserver/registry"

// Resources returns every served core/v1 resource.
func Resources() []registry.Resource {
	return append(nodeAndPodResources(), configAndServiceResources()...)
}
