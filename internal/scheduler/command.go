package scheduler

import (
	"fmt"
	"log/slog"
	"net"
	"os/signal"
	"strconv"
	"syscall"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"

	"capstan/internal/componentserver"
	"capstan/internal/scheduler/config"
)

// NewCommand returns `capstan scheduler`, the scheduler alone, like upstream's
// kube-scheduler.
func NewCommand() *cobra.Command {
	var (
		kubeconfig, configFile, bindAddress string
		securePort                          int
		leaderElect                         bool
		opts                                Options
	)
	cmd := &cobra.Command{
		Use:   "scheduler",
		Short: "Assign pending pods to nodes (kube-scheduler)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			klog.SetSlogLogger(slog.Default())
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			cfg := config.Default()
			if configFile != "" {
				var err error
				if cfg, err = config.Load(configFile); err != nil {
					return err
				}
			}
			if kubeconfig == "" {
				kubeconfig = cfg.ClientConnection.Kubeconfig
			}
			rc, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
			if err != nil {
				return fmt.Errorf("--kubeconfig: %w", err)
			}
			opts.Config, opts.Configuration = rc, cfg
			if cmd.Flags().Changed("leader-elect") {
				opts.LeaderElect = &leaderElect
			}
			reg := prometheus.NewRegistry()
			reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
			opts.Registry = reg
			g, ctx := errgroup.WithContext(ctx)
			if securePort > 0 {
				addr := net.JoinHostPort(bindAddress, strconv.Itoa(securePort))
				g.Go(func() error { return componentserver.Serve(ctx, addr, reg) })
			}
			g.Go(func() error { return Run(ctx, opts) })
			return g.Wait()
		},
	}
	f := cmd.Flags()
	f.StringVar(&kubeconfig, "kubeconfig", "", "Kubeconfig of the API server (default: the config file's clientConnection.kubeconfig, else in-cluster)")
	f.StringVar(&configFile, "config", "", "KubeSchedulerConfiguration file (kubescheduler.config.k8s.io/v1)")
	f.BoolVar(&leaderElect, "leader-elect", true, "Schedule only while holding the kube-system/kube-scheduler Lease (overrides the config file)")
	f.DurationVar(&opts.Election.LeaseDuration, "leader-elect-lease-duration", 0, "How long a standby waits before taking over a silent leader's lease (default: the config file's, 15s)")
	f.DurationVar(&opts.Election.RenewDeadline, "leader-elect-renew-deadline", 0, "How long the leader keeps trying to renew before it stops leading (default 10s)")
	f.DurationVar(&opts.Election.RetryPeriod, "leader-elect-retry-period", 0, "How often candidates try to acquire or renew the lease (default 2s)")
	f.IntVar(&securePort, "secure-port", 10259, "HTTPS port of /metrics and /healthz (self-signed, unauthenticated); 0 disables")
	f.StringVar(&bindAddress, "bind-address", "0.0.0.0", "Address of --secure-port")
	f.Float32Var(&opts.QPS, "kube-api-qps", 0, "Client QPS to the API server (default: the config file's, else 5000)")
	f.IntVar(&opts.Burst, "kube-api-burst", 0, "Client burst to the API server (default: the config file's, else 10000)")
	return cmd
}
