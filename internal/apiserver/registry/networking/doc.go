// Package networking holds the strategies of networking.k8s.io/v1: ingresses (with their
// /status), ingressclasses and networkpolicies, one file per resource.
//
// It validates and defaults the objects only; routing traffic is the job of an ingress
// controller and of the network plugin, never of this package.
package networking
