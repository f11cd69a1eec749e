package scheduler

import (
	"capstan/internal/scheduler/config"
	"capstan/internal/scheduler/framework"
	"capstan/internal/scheduler/plugins/balancedallocation"
	"capstan/internal/scheduler/plugins/defaultbinder"
	"capstan/internal/scheduler/plugins/defaultpreemption"
	"capstan/internal/scheduler/plugins/imagelocality"
	"capstan/internal/scheduler/plugins/interpodaffinity"
	"capstan/internal/scheduler/plugins/nodeaffinity"
	"capstan/internal/scheduler/plugins/nodename"
	"capstan/internal/scheduler/plugins/nodeports"
	"capstan/internal/scheduler/plugins/noderesources"
	"capstan/internal/scheduler/plugins/nodeunschedulable"
	"capstan/internal/scheduler/plugins/podtopologyspread"
	"capstan/internal/scheduler/plugins/queuesort"
	"capstan/internal/scheduler/plugins/schedulinggates"
	"capstan/internal/scheduler/plugins/tainttoleration"
	"capstan/internal/scheduler/plugins/volumebinding"
	"capstan/internal/scheduler/plugins/volumerestrictions"
	"capstan/internal/scheduler/plugins/volumezone"
)

// Registry returns every plugin capstan implements, by upstream name.
func Registry() framework.Registry {
	return framework.Registry{
		config.SchedulingGates:                 schedulinggates.New,
		config.PrioritySort:                    queuesort.New,
		config.NodeUnschedulable:               nodeunschedulable.New,
		config.NodeName:                        nodename.New,
		config.TaintToleration:                 tainttoleration.New,
		config.NodeAffinity:                    nodeaffinity.New,
		config.NodePorts:                       nodeports.New,
		config.NodeResourcesFit:                noderesources.New,
		config.NodeResourcesBalancedAllocation: balancedallocation.New,
		config.ImageLocality:                   imagelocality.New,
		config.DefaultBinder:                   defaultbinder.New,
		config.InterPodAffinity:                interpodaffinity.New,
		config.PodTopologySpread:               podtopologyspread.New,
		config.DefaultPreemption:               defaultpreemption.New,
		config.VolumeRestrictions:              volumerestrictions.New,
		config.VolumeBinding:                   volumebinding.New,
		config.VolumeZone:                      volumezone.New,
	}
}
