package apps

import "capstan/internal/apiserver/registry"

// Resources returns every served apps/v1 resource.
func Resources() []registry.Resource {
	return []registry.Resource{
		deployments(),
		replicaSets(),
		statefulSets(),
		daemonSets(),
		controllerRevisions(),
	}
}
