package controllermanager

// All lists every controller, in start order. Each controller package adds one entry.
func All() []Controller {
	return []Controller{
		{Name: "serviceaccount-controller", Aliases: []string{"serviceaccount"}, Start: startServiceAccount},
		{Name: "root-ca-certificate-publisher-controller", Aliases: []string{"root-ca-cert-publisher"}, Start: startRootCAPublisher},
		{Name: "pod-garbage-collector-controller", Aliases: []string{"podgc"}, Start: startPodGC},
		{Name: "node-ipam-controller", Aliases: []string{"nodeipam"}, Start: startNodeIPAM},
		{Name: "ttl-after-finished-controller", Aliases: []string{"ttl-after-finished"}, Start: startTTLAfterFinished},
		{Name: "daemonset-controller", Aliases: []string{"daemonset"}, Start: startDaemonSet},
	}
}
