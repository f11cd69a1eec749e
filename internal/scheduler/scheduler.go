package scheduler

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/utils/clock"

	"capstan/internal/leaderelection"
	"capstan/internal/scheduler/cache"
	"capstan/internal/scheduler/config"
	"capstan/internal/scheduler/framework"
	"capstan/internal/scheduler/queue"
)

// Options configures Run.
type Options struct {
	// Config reaches the API server with the scheduler's identity. Required.
	Config *rest.Config
	// Configuration is the parsed --config file. Default config.Default().
	Configuration *config.KubeSchedulerConfiguration
	// LeaderElect overrides the configuration's leaderElection.leaderElect when set.
	LeaderElect *bool
	// Election durations override the configuration's when non-zero (tests shorten them).
	Election leaderelection.Options
	// QPS and Burst of the client. Default: the configuration's clientConnection when set,
	// else 5000 and 10000: binding is the scheduler's bottleneck, and the API server has
	// its own limits.
	QPS   float32
	Burst int
	// Registry receives the metrics. Default: a private registry.
	Registry prometheus.Registerer
	// Registry of plugins. Default Registry().
	Plugins framework.Registry
	// MaxInFlightBindings bounds the binding calls under way; the scheduling loop waits for
	// a slot, so it never runs far ahead of what the API server absorbs. Default 128.
	MaxInFlightBindings int
	// OnReady is called when the scheduler starts scheduling (it leads and caches synced).
	OnReady func()
	Logger  *slog.Logger
	Clock   clock.WithTicker
}

// Scheduler schedules pods.
type Scheduler struct {
	client    kubernetes.Interface
	cache     *cache.Cache
	queue     *queue.Queue
	profiles  map[string]*framework.Framework
	snapshot  *framework.Snapshot
	recorders map[string]record.EventRecorder
	metrics   *metrics
	log       *slog.Logger
	clock     clock.WithTicker

	percentageOfNodesToScore int32
	nextStartNodeIndex       int
	// feasibleBuf and statusBuf are filtering's scratch space, reused every cycle.
	feasibleBuf []*framework.NodeInfo
	statusBuf   []*framework.Status

	podLister corelisters.PodLister
	services  *services

	bindings sync.WaitGroup
	// bindSlots has one token per binding call allowed in flight.
	bindSlots chan struct{}
	// handlersSynced report whether the pod and node handlers have seen the initial lists.
	handlersSynced []toolscache.InformerSynced
}

// Run runs the scheduler until ctx is done. With leader election it schedules only while
// holding the kube-system/kube-scheduler Lease; its caches are kept warm meanwhile, so a
// standby takes over quickly.
func Run(ctx context.Context, opts Options) error {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	log := opts.Logger.With("component", "kube-scheduler")
	cfg := opts.Configuration
	if cfg == nil {
		cfg = config.Default()
	}
	rc := rest.CopyConfig(opts.Config)
	rc.QPS, rc.Burst = 5000, 10000
	if cfg.ClientConnection.QPS > 0 {
		rc.QPS = cfg.ClientConnection.QPS
	}
	if cfg.ClientConnection.Burst > 0 {
		rc.Burst = int(cfg.ClientConnection.Burst)
	}
	if opts.QPS > 0 {
		rc.QPS = opts.QPS
	}
	if opts.Burst > 0 {
		rc.Burst = opts.Burst
	}
	rc.ContentType = cfg.ClientConnection.ContentType
	if rc.UserAgent == "" {
		rc.UserAgent = "kube-scheduler"
	}
	client, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return fmt.Errorf("scheduler: client: %w", err)
	}
	factory := informers.NewSharedInformerFactory(client, 0)
	broadcaster := record.NewBroadcaster(record.WithContext(ctx))
	broadcaster.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: client.CoreV1().Events("")})
	defer broadcaster.Shutdown()

	s, err := New(client, factory, broadcaster, cfg, opts, log)
	if err != nil {
		return err
	}
	factory.Start(ctx.Done())
	defer factory.Shutdown()
	for t, ok := range factory.WaitForCacheSync(ctx.Done()) {
		if !ok && ctx.Err() == nil {
			return fmt.Errorf("scheduler: informer for %v did not sync", t)
		}
	}
	lead := func(ctx context.Context) {
		if opts.OnReady != nil {
			opts.OnReady()
		}
		s.Run(ctx)
	}
	elect := *cfg.LeaderElection.LeaderElect
	if opts.LeaderElect != nil {
		elect = *opts.LeaderElect
	}
	if !elect {
		lead(ctx)
		return nil
	}
	el := opts.Election
	if el.LeaseDuration == 0 {
		el.LeaseDuration = cfg.LeaderElection.LeaseDuration.Duration
	}
	if el.RenewDeadline == 0 {
		el.RenewDeadline = cfg.LeaderElection.RenewDeadline.Duration
	}
	if el.RetryPeriod == 0 {
		el.RetryPeriod = cfg.LeaderElection.RetryPeriod.Duration
	}
	el.Client, el.Logger = client, log
	el.Namespace, el.Name = cfg.LeaderElection.ResourceNamespace, cfg.LeaderElection.ResourceName
	return leaderelection.Run(ctx, el, lead)
}

