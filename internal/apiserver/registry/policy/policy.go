package policy

import "capstan/internal/apiserver/registry"

// Resources returns every served policy/v1 resource.
func Resources() []registry.Resource {
	return []registry.Resource{podDisruptionBudgetResource()}
}
