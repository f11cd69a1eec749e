package proxy

import (
	"fmt"
	"log/slog"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"

	"capstan/internal/proxy/runner"
)

// NewCommand returns `capstan proxy`, the service proxy alone, like upstream's kube-proxy.
func NewCommand() *cobra.Command {
	var (
		kubeconfig string
		cleanup    bool
		opts       Options
	)
	cmd := &cobra.Command{
		Use:   "proxy",
		Short: "Forward Service traffic to endpoints on this node (kube-proxy)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			klog.SetSlogLogger(slog.Default())
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			if cleanup {
				if err := Cleanup(ctx, runner.Exec{}, slog.Default()); err != nil {
					return err
				}
				fmt.Fprintln(cmd.OutOrStdout(), "Removed the proxy's rules of every mode.")
				return nil
			}
			rc, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
			if err != nil {
				return fmt.Errorf("--kubeconfig: %w", err)
			}
			opts.Config = rc
			return Run(ctx, opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&kubeconfig, "kubeconfig", "", "Kubeconfig of the API server (default: in-cluster)")
	f.BoolVar(&cleanup, "cleanup", false, "Remove every rule any proxy mode installed, then exit")
	f.StringVar(&opts.Mode, "proxy-mode", ModeIPTables, "Which proxy mode to use: "+strings.Join(Modes, ", ")+" (this build has: "+strings.Join(builtModes(), ", ")+")")
	f.StringVar(&opts.NodeName, "hostname-override", "", "This node's name (default: the hostname)")
	f.DurationVar(&opts.SyncPeriod, "sync-period", 0, "How often all rules are rewritten even without changes (default 30s)")
	f.DurationVar(&opts.MinSyncPeriod, "min-sync-period", 0, "Rate limit of rule syncs: one per period after a burst of two; changes in between are batched (default 1s)")
	f.StringVar(&opts.ClusterCIDR, "cluster-cidr", "10.42.0.0/16", "The pods' range: cluster-IP traffic from outside it is masqueraded (\"none\": no masquerade)")
	f.BoolVar(&opts.MasqueradeAll, "masquerade-all", false, "Masquerade all traffic to cluster IPs")
	f.IntVar(&opts.MasqueradeBit, "iptables-masquerade-bit", 14, "Bit of the packet mark that asks for masquerade (0-31)")
	f.DurationVar(&opts.UDPIdleTimeout, "udp-timeout", 0, "How long an idle UDP session of the userspace mode is kept open (default 250ms)")
	f.StringVar(&opts.HealthzBindAddress, "healthz-bind-address", "0.0.0.0:10256", "Address of /healthz (empty: off)")
	f.StringVar(&opts.MetricsBindAddress, "metrics-bind-address", "127.0.0.1:10249", "Address of /metrics (empty: off)")
	return cmd
}
