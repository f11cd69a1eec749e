package controllermanager

import (
	"context"

	"capstan/internal/controller/nodeipam"
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
