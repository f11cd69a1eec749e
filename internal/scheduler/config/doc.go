// Package config reads the scheduler's configuration file: the subset of upstream's
// KubeSchedulerConfiguration (kubescheduler.config.k8s.io/v1) that capstan's scheduler
// implements — profiles with their plugin sets, weights and plugin arguments,
// percentageOfNodesToScore, the pod backoff bounds, parallelism, leader election and the
// client connection. It parses, defaults and validates; it knows plugin names and argument
// types but none of the plugins' behaviour.
package config
