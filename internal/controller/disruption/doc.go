// Package disruption is the disruption controller ("disruption-controller"): it keeps the
// status of every PodDisruptionBudget (expected, healthy and desired pods, disruptions
// allowed, the DisruptionAllowed condition) from the pods its selector matches and the
// scale of the controllers owning them, and expires the disruptedPods entries the
// eviction API records once the pod is gone or two minutes have passed. Evictions
// themselves are the API server's (pods/eviction).
package disruption
