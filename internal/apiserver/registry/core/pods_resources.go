package core

import "capstan/internal/apiserver/registry"

// nodeAndPodResources returns pods, podtemplates, replicationcontrollers, nodes, namespaces
// and events.
func nodeAndPodResources() []registry.Resource { return nil }
