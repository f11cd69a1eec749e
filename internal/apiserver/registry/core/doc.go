// Package core holds the strategies of the core (legacy, /api/v1) group: one file per
// resource, plus podspec.go, the pod spec defaulting and validation that every workload kind
// with a pod template shares.
package core
