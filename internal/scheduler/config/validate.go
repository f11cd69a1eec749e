package config

import (
	"errors"
	"fmt"
)

// validate checks what upstream's validation checks for the implemented subset.
func (c *KubeSchedulerConfiguration) validate() error {
	var errs []error
	if *c.Parallelism <= 0 {
		errs = append(errs, fmt.Errorf("parallelism: Invalid value: %d: should be an integer value greater than zero", *c.Parallelism))
	}
	if p := *c.PercentageOfNodesToScore; p < 0 || p > 100 {
		errs = append(errs, fmt.Errorf("percentageOfNodesToScore: Invalid value: %d: not in valid range [0-100]", p))
	}
	if *c.PodInitialBackoffSeconds <= 0 {
		errs = append(errs, fmt.Errorf("podInitialBackoffSeconds: Invalid value: %d: must be greater than 0", *c.PodInitialBackoffSeconds))
	}
	if *c.PodMaxBackoffSeconds < *c.PodInitialBackoffSeconds {
		errs = append(errs, fmt.Errorf("podMaxBackoffSeconds: Invalid value: %d: must be greater than or equal to PodInitialBackoffSeconds", *c.PodMaxBackoffSeconds))
	}
	le := c.LeaderElection
	if *le.LeaderElect {
		if le.LeaseDuration.Duration <= le.RenewDeadline.Duration {
			errs = append(errs, errors.New("leaderElection.leaseDuration: must be greater than renewDeadline"))
		}
		if le.RenewDeadline.Duration <= le.RetryPeriod.Duration {
			errs = append(errs, errors.New("leaderElection.renewDeadline: must be greater than retryPeriod"))
		}
		if le.ResourceLock != "leases" {
			errs = append(errs, fmt.Errorf("leaderElection.resourceLock: Unsupported value: %q: supported values: \"leases\"", le.ResourceLock))
		}
	}
	names := map[string]bool{}
	for i := range c.Profiles {
		p := &c.Profiles[i]
		path := fmt.Sprintf("profiles[%d]", i)
		name := p.Name()
		if name == "" {
			errs = append(errs, fmt.Errorf("%s.schedulerName: Required value", path))
		}
		if names[name] {
			errs = append(errs, fmt.Errorf("%s.schedulerName: Duplicate value: %q", path, name))
		}
		names[name] = true
		if v := p.PercentageOfNodesToScore; v != nil && (*v < 0 || *v > 100) {
			errs = append(errs, fmt.Errorf("%s.percentageOfNodesToScore: Invalid value: %d: not in valid range [0-100]", path, *v))
		}
		for _, set := range []PluginSet{p.Plugins.MultiPoint, p.Plugins.Score} {
			for _, pl := range set.Enabled {
				if pl.Weight != nil && *pl.Weight < 0 {
					errs = append(errs, fmt.Errorf("%s.plugins.score.enabled[%s]: Invalid value: %d: weight must be positive", path, pl.Name, *pl.Weight))
				}
			}
		}
		for _, qs := range p.Plugins.QueueSort.Enabled {
			if qs.Name != PrioritySort {
				errs = append(errs, fmt.Errorf("%s.plugins.queueSort: Unsupported value: %q: only PrioritySort", path, qs.Name))
			}
		}
		seen := map[string]bool{}
		for _, pc := range p.PluginConfig {
			if seen[pc.Name] {
				errs = append(errs, fmt.Errorf("%s.pluginConfig: Duplicate value: %q", path, pc.Name))
			}
			seen[pc.Name] = true
			if err := validateArgs(pc.Args); err != nil {
				errs = append(errs, fmt.Errorf("%s.pluginConfig[%s]: %w", path, pc.Name, err))
			}
		}
	}
	return errors.Join(errs...)
}

func validateArgs(args any) error {
	switch a := args.(type) {
	case *DefaultPreemptionArgs:
		if a.MinCandidateNodesPercentage < 0 || a.MinCandidateNodesPercentage > 100 {
			return fmt.Errorf("minCandidateNodesPercentage: Invalid value: %d: not in valid range [0, 100]", a.MinCandidateNodesPercentage)
		}
		if a.MinCandidateNodesAbsolute < 0 {
			return fmt.Errorf("minCandidateNodesAbsolute: Invalid value: %d: not in valid range [0, inf)", a.MinCandidateNodesAbsolute)
		}
	case *InterPodAffinityArgs:
		if a.HardPodAffinityWeight < 0 || a.HardPodAffinityWeight > 100 {
			return fmt.Errorf("hardPodAffinityWeight: Invalid value: %d: not in valid range [0, 100]", a.HardPodAffinityWeight)
		}
	case *NodeResourcesFitArgs:
		switch a.ScoringStrategy.Type {
		case LeastAllocated, MostAllocated:
		case RequestedToCapacityRatio:
			if a.ScoringStrategy.RequestedToCapacityRatio == nil || len(a.ScoringStrategy.RequestedToCapacityRatio.Shape) == 0 {
				return errors.New("scoringStrategy.requestedToCapacityRatio.shape: Required value: at least one point must be specified")
			}
			prev := int32(-1)
			for _, pt := range a.ScoringStrategy.RequestedToCapacityRatio.Shape {
				if pt.Utilization < 0 || pt.Utilization > 100 || pt.Score < 0 || pt.Score > 10 {
					return errors.New("scoringStrategy.requestedToCapacityRatio.shape: utilization must be in [0, 100] and score in [0, 10]")
				}
				if pt.Utilization <= prev {
					return errors.New("scoringStrategy.requestedToCapacityRatio.shape: utilization values must be sorted in increasing order")
				}
				prev = pt.Utilization
			}
		default:
			return fmt.Errorf("scoringStrategy.type: Unsupported value: %q", a.ScoringStrategy.Type)
		}
		for _, r := range a.ScoringStrategy.Resources {
			if r.Weight < 1 || r.Weight > 100 {
				return fmt.Errorf("scoringStrategy.resources[%s].weight: Invalid value: %d: resource weight of %s not in valid range [1, 100]", r.Name, r.Weight, r.Name)
			}
		}
	case *NodeResourcesBalancedAllocationArgs:
		for _, r := range a.Resources {
			if r.Weight != 1 {
				return fmt.Errorf("resources[%s].weight: Invalid value: %d: must be 1", r.Name, r.Weight)
			}
		}
	case *PodTopologySpreadArgs:
		switch a.DefaultingType {
		case SystemDefaulting:
			if len(a.DefaultConstraints) > 0 {
				return errors.New("defaultingType: Invalid value: \"System\": when .defaultConstraints are not empty")
			}
		case ListDefaulting:
		default:
			return fmt.Errorf("defaultingType: Unsupported value: %q", a.DefaultingType)
		}
		for _, tc := range a.DefaultConstraints {
			if tc.MaxSkew <= 0 {
				return fmt.Errorf("defaultConstraints.maxSkew: Invalid value: %d: must be greater than zero", tc.MaxSkew)
			}
			if tc.TopologyKey == "" {
				return errors.New("defaultConstraints.topologyKey: Required value")
			}
			if tc.LabelSelector != nil {
				return errors.New("defaultConstraints.labelSelector: Forbidden: constraint must not define a selector, as they deduced for each pod")
			}
		}
	case *VolumeBindingArgs:
		if *a.BindTimeoutSeconds < 0 {
			return errors.New("bindTimeoutSeconds: Invalid value: must be greater than or equal to 0")
		}
	}
	return nil
}
