package kubelet

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
	"k8s.io/utils/clock"

	"capstan/internal/kubelet/dns"
	"capstan/internal/kubelet/envvars"
	"capstan/internal/kubelet/podsync"
	"capstan/internal/kubelet/probe"
	"capstan/internal/kubelet/volume"
)

// Options configures a Kubelet. Zero fields take the documented defaults.
type Options struct {
	// NodeName is the Node's name. Required.
	NodeName string
	// Client talks to the API server with the node's identity. Required.
	Client kubernetes.Interface
	// EventClient writes events, with a rate limit of its own so bursts of events do not
	// delay status updates (as upstream's kubelet). Default Client.
	EventClient kubernetes.Interface
	// Runtime and Images are the CRI services. Required.
	Runtime Runtime
	Images  Images
	// RootDir holds the pods' directories (volumes, /etc/hosts files, termination
	// messages). Required (the agent uses <data-dir>/agent/kubelet).
	RootDir string
	// PodLogsDir holds the containers' CRI logs. Default /var/log/pods.
	PodLogsDir string
	// PodManifestPath is the static pods' directory; empty: no static pods.
	PodManifestPath string
	// NodeIPs are the node's addresses, the primary first. Required.
	NodeIPs []net.IP
	// Hostname is the node's host name (the Hostname address). Default os.Hostname.
	Hostname string
	// ClusterDNS are the cluster DNS servers and ClusterDomain the cluster domain.
	// Defaults [10.43.0.10] and cluster.local.
	ClusterDNS    []string
	ClusterDomain string
	// ResolvConf is the host resolv.conf pods with dnsPolicy Default copy. Default
	// /etc/resolv.conf.
	ResolvConf string
	// Node registration: extra labels, control-plane role, reservations and pod capacity.
	NodeLabels     map[string]string
	ControlPlane   bool
	KubeReserved   corev1.ResourceList
	SystemReserved corev1.ResourceList
	// MaxPods is the pods capacity. Default 110.
	MaxPods int
	// Port of the kubelet API, reported in daemonEndpoints. Default 10250.
	Port int32
	// Versions reported in the node info.
	KubeletVersion string
	// SandboxImage is the pause image, never garbage-collected. Default
	// registry.k8s.io/pause:3.10.
	SandboxImage string
	// NetworkReady reports whether pods can get a network yet (the CNI config is
	// written). Default: always.
	NetworkReady func() bool
	// NodeStatusUpdateFrequency, NodeStatusReportFrequency and LeaseDuration: upstream's
	// 10 s, 5 min and 40 s by default; the lease is renewed every quarter of its duration.
	NodeStatusUpdateFrequency time.Duration
	NodeStatusReportFrequency time.Duration
	LeaseDuration             time.Duration
	// RelistPeriod is how often the runtime is listed for changes. Default 1 s.
	RelistPeriod time.Duration
	// SyncFrequency is how often each pod is synced without a change (configMap and secret
	// volumes are refreshed then). Default 10 s.
	SyncFrequency time.Duration
	// Clock. Default real.
	Clock clock.WithTicker
	// Logger. Default slog.Default().
	Logger *slog.Logger
}

