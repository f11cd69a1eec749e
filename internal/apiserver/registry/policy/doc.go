// Package policy holds the strategies of policy/v1: poddisruptionbudgets and their /status.
// It validates budgets only; computing allowed disruptions is the disruption controller's
// job and enforcing them is the eviction subresource's.
package policy
