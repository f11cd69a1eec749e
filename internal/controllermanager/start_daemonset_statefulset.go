package controllermanager

import (
	"context"

	"capstan/internal/controller/daemonset"
	"capstan/internal/controller/statefulset"
)

// This file adapts the Context to the options of the DaemonSet and StatefulSet controllers.

func startDaemonSet(_ context.Context, c *Context) (runFunc, error) {
	ctrl, err := daemonset.New(daemonset.Options{
		Client: c.Client, Informers: c.Informers, Recorder: c.Recorder(daemonset.Name),
		Workers: c.Settings.Workers("daemonset"), Metrics: c.Metrics, Logger: c.Logger, Clock: c.Clock,
	})
	if err != nil {
		return nil, err
	}
	return ctrl.Run, nil
}

func startStatefulSet(_ context.Context, c *Context) (runFunc, error) {
	ctrl, err := statefulset.New(statefulset.Options{
		Client: c.Client, Informers: c.Informers, Recorder: c.Recorder(statefulset.Name),
		Workers: c.Settings.Workers("statefulset"), Metrics: c.Metrics, Logger: c.Logger, Clock: c.Clock,
	})
	if err != nil {
		return nil, err
	}
	return ctrl.Run, nil
}
