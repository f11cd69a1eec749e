// Package probe runs the kubelet's container checks: the four probe kinds (exec through
// CRI ExecSync, httpGet, tcpSocket, grpc health) used by liveness, readiness and startup
// probes and by lifecycle hooks, and the Manager that runs every probe of every running
// container on its schedule (initialDelaySeconds, periodSeconds, timeoutSeconds,
// successThreshold, failureThreshold) and keeps the results. It never kills or restarts a
// container: the pod worker reads the results and decides.
package probe
