package config

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// GroupVersion and Kind of the configuration file.
const (
	GroupVersion = "kubescheduler.config.k8s.io/v1"
	Kind         = "KubeSchedulerConfiguration"
	// DefaultSchedulerName is the name pods get when they name none.
	DefaultSchedulerName = corev1.DefaultSchedulerName
)

// KubeSchedulerConfiguration is the file's top-level object.
type KubeSchedulerConfiguration struct {
	metav1.TypeMeta `json:",inline"`
	// Parallelism bounds the goroutines of the per-node phases. Default 16 (capstan uses at
	// most GOMAXPROCS of them).
	Parallelism *int32 `json:"parallelism,omitempty"`
	// LeaderElection of the kube-system/kube-scheduler Lease.
	LeaderElection LeaderElectionConfiguration `json:"leaderElection"`
	// ClientConnection to the API server.
	ClientConnection ClientConnectionConfiguration `json:"clientConnection"`
	// PercentageOfNodesToScore: 0 means adaptive (50% minus 1% per 125 nodes, at least 5%),
	// and never fewer than 100 nodes.
	PercentageOfNodesToScore *int32 `json:"percentageOfNodesToScore,omitempty"`
	// PodInitialBackoffSeconds (default 1) and PodMaxBackoffSeconds (default 10) bound the
	// per-pod exponential backoff.
	PodInitialBackoffSeconds *int64 `json:"podInitialBackoffSeconds,omitempty"`
	PodMaxBackoffSeconds     *int64 `json:"podMaxBackoffSeconds,omitempty"`
	// Profiles, one per schedulerName. Default one "default-scheduler" profile.
	Profiles []KubeSchedulerProfile `json:"profiles,omitempty"`

	// Accepted and ignored, for files written for upstream.
	EnableProfiling           *bool           `json:"enableProfiling,omitempty"`
	EnableContentionProfiling *bool           `json:"enableContentionProfiling,omitempty"`
	HealthzBindAddress        string          `json:"healthzBindAddress,omitempty"`
	MetricsBindAddress        string          `json:"metricsBindAddress,omitempty"`
	DelayCacheUntilActive     bool            `json:"delayCacheUntilActive,omitempty"`
	Extenders                 []any           `json:"extenders,omitempty"`
	FeatureGates              map[string]bool `json:"featureGates,omitempty"`
}

// LeaderElectionConfiguration is upstream's component-base leader election block.
type LeaderElectionConfiguration struct {
	LeaderElect       *bool           `json:"leaderElect,omitempty"`
	LeaseDuration     metav1.Duration `json:"leaseDuration"`
	RenewDeadline     metav1.Duration `json:"renewDeadline"`
	RetryPeriod       metav1.Duration `json:"retryPeriod"`
	ResourceLock      string          `json:"resourceLock"`
	ResourceName      string          `json:"resourceName"`
	ResourceNamespace string          `json:"resourceNamespace"`
}

// ClientConnectionConfiguration is upstream's client connection block.
type ClientConnectionConfiguration struct {
	Kubeconfig         string  `json:"kubeconfig"`
	AcceptContentTypes string  `json:"acceptContentTypes"`
	ContentType        string  `json:"contentType"`
	QPS                float32 `json:"qps"`
	Burst              int32   `json:"burst"`
}

// KubeSchedulerProfile is one scheduler name with its plugins.
type KubeSchedulerProfile struct {
	SchedulerName            *string        `json:"schedulerName,omitempty"`
	PercentageOfNodesToScore *int32         `json:"percentageOfNodesToScore,omitempty"`
	Plugins                  *Plugins       `json:"plugins,omitempty"`
	PluginConfig             []PluginConfig `json:"pluginConfig,omitempty"`
}

// Name returns the profile's scheduler name.
func (p *KubeSchedulerProfile) Name() string {
	if p.SchedulerName == nil {
		return DefaultSchedulerName
	}
	return *p.SchedulerName
}

// Plugins lists the enabled and disabled plugins of each extension point. MultiPoint
// enables a plugin at every point it implements.
type Plugins struct {
	PreEnqueue PluginSet `json:"preEnqueue,omitempty"`
	QueueSort  PluginSet `json:"queueSort,omitempty"`
	PreFilter  PluginSet `json:"preFilter,omitempty"`
	Filter     PluginSet `json:"filter,omitempty"`
	PostFilter PluginSet `json:"postFilter,omitempty"`
	PreScore   PluginSet `json:"preScore,omitempty"`
	Score      PluginSet `json:"score,omitempty"`
	Reserve    PluginSet `json:"reserve,omitempty"`
	Permit     PluginSet `json:"permit,omitempty"`
	PreBind    PluginSet `json:"preBind,omitempty"`
	Bind       PluginSet `json:"bind,omitempty"`
	PostBind   PluginSet `json:"postBind,omitempty"`
	MultiPoint PluginSet `json:"multiPoint,omitempty"`
}

