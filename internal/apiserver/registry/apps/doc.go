// Package apps holds the strategies of the apps/v1 group: deployments, replicasets,
// statefulsets, daemonsets and controllerrevisions, one file per resource, plus
// workload.go, the selector, template and rollout rules the workload kinds share.
//
// Like every registry package it is pure: it defaults, validates and renders objects and
// never performs I/O. Pod template defaulting and validation are delegated to the core
// package; this package adds only the rules upstream applies on top for each kind.
package apps
