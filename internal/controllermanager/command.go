package controllermanager

import (
	"fmt"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
	"k8s.io/client-go/tools/clientcmd"
)

// NewCommand returns `capstan controller-manager`, the controllers alone, like upstream's
// kube-controller-manager.
func NewCommand() *cobra.Command {
	var kubeconfig string
	opts := Options{LeaderElect: true}
	settings := DefaultSettings()
	cmd := &cobra.Command{
		Use:   "controller-manager",
		Short: "Run the controllers that make the cluster converge (kube-controller-manager)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
			if err != nil {
				return fmt.Errorf("--kubeconfig: %w", err)
			}
			opts.Config = cfg
			opts.Settings = &settings
			return Run(ctx, opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&kubeconfig, "kubeconfig", "", "Kubeconfig of the API server to control")
	f.StringSliceVar(&opts.Controllers, "controllers", []string{"*"}, "Controllers to run: '*' runs every controller on by default, 'foo' enables foo, '-foo' disables foo")
	f.BoolVar(&opts.LeaderElect, "leader-elect", true, "Run the controllers only while holding the kube-system/kube-controller-manager Lease")
	f.DurationVar(&opts.Election.LeaseDuration, "leader-elect-lease-duration", 15e9, "How long a standby waits before taking over a silent leader's lease")
	f.DurationVar(&opts.Election.RenewDeadline, "leader-elect-renew-deadline", 10e9, "How long the leader keeps trying to renew before it stops leading")
	f.DurationVar(&opts.Election.RetryPeriod, "leader-elect-retry-period", 2e9, "How often candidates try to acquire or renew the lease")
	f.DurationVar(&settings.NodeMonitorGracePeriod, "node-monitor-grace-period", settings.NodeMonitorGracePeriod, "How long a node may be silent before it is marked Unknown")
	f.IntVar(&settings.TerminatedPodGCThreshold, "terminated-pod-gc-threshold", settings.TerminatedPodGCThreshold, "Terminated pods kept before the pod garbage collector deletes the oldest")
	f.StringVar(&settings.ClusterCIDR, "cluster-cidr", settings.ClusterCIDR, "Pod IP range that node IPAM divides into per-node ranges")
	f.IntVar(&settings.NodeCIDRMaskSize, "node-cidr-mask-size", settings.NodeCIDRMaskSize, "Prefix length of each node's pod range")
	return cmd
}