func (o *Options) complete() error {
	switch {
	case o.NodeName == "":
		return errors.New("kubelet: NodeName is required")
	case o.Client == nil:
		return errors.New("kubelet: Client is required")
	case o.Runtime == nil || o.Images == nil:
		return errors.New("kubelet: Runtime and Images are required")
	case o.RootDir == "":
		return errors.New("kubelet: RootDir is required")
	case len(o.NodeIPs) == 0:
		return errors.New("kubelet: NodeIPs are required")
	}
	if o.PodLogsDir == "" {
		o.PodLogsDir = "/var/log/pods"
	}
	if o.Hostname == "" {
		o.Hostname, _ = os.Hostname()
	}
	if o.ClusterDNS == nil {
		o.ClusterDNS = []string{"10.43.0.10"}
	}
	if o.ClusterDomain == "" {
		o.ClusterDomain = "cluster.local"
	}
	if o.ResolvConf == "" {
		o.ResolvConf = "/etc/resolv.conf"
	}
	if o.MaxPods == 0 {
		o.MaxPods = 110
	}
	if o.Port == 0 {
		o.Port = 10250
	}
	if o.SandboxImage == "" {
		o.SandboxImage = "registry.k8s.io/pause:3.10"
	}
	if o.NetworkReady == nil {
		o.NetworkReady = func() bool { return true }
	}
	if o.NodeStatusUpdateFrequency == 0 {
		o.NodeStatusUpdateFrequency = 10 * time.Second
	}
	if o.NodeStatusReportFrequency == 0 {
		o.NodeStatusReportFrequency = 5 * time.Minute
	}
	if o.LeaseDuration == 0 {
		o.LeaseDuration = 40 * time.Second
	}
	if o.RelistPeriod == 0 {
		o.RelistPeriod = time.Second
	}
	if o.SyncFrequency == 0 {
		o.SyncFrequency = 10 * time.Second
	}
	if o.Clock == nil {
		o.Clock = clock.RealClock{}
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return nil
}

// Kubelet runs the pods of one node.
type Kubelet struct {
	opts        Options
	log         *slog.Logger
	client      kubernetes.Interface
	runtime     Runtime
	images      Images
	clock       clock.WithTicker
	runtimeName string
	cache       *statusCache
	crash       *podsync.Backoff
	pulls       *podsync.Backoff
	recorder    record.EventRecorder
	hostDNS     dns.Config
	probes      *probe.Manager
	volumes     *volume.Manager

	podLister     corelisters.PodLister
	serviceLister corelisters.ServiceLister
	nodeLister    corelisters.NodeLister

	mu      sync.Mutex
	pods    map[types.UID]*corev1.Pod // desired pods by the UID the kubelet runs them as
	static  map[types.UID]*corev1.Pod // static pods from manifests
	mirrors map[types.UID]*corev1.Pod // mirror pods by the static pod's UID
	workers map[types.UID]*podWorker
	started map[types.UID]time.Time // when the kubelet first accepted a pod
	node    *corev1.Node
	// posted is the pod as the kubelet's last status write returned it.
	posted map[types.UID]*corev1.Pod
	// staticStatus is the last status computed for each static pod.
	staticStatus map[types.UID]corev1.PodStatus
	// pullFailures is when an image pull last failed, by "<pod uid>/<image>".
	pullFailures map[string]time.Time
	relisted     time.Time
	machineInfo  Machine
	machineAt    time.Time

	runtimeVersion  string
	workerCtx       context.Context
	mirrorKick      chan struct{}
	nodeKick        chan struct{}
	registered      chan struct{}
	nodeReadyPosted bool

	// wg counts the running workers.
	wg sync.WaitGroup
}

// New checks opts and builds a Kubelet; Run starts it.
func New(opts Options) (*Kubelet, error) {
	if err := opts.complete(); err != nil {
		return nil, err
	}
	for _, dir := range []string{opts.RootDir, filepath.Join(opts.RootDir, "pods"), opts.PodLogsDir} {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("kubelet: %w", err)
		}
	}
	k := &Kubelet{
		opts:    opts,
		log:     opts.Logger.With("component", "kubelet"),
		client:  opts.Client,
		runtime: opts.Runtime,
		images:  opts.Images,
		clock:   opts.Clock,
		cache:   newStatusCache(),
		crash:   podsync.NewBackoff(10*time.Second, 5*time.Minute),
		pulls:   podsync.NewBackoff(10*time.Second, 5*time.Minute),
		pods:    map[types.UID]*corev1.Pod{},
		static:  map[types.UID]*corev1.Pod{},
		mirrors: map[types.UID]*corev1.Pod{},
		workers: map[types.UID]*podWorker{},
		started: map[types.UID]time.Time{},
		posted:  map[types.UID]*corev1.Pod{},

		staticStatus: map[types.UID]corev1.PodStatus{},
		pullFailures: map[string]time.Time{},
		mirrorKick:   make(chan struct{}, 1),
		nodeKick:     make(chan struct{}, 1),
		registered:   make(chan struct{}),
	}
	if data, err := os.ReadFile(opts.ResolvConf); err == nil {
		k.hostDNS = dns.ParseResolvConf(string(data))
	}
	return k, nil
}

