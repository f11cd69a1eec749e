package proxy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"

	"capstan/internal/proxy/desired"
	"capstan/internal/proxy/runner"
	"capstan/internal/proxy/userspace"
)

// Options configures the proxy. The zero value of every field but Config has the
// documented default, filled in by Run.
type Options struct {
	// Config reaches the API server with the proxy's identity. Required.
	Config *rest.Config
	// NodeName is this node's name (upstream's --hostname-override). Default: the
	// hostname, lower-cased.
	NodeName string
	// Mode is the --proxy-mode: iptables (default), nftables or userspace.
	Mode string
	// SyncPeriod is how often everything is rewritten even without changes. Default 30s.
	SyncPeriod time.Duration
	// MinSyncPeriod is the least time between two syncs; changes within it are batched.
	// Default 1s.
	MinSyncPeriod time.Duration
	// ClusterCIDR is the pod range (comma-separated for dual stack): cluster-IP traffic from
	// outside it is masqueraded. Default 10.42.0.0/16; "none" masquerades none.
	ClusterCIDR string
	// MasqueradeAll masquerades all cluster-IP traffic.
	MasqueradeAll bool
	// MasqueradeBit is the packet-mark bit asking for masquerade. Default 14.
	MasqueradeBit int
	// HealthzBindAddress serves /healthz (upstream port 10256); empty serves nothing.
	HealthzBindAddress string
	// MetricsBindAddress serves /metrics and /healthz (upstream port 10249); empty serves
	// nothing.
	MetricsBindAddress string
	// ListenHealthCheck opens the listener of a health-check node port (LoadBalancer
	// services with the Local external traffic policy). Default: TCP on every address.
	ListenHealthCheck func(port int32) (net.Listener, error)
	// Sockets opens the userspace mode's proxy sockets and its connections to endpoints
	// (e.g. inside the network namespace Runner acts in). Default: the host's.
	Sockets userspace.Sockets
	// UDPIdleTimeout ends an idle UDP session of the userspace mode (upstream's
	// --udp-timeout). Default 250ms.
	UDPIdleTimeout time.Duration
	// Registry the metrics are registered on. Default: a registry of the proxy's own.
	Registry *prometheus.Registry
	// Runner runs the mode's tools and conntrack (e.g. inside a network namespace).
	// Default runner.Exec{}.
	Runner runner.Runner
	// Logger. Default slog.Default().
	Logger *slog.Logger
}

