// Package replicaset is the ReplicaSet controller and, through the same logic, the
// ReplicationController controller (an RC is handled as the ReplicaSet it converts to, as
// upstream does). It keeps spec.replicas active pods matching the selector: it adopts
// orphans and releases pods that stopped matching, creates missing pods in slow-start
// batches (1, 2, 4, ...) and deletes surplus ones in upstream's order, and reports status
// (replicas, fullyLabeledReplicas, readyReplicas, availableReplicas, terminatingReplicas,
// observedGeneration, the ReplicaFailure condition).
//
// It does not schedule or run pods, and never writes anything but pods and the status of
// its own objects.
package replicaset
