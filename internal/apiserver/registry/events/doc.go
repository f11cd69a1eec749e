// Package events holds the strategy of events.k8s.io/v1 events.
//
// Upstream serves events.k8s.io/v1 from the same storage as core/v1 events: the objects are
// stored as core/v1 Events under /registry/events. ToCore and FromCore are the pure field
// mappings the generic layer uses to store and serve them; validation runs on the core
// form, as upstream's does, so error field paths name core fields (e.g. "message" for a
// too long note). The table, field set and legacy validation of core events are exported
// (EventColumns, CoreEventRow, CoreEventFields, ValidateCoreEvent) for the core package.
package events
