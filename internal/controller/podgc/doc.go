// Package podgc is the pod-garbage-collector-controller. Every period it force-deletes
// (grace period 0) terminated pods beyond the threshold, oldest first; pods bound to nodes
// that no longer exist, once a quarantine and a live lookup confirm the node is gone;
// pods being deleted that were never scheduled; and terminating pods on not-ready nodes
// tainted out-of-service. A pod not yet in a terminal phase is marked Failed with a
// DisruptionTarget condition before it is deleted. The choices are pure functions
// (select.go); this package writes nothing but pod status and deletions.
package podgc
