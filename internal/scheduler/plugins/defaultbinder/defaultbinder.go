// Package defaultbinder is the DefaultBinder plugin: binding goes through the pods/binding
// subresource. The scheduler performs the call; the plugin only marks that the profile
// binds the default way.
package defaultbinder

import (
	"capstan/internal/scheduler/config"
	"capstan/internal/scheduler/framework"
)

// DefaultBinder marks default binding.
type DefaultBinder struct{}

// New returns the plugin.
func New(_ any, _ framework.Handle) (framework.Plugin, error) { return DefaultBinder{}, nil }

// Name of the plugin.
func (DefaultBinder) Name() string { return config.DefaultBinder }
