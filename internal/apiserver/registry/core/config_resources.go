package core

import "capstan/internal/apiserver/registry"

// configAndServiceResources returns services, endpoints, configmaps, secrets,
// serviceaccounts, limitranges, resourcequotas, persistentvolumes and
// persistentvolumeclaims.
func configAndServiceResources() []registry.Resource { return nil }
