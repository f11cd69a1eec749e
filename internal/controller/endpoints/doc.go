// Package endpoints is the endpoints controller ("endpoints-controller"): it keeps the
// Endpoints object of every Service with a selector equal to the addresses of the pods
// the selector matches: ready ones in addresses, others in notReadyAddresses (all ready
// with publishNotReadyAddresses), target ports resolved per pod, hostnames for pods that
// name the service as their subdomain, and at most 1000 addresses (the rest truncated and
// the object annotated over-capacity). Services without a selector are left alone: their
// Endpoints are managed by hand (or, for the kubernetes Service, by the API server).
package endpoints
