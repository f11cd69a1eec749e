package autoscaling

import "capstan/internal/apiserver/registry"

// Resources returns every served autoscaling/v2 resource.
func Resources() []registry.Resource {
	return []registry.Resource{horizontalPodAutoscalers()}
}
