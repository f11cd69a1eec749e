package storage

import "capstan/internal/apiserver/registry"

// Resources returns every served storage.k8s.io/v1 resource.
func Resources() []registry.Resource {
	return []registry.Resource{storageClassResource()}
}