// Run runs the kubelet until ctx is done: it registers the node, keeps its status and
// Lease, and runs the pods. On return, pods keep running in the runtime.
func (k *Kubelet) Run(ctx context.Context) error {
	v, err := k.runtime.Version(ctx, &runtimeapi.VersionRequest{})
	if err != nil {
		return fmt.Errorf("kubelet: container runtime: %w", err)
	}
	k.runtimeName, k.runtimeVersion = v.RuntimeName, v.RuntimeVersion
	k.workerCtx = ctx
	broadcaster := record.NewBroadcaster(record.WithContext(ctx))
	events := k.opts.EventClient
	if events == nil {
		events = k.client
	}
	broadcaster.StartRecordingToSink(&eventSink{client: events})
	defer broadcaster.Shutdown()
	k.recorder = broadcaster.NewRecorder(eventScheme, corev1.EventSource{Component: "kubelet", Host: k.opts.NodeName})
	k.probes = probe.NewManager(probe.Options{Runtime: k.runtime, Clock: k.clock, Logger: k.log, OnChange: k.kick, Recorder: k.recordProbe})
	k.volumes = volume.NewManager(volume.Options{
		RootDir: filepath.Join(k.opts.RootDir, "pods"), Client: k.client, Logger: k.log,
		Allocatable: k.allocatable,
		PodInfo: func(p *corev1.Pod) envvars.PodInfo {
			info := envvars.PodInfo{HostIPs: k.hostIPs()}
			for _, ip := range k.apiStatusPod(p).Status.PodIPs {
				info.PodIPs = append(info.PodIPs, ip.IP)
			}
			return info
		},
	})

	factory := informers.NewSharedInformerFactoryWithOptions(k.client, 0)
	podFactory := informers.NewSharedInformerFactoryWithOptions(k.client, 0,
		informers.WithTweakListOptions(func(o *metav1ListOptions) { o.FieldSelector = "spec.nodeName=" + k.opts.NodeName }))
	nodeFactory := informers.NewSharedInformerFactoryWithOptions(k.client, 0,
		informers.WithTweakListOptions(func(o *metav1ListOptions) { o.FieldSelector = "metadata.name=" + k.opts.NodeName }))
	podInformer := podFactory.Core().V1().Pods()
	serviceInformer := factory.Core().V1().Services()
	nodeInformer := nodeFactory.Core().V1().Nodes()
	k.podLister = podInformer.Lister()
	k.serviceLister = serviceInformer.Lister()
	k.nodeLister = nodeInformer.Lister()
	if _, err := podInformer.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    k.podChanged,
		UpdateFunc: func(_, obj any) { k.podChanged(obj) },
		DeleteFunc: k.podDeleted,
	}); err != nil {
		return err
	}
	_ = nodeInformer.Informer()
	factory.Start(ctx.Done())
	podFactory.Start(ctx.Done())
	nodeFactory.Start(ctx.Done())
	defer factory.Shutdown()
	defer podFactory.Shutdown()
	defer nodeFactory.Shutdown()

	var loops sync.WaitGroup
	run := func(f func(context.Context)) {
		loops.Add(1)
		go func() { defer loops.Done(); f(ctx) }()
	}
	defer func() {
		loops.Wait()
		k.stopWorkers()
		k.probes.Stop()
	}()
	run(k.nodeStatusLoop)
	run(k.leaseLoop)
	// Static pods run without the API: they start before the caches sync.
	if k.opts.PodManifestPath != "" {
		k.loadStaticPods()
		run(k.staticPodLoop)
	}
	if !cache.WaitForCacheSync(ctx.Done(), podInformer.Informer().HasSynced, serviceInformer.Informer().HasSynced) {
		return nil
	}
	k.log.Info("kubelet running", "node", k.opts.NodeName, "runtime", v.RuntimeName+" "+v.RuntimeVersion)
	// Only now, with every desired pod known, may the relist treat unknown pods in the
	// runtime as leftovers to remove.
	run(k.relistLoop)
	run(k.mirrorLoop)
	run(k.imageGCLoop)
	run(k.logRotateLoop)
	<-ctx.Done()
	return nil
}
