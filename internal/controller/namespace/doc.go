// Package namespace is the namespace-controller. When a namespace gets a
// deletionTimestamp it marks it Terminating, deletes everything in it across every
// namespaced resource the API's discovery lists (deletecollection where the resource
// supports it, else one delete per object, always with background propagation), reports
// what blocks the deletion in the namespace's conditions, and once nothing is left removes
// the "kubernetes" finalizer through the namespaces/{name}/finalize subresource; the API
// server then removes the namespace. It never deletes a namespace itself and never touches
// cluster-scoped objects.
package namespace