func (o *Options) complete() error {
	if o.Config == nil {
		return errors.New("proxy: no API client configuration")
	}
	if o.NodeName == "" {
		h, err := os.Hostname()
		if err != nil {
			return fmt.Errorf("proxy: node name: %w", err)
		}
		o.NodeName = strings.ToLower(h)
	}
	if o.Mode == "" {
		o.Mode = ModeIPTables
	}
	if o.SyncPeriod == 0 {
		o.SyncPeriod = 30 * time.Second
	}
	if o.MinSyncPeriod == 0 {
		o.MinSyncPeriod = time.Second
	}
	if o.MinSyncPeriod < 0 || o.SyncPeriod < 0 {
		return errors.New("proxy: negative sync period")
	}
	if o.ClusterCIDR == "" {
		o.ClusterCIDR = "10.42.0.0/16"
	}
	if o.Registry == nil {
		o.Registry = prometheus.NewRegistry()
	}
	if o.Runner == nil {
		o.Runner = runner.Exec{}
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return nil
}

// parseCIDRs parses a comma-separated list; "none" is the empty list.
func parseCIDRs(s string) ([]netip.Prefix, error) {
	if s == "none" {
		return nil, nil
	}
	var out []netip.Prefix
	for _, part := range strings.Split(s, ",") {
		p, err := netip.ParsePrefix(strings.TrimSpace(part))
		if err != nil {
			return nil, fmt.Errorf("--cluster-cidr: %w", err)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// Run runs the proxy until ctx is done. It leaves its rules in place when it returns, so
// traffic keeps flowing across a restart; Cleanup removes them.
func Run(ctx context.Context, opts Options) error {
	if err := opts.complete(); err != nil {
		return err
	}
	log := opts.Logger.With("component", "kube-proxy")
	podCIDRs, err := parseCIDRs(opts.ClusterCIDR)
	if err != nil {
		return err
	}
	proxier, err := newProxier(opts.Mode, modeConfig{runner: opts.Runner, masqueradeBit: opts.MasqueradeBit, sockets: opts.Sockets, udpIdleTimeout: opts.UDPIdleTimeout, logger: log})
	if err != nil {
		return err
	}
	// A mode that forwards in this process (userspace) stops when the proxy does; its
	// rules stay, like every mode's.
	if c, ok := proxier.(io.Closer); ok {
		defer c.Close()
	}
	// Rules of another mode (an earlier run with another --proxy-mode) would shadow ours.
	if err := cleanupModes(ctx, opts.Runner, log, opts.Mode); err != nil {
		log.Warn("Removing the rules of other proxy modes failed", "err", err)
	}
	client, err := kubernetes.NewForConfig(opts.Config)
	if err != nil {
		return fmt.Errorf("proxy: %w", err)
	}

	// Services and slices another proxy is named for, and headless ones, get no rules.
	skip := func(o *metav1.ListOptions) {
		o.LabelSelector = "!service.kubernetes.io/service-proxy-name,!service.kubernetes.io/headless"
	}
	factory := informers.NewSharedInformerFactoryWithOptions(client, 0, informers.WithTweakListOptions(skip))
	nodeFactory := informers.NewSharedInformerFactoryWithOptions(client, 0, informers.WithTweakListOptions(func(o *metav1.ListOptions) {
		o.FieldSelector = fields.OneTermEqualSelector("metadata.name", opts.NodeName).String()
	}))
	services := factory.Core().V1().Services()
	slices := factory.Discovery().V1().EndpointSlices()
	nodes := nodeFactory.Core().V1().Nodes()

	m := newMetrics(opts.Registry, opts.Mode)
	compute := func() *desired.State {
		svcs, _ := services.Lister().List(labels.Everything())
		sls, _ := slices.Lister().List(labels.Everything())
		in := desired.Input{
			Services: svcs, Slices: sls, NodeName: opts.NodeName,
			Masquerade: desired.Masquerade{All: opts.MasqueradeAll}, PodCIDRs: podCIDRs,
		}
		if n, err := nodes.Lister().Get(opts.NodeName); err == nil {
			in.NodeLabels = n.Labels
		}
		return desired.Compute(in)
	}
	s := newSyncer(proxier, compute, opts.Runner, log, m, opts.SyncPeriod, opts.MinSyncPeriod)
	s.healthChecks = newHealthServers(opts.ListenHealthCheck, log)
	defer func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		s.healthChecks.close(sctx)
	}()
	if _, err := services.Informer().AddEventHandler(changeHandler(func(any) { m.serviceChanges.Inc(); s.changed("", time.Time{}) })); err != nil {
		return err
	}
	if _, err := slices.Informer().AddEventHandler(changeHandler(func(obj any) {
		m.endpointChanges.Inc()
		key, at := sliceChange(obj)
		s.changed(key, at)
	})); err != nil {
		return err
	}
	// Of its node the proxy reads only the labels (topology): status heartbeats cost no sync.
	nodeChanged := func(any) { s.changed("", time.Time{}) }
	if _, err := nodes.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    nodeChanged,
		UpdateFunc: func(old, cur any) { nodeLabelsChanged(old, cur, nodeChanged) },
		DeleteFunc: nodeChanged,
	}); err != nil {
		return err
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	factory.Start(ctx.Done())
	nodeFactory.Start(ctx.Done())
	defer factory.Shutdown()
	defer nodeFactory.Shutdown()

	serveErr := make(chan error, 2)
	healthTimeout := 2 * opts.SyncPeriod
	if opts.HealthzBindAddress != "" {
		mux := http.NewServeMux()
		mux.Handle("/healthz", healthHandler(s, healthTimeout))
		go func() { serveErr <- serve(ctx, opts.HealthzBindAddress, mux) }()
	}
	if opts.MetricsBindAddress != "" {
		mux := http.NewServeMux()
		mux.Handle("/metrics", promhttp.HandlerFor(opts.Registry, promhttp.HandlerOpts{}))
		mux.Handle("/healthz", healthHandler(s, healthTimeout))
		go func() { serveErr <- serve(ctx, opts.MetricsBindAddress, mux) }()
	}

	if !cache.WaitForCacheSync(ctx.Done(), services.Informer().HasSynced, slices.Informer().HasSynced, nodes.Informer().HasSynced) {
		return nil // stopped before the caches filled
	}
	log.Info("Service proxy started", "mode", opts.Mode, "node", opts.NodeName)
	loopDone := make(chan struct{})
	go func() {
		defer close(loopDone)
		s.loop(ctx)
	}()
	select {
	case <-ctx.Done():
		<-loopDone
		return nil
	case err := <-serveErr:
		cancel()
		<-loopDone
		return err
	}
}

// nodeLabelsChanged calls f with cur when its labels differ from old's.
func nodeLabelsChanged(old, cur any, f func(any)) {
	o, ok1 := old.(*corev1.Node)
	c, ok2 := cur.(*corev1.Node)
	if ok1 && ok2 && maps.Equal(o.Labels, c.Labels) {
		return
	}
	f(cur)
}

// changeHandler calls f for every add, update and delete.
func changeHandler(f func(obj any)) cache.ResourceEventHandler {
	return cache.ResourceEventHandlerFuncs{
		AddFunc:    f,
		UpdateFunc: func(_, obj any) { f(obj) },
		DeleteFunc: f,
	}
}

// sliceChange names the EndpointSlice of an event and says when it changed: the time the
// endpoint controller writes in the endpoints.kubernetes.io/last-change-trigger-time
// annotation, else now.
func sliceChange(obj any) (string, time.Time) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		return t.Key, time.Now()
	}
	sl, ok := obj.(*discoveryv1.EndpointSlice)
	if !ok {
		return "", time.Now()
	}
	if v := sl.Annotations[corev1.EndpointsLastChangeTriggerTime]; v != "" {
		if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
			return sl.Namespace + "/" + sl.Name, t
		}
	}
	return sl.Namespace + "/" + sl.Name, time.Now()
}

// healthHandler answers like upstream's /healthz: 200 while no change has waited longer
// than timeout, else 503, with the last sync time.
func healthHandler(s *syncer, timeout time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		last, ok := s.health(timeout)
		body := struct {
			LastUpdated string `json:"lastUpdated"`
			CurrentTime string `json:"currentTime"`
		}{CurrentTime: time.Now().UTC().Format(time.RFC3339Nano)}
		if !last.IsZero() {
			body.LastUpdated = last.UTC().Format(time.RFC3339Nano)
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		if !ok {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		_ = json.NewEncoder(w).Encode(body)
	})
}

// serve serves plain HTTP on addr until ctx is done.
func serve(ctx context.Context, addr string, h http.Handler) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("proxy: listening on %s: %w", addr, err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
