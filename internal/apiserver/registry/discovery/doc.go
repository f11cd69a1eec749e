// Package discovery holds the strategies of discovery.k8s.io/v1: endpointslices. It
// validates slices only; filling them from services and pods is the endpointslice
// controller's job.
package discovery
