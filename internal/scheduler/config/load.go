package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"sigs.k8s.io/yaml"
)

// Plugin names (upstream's).
const (
	SchedulingGates                 = "SchedulingGates"
	PrioritySort                    = "PrioritySort"
	NodeUnschedulable               = "NodeUnschedulable"
	NodeName                        = "NodeName"
	TaintToleration                 = "TaintToleration"
	NodeAffinity                    = "NodeAffinity"
	NodePorts                       = "NodePorts"
	NodeResourcesFit                = "NodeResourcesFit"
	VolumeRestrictions              = "VolumeRestrictions"
	VolumeBinding                   = "VolumeBinding"
	VolumeZone                      = "VolumeZone"
	PodTopologySpread               = "PodTopologySpread"
	InterPodAffinity                = "InterPodAffinity"
	DefaultPreemption               = "DefaultPreemption"
	NodeResourcesBalancedAllocation = "NodeResourcesBalancedAllocation"
	ImageLocality                   = "ImageLocality"
	DefaultBinder                   = "DefaultBinder"
)

func weight(w int32) *int32 { return &w }

// DefaultPlugins is upstream's default multiPoint list, in order, with its score weights,
// less the plugins capstan does not implement (the cloud-disk volume limits and dynamic
// resources).
func DefaultPlugins() *Plugins {
	return &Plugins{MultiPoint: PluginSet{Enabled: []Plugin{
		{Name: SchedulingGates},
		{Name: PrioritySort},
		{Name: NodeUnschedulable},
		{Name: NodeName},
		{Name: TaintToleration, Weight: weight(3)},
		{Name: NodeAffinity, Weight: weight(2)},
		{Name: NodePorts},
		{Name: NodeResourcesFit, Weight: weight(1)},
		{Name: VolumeRestrictions},
		{Name: VolumeBinding},
		{Name: VolumeZone},
		{Name: PodTopologySpread, Weight: weight(2)},
		{Name: InterPodAffinity, Weight: weight(2)},
		{Name: DefaultPreemption},
		{Name: NodeResourcesBalancedAllocation, Weight: weight(1)},
		{Name: ImageLocality, Weight: weight(1)},
		{Name: DefaultBinder},
	}}}
}

// newArgs returns the zero arguments of a plugin that takes arguments, nil otherwise.
func newArgs(plugin string) any {
	switch plugin {
	case DefaultPreemption:
		return &DefaultPreemptionArgs{}
	case InterPodAffinity:
		return &InterPodAffinityArgs{}
	case NodeAffinity:
		return &NodeAffinityArgs{}
	case NodeResourcesFit:
		return &NodeResourcesFitArgs{}
	case NodeResourcesBalancedAllocation:
		return &NodeResourcesBalancedAllocationArgs{}
	case PodTopologySpread:
		return &PodTopologySpreadArgs{}
	case VolumeBinding:
		return &VolumeBindingArgs{}
	}
	return nil
}

// Default returns the configuration used without a file.
func Default() *KubeSchedulerConfiguration {
	c := &KubeSchedulerConfiguration{}
	c.APIVersion, c.Kind = GroupVersion, Kind
	if err := c.complete(); err != nil {
		panic(err) // the defaults always validate
	}
	return c
}

// Load reads, defaults and validates a configuration file.
func Load(path string) (*KubeSchedulerConfiguration, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading scheduler config: %w", err)
	}
	c, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// Parse decodes YAML or JSON strictly (unknown fields are errors, as upstream), then
