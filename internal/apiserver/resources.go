package apiserver

import (
	"capstan/internal/apiserver/registry"
	"capstan/internal/apiserver/registry/apps"
	"capstan/internal/apiserver/registry/autoscaling"
	"capstan/internal/apiserver/registry/batch"
	"capstan/internal/apiserver/registry/certificates"
	"capstan/internal/apiserver/registry/coordination"
	"capstan/internal/apiserver/registry/core"
	"capstan/internal/apiserver/registry/discovery"
	"capstan/internal/apiserver/registry/events"
	"capstan/internal/apiserver/registry/networking"
	"capstan/internal/apiserver/registry/policy"
	"capstan/internal/apiserver/registry/rbac"
	"capstan/internal/apiserver/registry/scheduling"
	storagereg "capstan/internal/apiserver/registry/storage"
)

// AllResources returns every resource the server serves.
func AllResources() []registry.Resource {
	var out []registry.Resource
	for _, group := range [][]registry.Resource{
		core.Resources(), apps.Resources(), autoscaling.Resources(), batch.Resources(), rbac.Resources(),
		networking.Resources(), storagereg.Resources(), policy.Resources(), scheduling.Resources(),
		certificates.Resources(), coordination.Resources(), discovery.Resources(), events.Resources(),
	} {
		out = append(out, group...)
	}
	return out
}
