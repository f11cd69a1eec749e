package controllermanager

// All lists every controller, in start order. Each controller package adds one entry.
func All() []Controller {
	return []Controller{
		{Name: "replicaset-controller", Aliases: []string{"replicaset"}, Start: startReplicaSet},
		{Name: "replicationcontroller-controller", Aliases: []string{"replicationcontroller"}, Start: startReplicationController},
		{Name: "deployment-controller", Aliases: []string{"deployment"}, Start: startDeployment},
		{Name: "serviceaccount-token-controller", Aliases: []string{"serviceaccount-token"}, Start: startServiceAccountToken},
		{Name: "serviceaccount-controller", Aliases: []string{"serviceaccount"}, Start: startServiceAccount},
		{Name: "root-ca-certificate-publisher-controller", Aliases: []string{"root-ca-cert-publisher"}, Start: startRootCAPublisher},
		{Name: "pod-garbage-collector-controller", Aliases: []string{"podgc"}, Start: startPodGC},
		{Name: "node-ipam-controller", Aliases: []string{"nodeipam"}, Start: startNodeIPAM},
		{Name: "daemonset-controller", Aliases: []string{"daemonset"}, Start: startDaemonSet},
		{Name: "ttl-after-finished-controller", Aliases: []string{"ttl-after-finished"}, Start: startTTLAfterFinished},
		{Name: "node-lifecycle-controller", Aliases: []string{"nodelifecycle"}, Start: startNodeLifecycle},
		{Name: "taint-eviction-controller", Start: startTaintEviction},
		{Name: "namespace-controller", Aliases: []string{"namespace"}, Start: startNamespace},
		{Name: "endpoints-controller", Aliases: []string{"endpoint"}, Start: startEndpoints},
		{Name: "endpointslice-controller", Aliases: []string{"endpointslice"}, Start: startEndpointSlice},
		{Name: "endpointslice-mirroring-controller", Aliases: []string{"endpointslicemirroring"}, Start: startEndpointSliceMirroring},
		{Name: "statefulset-controller", Aliases: []string{"statefulset"}, Start: startStatefulSet},
		{Name: "resourcequota-controller", Aliases: []string{"resourcequota"}, Start: startResourceQuota},
		{Name: "disruption-controller", Aliases: []string{"disruption"}, Start: startDisruption},
		{Name: "garbage-collector-controller", Aliases: []string{"garbagecollector"}, Start: startGarbageCollector},
		{Name: "cronjob-controller", Aliases: []string{"cronjob"}, Start: startCronJob},
		{Name: "job-controller", Aliases: []string{"job"}, Start: startJob},
	}
}