// defaults and validates.
func Parse(data []byte) (*KubeSchedulerConfiguration, error) {
	js, err := yaml.YAMLToJSON(data)
	if err != nil {
		return nil, fmt.Errorf("parsing: %w", err)
	}
	var c KubeSchedulerConfiguration
	if err := strictUnmarshal(js, &c); err != nil {
		return nil, fmt.Errorf("decoding: %w", err)
	}
	if c.APIVersion != GroupVersion || c.Kind != Kind {
		return nil, fmt.Errorf("apiVersion %q, kind %q: want %s, %s", c.APIVersion, c.Kind, GroupVersion, Kind)
	}
	for i := range c.Profiles {
		for j := range c.Profiles[i].PluginConfig {
			pc := &c.Profiles[i].PluginConfig[j]
			if err := decodeArgs(pc); err != nil {
				return nil, fmt.Errorf("profiles[%d].pluginConfig[%d]: %w", i, j, err)
			}
		}
	}
	if err := c.complete(); err != nil {
		return nil, err
	}
	return &c, nil
}

func strictUnmarshal(data []byte, into any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	return dec.Decode(into)
}

// decodeArgs turns the generic args of pc into the plugin's typed arguments. An args object
// may carry its own apiVersion and kind (e.g. NodeResourcesFitArgs), as upstream allows.
func decodeArgs(pc *PluginConfig) error {
	typed := newArgs(pc.Name)
	if pc.Args == nil {
		pc.Args = typed
		return nil
	}
	if typed == nil {
		return fmt.Errorf("plugin %q takes no arguments", pc.Name)
	}
	raw, ok := pc.Args.(map[string]any)
	if !ok {
		return fmt.Errorf("args of %q: not an object", pc.Name)
	}
	delete(raw, "apiVersion")
	delete(raw, "kind")
	js, err := json.Marshal(raw)
	if err != nil {
		return err
	}
	if err := strictUnmarshal(js, typed); err != nil {
		return fmt.Errorf("args of %q: %w", pc.Name, err)
	}
	pc.Args = typed
	return nil
}

// complete fills defaults and validates.
func (c *KubeSchedulerConfiguration) complete() error {
	if c.Parallelism == nil {
		c.Parallelism = weight(16)
	}
	if c.PercentageOfNodesToScore == nil {
		c.PercentageOfNodesToScore = weight(0)
	}
	if c.PodInitialBackoffSeconds == nil {
		v := int64(1)
		c.PodInitialBackoffSeconds = &v
	}
	if c.PodMaxBackoffSeconds == nil {
		v := int64(10)
		c.PodMaxBackoffSeconds = &v
	}
	le := &c.LeaderElection
	if le.LeaderElect == nil {
		t := true
		le.LeaderElect = &t
	}
	if le.LeaseDuration.Duration == 0 {
		le.LeaseDuration.Duration = 15 * time.Second
	}
	if le.RenewDeadline.Duration == 0 {
		le.RenewDeadline.Duration = 10 * time.Second
	}
	if le.RetryPeriod.Duration == 0 {
		le.RetryPeriod.Duration = 2 * time.Second
	}
	if le.ResourceLock == "" {
		le.ResourceLock = "leases"
	}
	if le.ResourceName == "" {
		le.ResourceName = "kube-scheduler"
	}
	if le.ResourceNamespace == "" {
		le.ResourceNamespace = "kube-system"
	}
	if c.ClientConnection.ContentType == "" {
		c.ClientConnection.ContentType = "application/vnd.kubernetes.protobuf"
	}
	if len(c.Profiles) == 0 {
		c.Profiles = []KubeSchedulerProfile{{}}
	}
	for i := range c.Profiles {
		p := &c.Profiles[i]
		if p.SchedulerName == nil {
			name := DefaultSchedulerName
			p.SchedulerName = &name
		}
		p.Plugins = mergePlugins(DefaultPlugins(), p.Plugins)
		defaultPluginConfig(p)
	}
	return c.validate()
}

// mergePlugins applies a profile's plugin sets to the defaults, upstream's way: a default
// plugin disabled (or "*") at a point goes, one enabled again keeps its default position
// with the new settings, and the remaining custom plugins follow.
func mergePlugins(def, custom *Plugins) *Plugins {
	if custom == nil {
		return def
	}
	out := *custom
	out.MultiPoint = mergeSet(def.MultiPoint, custom.MultiPoint)
	return &out
}

