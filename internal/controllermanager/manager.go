package controllermanager

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
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/record"
	"k8s.io/utils/clock"

	"capstan/internal/componentserver"
	"capstan/internal/controller/base"
	"capstan/internal/leaderelection"
)

// Options configures Run.
type Options struct {
	// Config reaches the API server with the controller-manager's identity. Required.
	Config *rest.Config
	// Controllers is the --controllers selection. Default ["*"].
	Controllers []string
	// LeaderElect runs the controllers only while holding the kube-system/kube-controller-manager
	// Lease. Default false here; the command and the server turn it on.
	LeaderElect bool
	// Election tunes the lease durations (zero values: upstream's).
	Election leaderelection.Options
	// Settings of the controllers. Zero value: DefaultSettings().
	Settings *Settings
	// Registry receives the controllers' metrics. Default: a private registry.
	Registry *prometheus.Registry
	// SecureAddr, when set, serves /metrics and /healthz over HTTPS there (upstream's
	// --secure-port 10257).
	SecureAddr string
	// ResyncPeriod of the shared informers. Default 12h (upstream's min-resync is 12h).
	ResyncPeriod time.Duration
	// Controllers to choose from. Default All(); tests pass their own.
	Available []Controller
	Logger    *slog.Logger
	Clock     clock.WithTicker
}

// Run runs the selected controllers until ctx is done.
func Run(ctx context.Context, opts Options) error {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	log := opts.Logger.With("component", "kube-controller-manager")
	if opts.Clock == nil {
		opts.Clock = clock.RealClock{}
	}
	if opts.Settings == nil {
		s := DefaultSettings()
		opts.Settings = &s
	}
	if opts.Registry == nil {
		opts.Registry = prometheus.NewRegistry()
	}
	if opts.ResyncPeriod == 0 {
		opts.ResyncPeriod = 12 * time.Hour
	}
	if opts.Available == nil {
		opts.Available = All()
	}
	selected, err := Select(opts.Available, opts.Controllers)
	if err != nil {
		return err
	}
	client, err := kubernetes.NewForConfig(opts.Config)
	if err != nil {
		return fmt.Errorf("controller-manager: client: %w", err)
	}
	if opts.SecureAddr != "" {
		go func() {
			if err := componentserver.Serve(ctx, opts.SecureAddr, opts.Registry); err != nil {
				log.Error("serving metrics", "err", err)
			}
		}()
	}
	run := func(ctx context.Context) {
		if err := runControllers(ctx, opts, client, selected, log); err != nil {
			log.Error("controllers stopped", "err", err)
		}
	}
	if !opts.LeaderElect {
		run(ctx)
		return nil
	}
	el := opts.Election
	el.Client, el.Namespace, el.Name, el.Logger = client, "kube-system", "kube-controller-manager", log
	return leaderelection.Run(ctx, el, run)
}

func runControllers(ctx context.Context, opts Options, client kubernetes.Interface, selected []Controller, log *slog.Logger) error {
	meta, err := metadata.NewForConfig(opts.Config)
	if err != nil {
		return fmt.Errorf("controller-manager: metadata client: %w", err)
	}
	broadcaster := record.NewBroadcaster(record.WithContext(ctx))
	broadcaster.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: client.CoreV1().Events("")})
	defer broadcaster.Shutdown()
	cc := &Context{
		Config:    opts.Config,
		Client:    client,
		Metadata:  meta,
		Informers: informers.NewSharedInformerFactory(client, opts.ResyncPeriod),
		Recorder: func(component string) record.EventRecorder {
			return broadcaster.NewRecorder(scheme.Scheme, corev1.EventSource{Component: component})
		},
		Metrics:  base.NewMetrics(opts.Registry),
		Logger:   log,
		Clock:    opts.Clock,
		Settings: *opts.Settings,
	}
	var runs []func(context.Context) error
	var started []string
	for _, c := range selected {
		r, err := c.Start(ctx, cc)
		if err != nil {
			return fmt.Errorf("starting %s: %w", c.Name, err)
		}
		if r != nil {
			runs = append(runs, r)
			started = append(started, c.Name)
		}
	}
	cc.Informers.Start(ctx.Done())
	log.Info("controllers started", "controllers", started)
	var wg sync.WaitGroup
	for i, r := range runs {
		wg.Add(1)
		go func(name string, r func(context.Context) error) {
			defer wg.Done()
			if err := r(ctx); err != nil && ctx.Err() == nil {
				log.Error("controller failed", "controller", name, "err", err)
			}
		}(started[i], r)
	}
	<-ctx.Done()
	wg.Wait()
	cc.Informers.Shutdown()
	return nil
}
