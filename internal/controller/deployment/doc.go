// Package deployment is the Deployment controller: it owns one ReplicaSet per pod template
// (named <deployment>-<pod-template-hash>, the hash also in its selector and pod labels)
// and moves replicas from the old ReplicaSets to the new one by the deployment's strategy,
// RollingUpdate (within maxSurge and maxUnavailable) or Recreate. It numbers the templates
// with the deployment.kubernetes.io/revision annotation (a rollback is a template change
// back to an old ReplicaSet, which gets the next revision), keeps revisionHistoryLimit old
// ReplicaSets, scales every ReplicaSet proportionally when the deployment is scaled in the
// middle of a rollout, honours spec.paused, and reports status with the Available and
// Progressing conditions (ProgressDeadlineExceeded after progressDeadlineSeconds).
//
// It never touches pods: the ReplicaSet controller creates and deletes them.
package deployment
