// Package coordination holds the strategies of coordination.k8s.io/v1: leases, the objects
// leader election and node heartbeats are built on. It validates leases only; holding or
// renewing one is the client's job.
package coordination
