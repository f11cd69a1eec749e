// Package fieldmanager tracks which client owns which field of an object
// (metadata.managedFields) and merges server-side apply configurations, with upstream's
// semantics, on sigs.k8s.io/structured-merge-diff.
//
// It owns two things:
//   - the structured-merge-diff type schemas of the served kinds, converted from the OpenAPI
//     documents the openapi package generates from the Go types (list types atomic, set or map
//     with keys; map types granular or atomic; int-or-string and quantity as untyped scalars),
//     built once by NewTypeConverter and shared read-only;
//   - the field manager of one kind and subresource (Manager): Update records what a create,
//     update or patch changed as an "Update" entry of its manager; Apply merges an applied
//     configuration into the live object, detects conflicts with other managers (a 409 with
//     upstream's message and FieldManagerConflict causes unless forced) and records an "Apply"
//     entry.
//
// The package is pure: it performs no I/O, keeps no global state, and takes the time of each
// write from its caller. It never decides what a write may change (strategies do); it only
// records who changed it.
package fieldmanager
