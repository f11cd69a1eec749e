package controllermanager

import (
	"context"

	"capstan/internal/controller/deployment"
	"capstan/internal/controller/replicaset"
)

// This file adapts the Context to the options of the apps controllers that own pods
// through ReplicaSets: ReplicaSet, ReplicationController and Deployment.

func replicaSetOptions(c *Context, component, workers string) replicaset.Options {
	return replicaset.Options{
		Client: c.Client, Informers: c.Informers, Recorder: c.Recorder(component),
		Workers: c.Settings.Workers(workers), Metrics: c.Metrics, Logger: c.Logger, Clock: c.Clock,
	}
}

func startReplicaSet(_ context.Context, c *Context) (runFunc, error) {
	ctrl, err := replicaset.NewReplicaSet(replicaSetOptions(c, replicaset.ReplicaSetName, "replicaset"))
	if err != nil {
		return nil, err
	}
	return ctrl.Run, nil
}

func startReplicationController(_ context.Context, c *Context) (runFunc, error) {
	// Upstream's RC events come from "replication-controller".
	ctrl, err := replicaset.NewReplicationController(replicaSetOptions(c, "replication-controller", "replicationcontroller"))
	if err != nil {
		return nil, err
	}
	return ctrl.Run, nil
}

func startDeployment(_ context.Context, c *Context) (runFunc, error) {
	ctrl, err := deployment.New(deployment.Options{
		Client: c.Client, Informers: c.Informers, Recorder: c.Recorder(deployment.Name),
		Workers: c.Settings.Workers("deployment"), Metrics: c.Metrics, Logger: c.Logger, Clock: c.Clock,
	})
	if err != nil {
		return nil, err
	}
	return ctrl.Run, nil
}
