package agent

import (
	"errors"
	"fmt"
	"log/slog"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
	"k8s.io/client-go/tools/clientcmd"

	"capstan/internal/kubelet"
	"capstan/internal/procmem"
)

// NewCommand returns `capstan agent`.
func NewCommand() *cobra.Command {
	var opts Options
	var kubeconfig string
	cmd := &cobra.Command{
		Use:   "agent",
		Short: "Run a worker node: kubelet and a supervised containerd",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			if kubeconfig == "" {
				return errors.New("--kubeconfig is required (joining with a token is not supported yet)")
			}
			cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
			if err != nil {
				return fmt.Errorf("--kubeconfig: %w", err)
			}
			cfg.UserAgent = "capstan-agent"
			cfg.QPS, cfg.Burst = 100, 200
			opts.Config = cfg
			opts.OnReady = func(*kubelet.Kubelet) {
				go procmem.ReleaseStartupAfter(ctx, procmem.StartupSettle, slog.Default())
			}
			return Run(ctx, opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&kubeconfig, "kubeconfig", "", "Kubeconfig with the node's credentials")
	AddFlags(cmd, &opts)
	return cmd
}

// AddFlags adds the agent's flags (shared with `capstan server`, which runs an agent);
// flags the command already has (--data-dir, --cluster-dns, ...) are left to it.
func AddFlags(cmd *cobra.Command, opts *Options) {
	f := cmd.Flags()
	stopPodsFlag := new(bool)
	opts.StopPodsOnExit = func() bool { return *stopPodsFlag }
	if f.Lookup("data-dir") == nil {
		f.StringVar(&opts.DataDir, "data-dir", "/var/lib/capstan", "Folder that holds all state")
	}
	f.StringVar(&opts.NodeName, "node-name", "", "Node name (default: the host name)")
	f.StringVar(&opts.NodeIP, "node-ip", "", "Node IP (default: the default route's source address)")
	f.StringVar(&opts.ContainerRuntimeEndpoint, "container-runtime-endpoint", "", "Use this CRI socket instead of a supervised containerd")
	f.StringVar(&opts.ContainerdSocket, "containerd-socket", "", "Socket of the supervised containerd (default /run/capstan/containerd/containerd.sock); with --containerd-state, several agents can share a host")
	f.StringVar(&opts.ContainerdState, "containerd-state", "", "Runtime state directory of the supervised containerd (default /run/capstan/containerd/state)")
	f.StringVar(&opts.PodLogsDir, "pod-logs-dir", "", "Directory of the containers' logs (default /var/log/pods)")
	f.StringVar(&opts.RegistryConfig, "registry-config", "", "registries.yaml with image registry mirrors and credentials")
	f.StringVar(&opts.PodManifestPath, "pod-manifest-path", "", "Static pod manifests directory (default <data-dir>/agent/pod-manifests)")
	f.StringVar(&opts.KubeReserved, "kube-reserved", "", "Resources reserved for Kubernetes components, e.g. cpu=100m,memory=256Mi")
	f.StringVar(&opts.SystemReserved, "system-reserved", "", "Resources reserved for the system, e.g. cpu=100m,memory=256Mi")
	f.StringVar(&opts.KubeletAddress, "kubelet-address", "", "Listen address of the kubelet API (default :10250)")
	f.BoolVar(stopPodsFlag, "stop-pods-on-exit", false, "Stop and remove every pod when the agent exits (default: leave them running)")
	f.StringToStringVar(&opts.NodeLabels, "node-label", nil, "Extra node labels, key=value[,key=value]")
	if f.Lookup("cluster-dns") == nil {
		f.StringVar(&opts.ClusterDNS, "cluster-dns", "", "Cluster DNS server IP (default 10.43.0.10)")
	}
	if f.Lookup("cluster-domain") == nil {
		f.StringVar(&opts.ClusterDomain, "cluster-domain", "", "Cluster domain (default cluster.local)")
	}
	if f.Lookup("proxy-mode") == nil {
		f.StringVar(&opts.ProxyMode, "proxy-mode", "", "Service proxy mode: iptables (default), nftables, userspace, or none for no service proxy on this node")
	}
	if f.Lookup("pod-network") == nil {
		f.StringVar(&opts.PodNetwork, "pod-network", "", "Pod network between nodes: vxlan (default), host-gw or none")
	}
}
