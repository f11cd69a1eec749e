// Package dns computes the name-resolution files of a pod as upstream's kubelet does: the
// resolv.conf content (servers, search domains, options) by the pod's dnsPolicy and
// dnsConfig, and the pod's /etc/hosts with its hostAliases. Pure functions; the caller
// reads the host's resolv.conf and writes the results.
package dns
