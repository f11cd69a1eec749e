// Package volume makes a pod's volumes available on the node, under
// <pods-dir>/<pod uid>/volumes/<plugin>/<name>: emptyDir (on disk or tmpfs), hostPath
// (with its type checks), configMap, secret, downwardAPI and projected volumes (written
// atomically, so containers see a new version all at once, and rewritten when the source
// changes), and persistentVolumeClaims bound to hostPath or local PersistentVolumes. It
// tears them down when the pod is gone. It mounts nothing into containers: the kubelet
// turns the host paths into CRI mounts.
package volume
