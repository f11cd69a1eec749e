// Package endpointutil holds what the endpoints, endpointslice and mirroring controllers
// share: which pods belong in a Service's endpoints, target port resolution, the pod
// address of a Service's family, hostnames, the services a pod change concerns, and the
// last-change-trigger-time bookkeeping. It makes no API calls.
package endpointutil