// New builds a scheduler on the informer factory (not yet started) and registers its event
// handlers.
func New(client kubernetes.Interface, factory informers.SharedInformerFactory, broadcaster record.EventBroadcaster,
	cfg *config.KubeSchedulerConfiguration, opts Options, log *slog.Logger) (*Scheduler, error) {
	if opts.Clock == nil {
		opts.Clock = clock.RealClock{}
	}
	if opts.Registry == nil {
		opts.Registry = prometheus.NewRegistry()
	}
	if opts.Plugins == nil {
		opts.Plugins = Registry()
	}
	if opts.MaxInFlightBindings <= 0 {
		opts.MaxInFlightBindings = 128
	}
	s := &Scheduler{
		client:                   client,
		cache:                    cache.New(),
		profiles:                 map[string]*framework.Framework{},
		snapshot:                 framework.NewEmptySnapshot(),
		recorders:                map[string]record.EventRecorder{},
		log:                      log,
		clock:                    opts.Clock,
		percentageOfNodesToScore: *cfg.PercentageOfNodesToScore,
		bindSlots:                make(chan struct{}, opts.MaxInFlightBindings),
	}
	core := factory.Core().V1()
	s.services = &services{
		nsLister:  core.Namespaces().Lister(),
		pvcLister: core.PersistentVolumeClaims().Lister(),
		pvLister:  core.PersistentVolumes().Lister(),
		scLister:  factory.Storage().V1().StorageClasses().Lister(),
		pdbLister: factory.Policy().V1().PodDisruptionBudgets().Lister(),
		svcLister: core.Services().Lister(),
		rcLister:  core.ReplicationControllers().Lister(),
		rsLister:  factory.Apps().V1().ReplicaSets().Lister(),
		ssLister:  factory.Apps().V1().StatefulSets().Lister(),
	}
	preEnqueue := map[string]func(context.Context, *corev1.Pod) *framework.Status{}
	events := map[string]map[string][]framework.ClusterEventWithHint{}
	var less func(a, b *framework.QueuedPodInfo) bool
	for i := range cfg.Profiles {
		p := &cfg.Profiles[i]
		fw, err := framework.NewFramework(opts.Plugins, p, s.services, int(*cfg.Parallelism))
		if err != nil {
			return nil, err
		}
		s.profiles[fw.ProfileName()] = fw
		preEnqueue[fw.ProfileName()] = fw.RunPreEnqueuePlugins
		events[fw.ProfileName()] = fw.EventsToRegister()
		// Pods that failed because there are no nodes at all wait for a node.
		events[fw.ProfileName()][noNodesRejector] = []framework.ClusterEventWithHint{{Event: framework.EventNodeAdd}}
		if less == nil {
			less = fw.QueueSortLess
		}
		if broadcaster != nil {
			s.recorders[fw.ProfileName()] = broadcaster.NewRecorder(scheme.Scheme, corev1.EventSource{Component: fw.ProfileName()})
		} else {
			s.recorders[fw.ProfileName()] = record.NewFakeRecorder(1000)
		}
	}
	s.queue = queue.New(queue.Options{
		Clock:          opts.Clock,
		InitialBackoff: time.Duration(*cfg.PodInitialBackoffSeconds) * time.Second,
		MaxBackoff:     time.Duration(*cfg.PodMaxBackoffSeconds) * time.Second,
		Less:           less,
		PreEnqueue:     preEnqueue,
		Events:         events,
	})
	s.services.queue = s.queue
	s.metrics = newMetrics(opts.Registry, s)
	if err := s.addEventHandlers(factory); err != nil {
		return nil, err
	}
	return s, nil
}

// Run schedules pods until ctx is done, then waits for bindings in flight. It starts once
// the event handlers have taken in the initial pods and nodes, so the first pods do not
// find an empty cache.
func (s *Scheduler) Run(ctx context.Context) {
	if !toolscache.WaitForCacheSync(ctx.Done(), s.handlersSynced...) {
		return
	}
	s.log.Info("scheduler started", "profiles", len(s.profiles))
	go s.queue.Run(ctx)
	for ctx.Err() == nil {
		s.scheduleOne(ctx)
	}
	s.queue.Close()
	s.bindings.Wait()
}

// RunWithConfigFile runs the scheduler inside `capstan server`: the configuration file
// (empty: defaults) and leader election on, metrics not served.
func RunWithConfigFile(ctx context.Context, rc *rest.Config, file string, log *slog.Logger) error {
	cfg := config.Default()
	if file != "" {
		var err error
		if cfg, err = config.Load(file); err != nil {
			return err
		}
	}
	// A scheduler that loses its lease stops scheduling; upstream's process would exit and
	// be restarted. In the server it campaigns again with fresh state instead.
	for {
		err := Run(ctx, Options{Config: rc, Configuration: cfg, Logger: log})
		if ctx.Err() != nil {
			return nil
		}
		log.Error("scheduler stopped; starting again", "component", "kube-scheduler", "err", err)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Second):
		}
	}
}
