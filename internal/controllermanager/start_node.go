package controllermanager

import (
	"context"

	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/restmapper"

	"capstan/internal/controller/disruption"
	"capstan/internal/controller/endpoints"
	"capstan/internal/controller/endpointslice"
	"capstan/internal/controller/nodeipam"
	"capstan/internal/controller/nodelifecycle"
	"capstan/internal/controller/resourcequota"
)

// This file adapts the Context to the node, network-endpoint, quota and disruption
// controllers' own options; the controller packages do not import this one.

func startNodeIPAM(_ context.Context, c *Context) (func(context.Context) error, error) {
	ctrl, err := nodeipam.New(nodeipam.Options{
		Client: c.Client, Informers: c.Informers,
		ClusterCIDR: c.Settings.ClusterCIDR, MaskSize: c.Settings.NodeCIDRMaskSize,
		Recorder: c.Recorder("cidrAllocator"), Workers: c.Settings.Workers("nodeipam"),
		Metrics: c.Metrics, Logger: c.Logger,
	})
	if err != nil {
		return nil, err
	}
	return ctrl.Run, nil
}

func startNodeLifecycle(_ context.Context, c *Context) (func(context.Context) error, error) {
	s := c.Settings
	ctrl, err := nodelifecycle.New(nodelifecycle.Options{
		Client: c.Client, Informers: c.Informers, Recorder: c.Recorder("node-controller"),
		MonitorPeriod: s.NodeMonitorPeriod, GracePeriod: s.NodeMonitorGracePeriod, StartupGracePeriod: s.NodeStartupGracePeriod,
		EvictionRate: s.NodeEvictionRate, SecondaryEvictionRate: s.SecondaryNodeEvictionRate,
		LargeClusterThreshold: s.LargeClusterSizeThreshold, UnhealthyZoneThreshold: s.UnhealthyZoneThreshold,
		Metrics: c.Metrics, Logger: c.Logger, Clock: c.Clock,
	})
	if err != nil {
		return nil, err
	}
	return ctrl.Run, nil
}

func startTaintEviction(_ context.Context, c *Context) (func(context.Context) error, error) {
	ctrl, err := nodelifecycle.NewTaintEviction(nodelifecycle.TaintEvictionOptions{
		Client: c.Client, Informers: c.Informers, Recorder: c.Recorder(nodelifecycle.TaintEvictionName),
		Workers: c.Settings.Workers("taint-eviction-controller"), Metrics: c.Metrics, Logger: c.Logger, Clock: c.Clock,
	})
	if err != nil {
		return nil, err
	}
	return ctrl.Run, nil
}

func startEndpoints(_ context.Context, c *Context) (func(context.Context) error, error) {
	ctrl, err := endpoints.New(endpoints.Options{
		Client: c.Client, Informers: c.Informers, Recorder: c.Recorder("endpoint-controller"), Workers: c.Settings.Workers("endpoints"),
		Metrics: c.Metrics, Logger: c.Logger,
	})
	if err != nil {
		return nil, err
	}
	return ctrl.Run, nil
}

func startEndpointSlice(_ context.Context, c *Context) (func(context.Context) error, error) {
	ctrl, err := endpointslice.New(endpointslice.Options{
		Client: c.Client, Informers: c.Informers, Recorder: c.Recorder("endpoint-slice-controller"), Workers: c.Settings.Workers("endpointslice"),
		Metrics: c.Metrics, Logger: c.Logger,
	})
	if err != nil {
		return nil, err
	}
	return ctrl.Run, nil
}

func startEndpointSliceMirroring(_ context.Context, c *Context) (func(context.Context) error, error) {
	ctrl, err := endpointslice.NewMirroring(endpointslice.Options{
		Client: c.Client, Informers: c.Informers, Workers: c.Settings.Workers("endpointslicemirroring"),
		Metrics: c.Metrics, Logger: c.Logger,
	})
	if err != nil {
		return nil, err
	}
	return ctrl.Run, nil
}

func startResourceQuota(_ context.Context, c *Context) (func(context.Context) error, error) {
	ctrl, err := resourcequota.New(resourcequota.Options{
		Client: c.Client, Informers: c.Informers, Metadata: c.Metadata,
		Mapper:     restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(c.Client.Discovery())),
		SyncPeriod: c.Settings.ResourceQuotaSyncPeriod, Workers: c.Settings.Workers("resourcequota"),
		Metrics: c.Metrics, Logger: c.Logger, Clock: c.Clock,
	})
	if err != nil {
		return nil, err
	}
	return ctrl.Run, nil
}

func startDisruption(_ context.Context, c *Context) (func(context.Context) error, error) {
	ctrl, err := disruption.New(disruption.Options{
		Client: c.Client, Informers: c.Informers, Recorder: c.Recorder("controllermanager"),
		Workers: c.Settings.Workers("disruption"), Metrics: c.Metrics, Logger: c.Logger, Clock: c.Clock,
	})
	if err != nil {
		return nil, err
	}
	return ctrl.Run, nil
}
