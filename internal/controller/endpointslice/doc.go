// Package endpointslice holds the EndpointSlice controllers.
//
// The endpointslice controller ("endpointslice-controller") keeps, for every Service with
// a selector, EndpointSlices (at most 100 endpoints each, one set per address family and
// per distinct port list) listing the matching pods with their ready, serving and
// terminating conditions, node, zone and hostname. Its slices carry the labels
// kubernetes.io/service-name and endpointslice.kubernetes.io/managed-by=
// endpointslice-controller.k8s.io and a controller reference to the Service.
//
// The mirroring controller ("endpointslice-mirroring-controller") copies hand-made
// Endpoints of Services without a selector into slices managed by
// endpointslicemirroring-controller.k8s.io, skipping Endpoints labelled
// endpointslice.kubernetes.io/skip-mirror (the API server's own kubernetes Service).
//
// Both only touch slices carrying their own managed-by label.
package endpointslice