func mergeSet(def, custom PluginSet) PluginSet {
	disabled := map[string]bool{}
	for _, p := range custom.Disabled {
		disabled[p.Name] = true
	}
	customIdx := map[string]int{}
	for i, p := range custom.Enabled {
		customIdx[p.Name] = i
	}
	replaced := map[int]bool{}
	var enabled []Plugin
	if !disabled["*"] {
		for _, p := range def.Enabled {
			if disabled[p.Name] {
				continue
			}
			if i, ok := customIdx[p.Name]; ok {
				p = custom.Enabled[i]
				replaced[i] = true
			}
			enabled = append(enabled, p)
		}
	}
	for i, p := range custom.Enabled {
		if !replaced[i] {
			enabled = append(enabled, p)
		}
	}
	return PluginSet{Enabled: enabled, Disabled: append(append([]Plugin(nil), custom.Disabled...), def.Disabled...)}
}

// defaultPluginConfig gives every plugin that takes arguments an entry with defaults.
func defaultPluginConfig(p *KubeSchedulerProfile) {
	have := map[string]int{}
	for i, pc := range p.PluginConfig {
		have[pc.Name] = i
	}
	for _, name := range []string{DefaultPreemption, InterPodAffinity, NodeAffinity, NodeResourcesFit,
		NodeResourcesBalancedAllocation, PodTopologySpread, VolumeBinding} {
		if _, ok := have[name]; !ok {
			p.PluginConfig = append(p.PluginConfig, PluginConfig{Name: name, Args: newArgs(name)})
		}
	}
	for i := range p.PluginConfig {
		defaultArgs(p.PluginConfig[i].Args)
	}
}

func defaultArgs(args any) {
	switch a := args.(type) {
	case *DefaultPreemptionArgs:
		if a.MinCandidateNodesPercentage == 0 && a.MinCandidateNodesAbsolute == 0 {
			a.MinCandidateNodesPercentage, a.MinCandidateNodesAbsolute = 10, 100
		}
	case *InterPodAffinityArgs:
		if a.HardPodAffinityWeight == 0 {
			a.HardPodAffinityWeight = 1
		}
	case *NodeResourcesFitArgs:
		if a.ScoringStrategy == nil {
			a.ScoringStrategy = &ScoringStrategy{Type: LeastAllocated}
		}
		if a.ScoringStrategy.Type == "" {
			a.ScoringStrategy.Type = LeastAllocated
		}
		if len(a.ScoringStrategy.Resources) == 0 {
			a.ScoringStrategy.Resources = []ResourceSpec{{Name: "cpu", Weight: 1}, {Name: "memory", Weight: 1}}
		}
		for i := range a.ScoringStrategy.Resources {
			if a.ScoringStrategy.Resources[i].Weight == 0 {
				a.ScoringStrategy.Resources[i].Weight = 1
			}
		}
	case *NodeResourcesBalancedAllocationArgs:
		if len(a.Resources) == 0 {
			a.Resources = []ResourceSpec{{Name: "cpu", Weight: 1}, {Name: "memory", Weight: 1}}
		}
		for i := range a.Resources {
			if a.Resources[i].Weight == 0 {
				a.Resources[i].Weight = 1
			}
		}
	case *PodTopologySpreadArgs:
		if a.DefaultingType == "" {
			a.DefaultingType = SystemDefaulting
		}
	case *VolumeBindingArgs:
		if a.BindTimeoutSeconds == nil {
			v := int64(600)
			a.BindTimeoutSeconds = &v
		}
	}
}

// Args returns the profile's arguments for a plugin (nil when it takes none).
func (p *KubeSchedulerProfile) Args(plugin string) any {
	for _, pc := range p.PluginConfig {
		if pc.Name == plugin {
			return pc.Args
		}
	}
	return nil
}
