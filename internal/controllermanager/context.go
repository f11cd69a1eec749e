package controllermanager

import (
	"context"
	"crypto"
	"log/slog"
	"time"

	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/record"
	"k8s.io/utils/clock"

	"capstan/internal/controller/base"
)

// Context is what a controller gets to start with. Everything in it is shared by all
// controllers of the process.
type Context struct {
	// Config for clients the controller builds itself (dynamic, metadata).
	Config *rest.Config
	Client kubernetes.Interface
	// Metadata is a metadata-only client (for the garbage collector and namespace
	// deletion over every resource).
	Metadata metadata.Interface
	// Informers is the shared informer factory; the manager starts it after every
	// controller has asked for its informers.
	Informers informers.SharedInformerFactory
	// Recorder returns an event recorder reporting as component (e.g.
	// "replicaset-controller").
	Recorder func(component string) record.EventRecorder
	Metrics  *base.Metrics
	Logger   *slog.Logger
	Clock    clock.WithTicker
	// Settings are the tunables of the controllers (flags of `capstan controller-manager`).
	Settings Settings
}

// Settings are the controller tunables, with upstream's defaults (see DefaultSettings).
type Settings struct {
	// ConcurrentSyncs per controller name; missing names use 5 (upstream's common default).
	ConcurrentSyncs map[string]int
	// NodeMonitorGracePeriod before a silent node is marked Unknown. Default 40s.
	NodeMonitorGracePeriod time.Duration
	// NodeMonitorPeriod between node health checks. Default 5s.
	NodeMonitorPeriod time.Duration
	// NodeStartupGracePeriod a node that never posted status gets. Default 60s.
	NodeStartupGracePeriod time.Duration
	// NodeEvictionRate (nodes per second) at which unhealthy nodes are tainted for
	// eviction in a healthy zone; SecondaryNodeEvictionRate in a partly unhealthy zone
	// larger than LargeClusterSizeThreshold (smaller ones stop). A zone is partly
	// unhealthy when at least UnhealthyZoneThreshold of its nodes (and more than 2) are
	// not ready. Defaults 0.1, 0.01, 50 and 0.55.
	NodeEvictionRate          float64
	SecondaryNodeEvictionRate float64
	LargeClusterSizeThreshold int
	UnhealthyZoneThreshold    float64
	// ResourceQuotaSyncPeriod between full recalculations of quota usage. Default 5m.
	ResourceQuotaSyncPeriod time.Duration
	// TerminatedPodGCThreshold: terminated pods kept before pod GC deletes the oldest.
	// Default 12500.
	TerminatedPodGCThreshold int
	// ClusterCIDR and NodeCIDRMaskSize for node IPAM. Default 10.42.0.0/16 and 24.
	ClusterCIDR      string
	NodeCIDRMaskSize int
	// RootCAPEM is published as the kube-root-ca.crt ConfigMap in every namespace and as
	// ca.crt of token secrets (--root-ca-file). Default: the CA of Config.
	RootCAPEM []byte
	// ServiceAccountPrivateKey signs the tokens of token secrets
	// (--service-account-private-key-file). Without it serviceaccount-token-controller
	// does not run.
	ServiceAccountPrivateKey crypto.Signer
}

// DefaultSettings returns upstream's defaults.
func DefaultSettings() Settings {
	return Settings{
		ConcurrentSyncs: map[string]int{
			"garbage-collector": 20, "namespace": 10, "serviceaccount": 5, "endpoints": 5,
			"endpointslice": 5, "replicaset": 5, "replicationcontroller": 5, "deployment": 5,
			"daemonset": 2, "statefulset": 5, "job": 5, "cronjob": 5, "resourcequota": 5,
		},
		NodeMonitorGracePeriod:    40 * time.Second,
		NodeMonitorPeriod:         5 * time.Second,
		NodeStartupGracePeriod:    60 * time.Second,
		NodeEvictionRate:          0.1,
		SecondaryNodeEvictionRate: 0.01,
		LargeClusterSizeThreshold: 50,
		UnhealthyZoneThreshold:    0.55,
		ResourceQuotaSyncPeriod:   5 * time.Minute,
		TerminatedPodGCThreshold:  12500,
		ClusterCIDR:               "10.42.0.0/16",
		NodeCIDRMaskSize:          24,
	}
}

// Workers returns the number of workers of controller name.
func (s Settings) Workers(name string) int {
	if n, ok := s.ConcurrentSyncs[name]; ok && n > 0 {
		return n
	}
	return 5
}

// Controller describes one controller.
type Controller struct {
	// Name as in upstream's --controllers, e.g. "replicaset-controller".
	Name string
	// Aliases are upstream's older names, e.g. "replicaset", also accepted by --controllers.
	Aliases []string
	// DisabledByDefault controllers run only when named explicitly.
	DisabledByDefault bool
	// Start sets the controller up (asking Informers for what it watches) and returns the
	// function that runs it until ctx is done.
	Start func(ctx context.Context, c *Context) (run func(ctx context.Context) error, err error)
}
