// Package nodeipam is the node IPAM controller ("node-ipam-controller"): it gives every
// Node a pod CIDR out of the cluster CIDR (spec.podCIDR and spec.podCIDRs, one per address
// family) and takes it back when the Node is deleted. The allocation map lives in memory
// and is rebuilt from the Nodes at start, so restarts and leader changes never hand out a
// range twice. It owns nothing but those two fields; routes and CNI configuration belong
// to the agent.
package nodeipam