// PluginSet enables and disables plugins; "*" in Disabled disables every default plugin.
type PluginSet struct {
	Enabled  []Plugin `json:"enabled,omitempty"`
	Disabled []Plugin `json:"disabled,omitempty"`
}

// Plugin names a plugin; Weight applies to Score.
type Plugin struct {
	Name   string `json:"name"`
	Weight *int32 `json:"weight,omitempty"`
}

// PluginConfig holds one plugin's arguments; Args is the decoded typed value (one of the
// *Args types below) after Load.
type PluginConfig struct {
	Name string `json:"name"`
	Args any    `json:"args,omitempty"`
}

// DefaultPreemptionArgs: how many nodes preemption dry-runs at least.
type DefaultPreemptionArgs struct {
	MinCandidateNodesPercentage int32 `json:"minCandidateNodesPercentage"`
	MinCandidateNodesAbsolute   int32 `json:"minCandidateNodesAbsolute"`
}

// InterPodAffinityArgs.
type InterPodAffinityArgs struct {
	// HardPodAffinityWeight scores existing pods' required affinity to the incoming pod.
	HardPodAffinityWeight              int32 `json:"hardPodAffinityWeight"`
	IgnorePreferredTermsOfExistingPods bool  `json:"ignorePreferredTermsOfExistingPods"`
}

// NodeAffinityArgs.
type NodeAffinityArgs struct {
	// AddedAffinity applies to every pod of the profile on top of its own.
	AddedAffinity *corev1.NodeAffinity `json:"addedAffinity,omitempty"`
}

// Scoring strategies of NodeResourcesFit.
const (
	LeastAllocated           = "LeastAllocated"
	MostAllocated            = "MostAllocated"
	RequestedToCapacityRatio = "RequestedToCapacityRatio"
)

// ResourceSpec is a resource and its weight in a score.
type ResourceSpec struct {
	Name   string `json:"name"`
	Weight int64  `json:"weight,omitempty"`
}

// UtilizationShapePoint is a point of the RequestedToCapacityRatio shape.
type UtilizationShapePoint struct {
	Utilization int32 `json:"utilization"`
	Score       int32 `json:"score"`
}

// RequestedToCapacityRatioParam holds the shape.
type RequestedToCapacityRatioParam struct {
	Shape []UtilizationShapePoint `json:"shape,omitempty"`
}

// ScoringStrategy of NodeResourcesFit.
type ScoringStrategy struct {
	Type                     string                         `json:"type,omitempty"`
	Resources                []ResourceSpec                 `json:"resources,omitempty"`
	RequestedToCapacityRatio *RequestedToCapacityRatioParam `json:"requestedToCapacityRatio,omitempty"`
}

// NodeResourcesFitArgs.
type NodeResourcesFitArgs struct {
	IgnoredResources      []string         `json:"ignoredResources,omitempty"`
	IgnoredResourceGroups []string         `json:"ignoredResourceGroups,omitempty"`
	ScoringStrategy       *ScoringStrategy `json:"scoringStrategy,omitempty"`
}

// NodeResourcesBalancedAllocationArgs.
type NodeResourcesBalancedAllocationArgs struct {
	Resources []ResourceSpec `json:"resources,omitempty"`
}

// Defaulting types of PodTopologySpread.
const (
	SystemDefaulting = "System"
	ListDefaulting   = "List"
)

// PodTopologySpreadArgs.
type PodTopologySpreadArgs struct {
	// DefaultConstraints apply to pods without constraints of their own (List defaulting).
	DefaultConstraints []corev1.TopologySpreadConstraint `json:"defaultConstraints,omitempty"`
	// DefaultingType System uses upstream's built-in soft constraints (zone skew 5, host
	// skew 3) for pods selected by a Service, ReplicaSet, ReplicationController or
	// StatefulSet.
	DefaultingType string `json:"defaultingType,omitempty"`
}

// VolumeBindingArgs.
type VolumeBindingArgs struct {
	BindTimeoutSeconds *int64 `json:"bindTimeoutSeconds,omitempty"`
}
