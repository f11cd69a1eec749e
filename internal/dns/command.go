package dns

import (
	"fmt"
	"log/slog"
	"net"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"

	"capstan/internal/network"
)

// NewCommand returns `capstan dns`, cluster DNS alone (for split deployments).
func NewCommand() *cobra.Command {
	var (
		kubeconfig, advertise string
		publish               bool
		opts                  Options
		pub                   Publish
	)
	cmd := &cobra.Command{
		Use:   "dns",
		Short: "Serve cluster DNS: Service and pod names from the API, the rest forwarded to the host's resolvers",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			klog.SetSlogLogger(slog.Default())
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			rc, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
			if err != nil {
				return fmt.Errorf("--kubeconfig: %w", err)
			}
			rc.UserAgent = "capstan-dns"
			opts.Config = rc
			nodeIP := network.NodeIP()
			if opts.Listen == "" {
				opts.Listen = net.JoinHostPort(nodeIP.String(), "53")
			}
			host, _, err := net.SplitHostPort(opts.Listen)
			if err != nil {
				return fmt.Errorf("--listen: %w", err)
			}
			if !cmd.Flags().Changed("http-listen") {
				opts.HTTPListen = net.JoinHostPort(host, "9153")
			}
			if publish {
				if pub.Address = net.ParseIP(advertise); pub.Address == nil {
					if advertise != "" {
						return fmt.Errorf("--advertise-address %q is not an IP address", advertise)
					}
					pub.Address = nodeIP
					if ip := net.ParseIP(host); ip != nil && !ip.IsUnspecified() {
						pub.Address = ip
					}
				}
				opts.Publish = &pub
			}
			opts.Logger = slog.Default()
			return Run(ctx, opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&kubeconfig, "kubeconfig", "", "Kubeconfig of the API server (default: in-cluster)")
	f.StringVar(&opts.Listen, "listen", "", "UDP and TCP address of the DNS service (default: the node IP, port 53)")
	f.StringVar(&opts.HTTPListen, "http-listen", "", "Address of /healthz and /metrics (default: the --listen host, port 9153; empty disables)")
	f.StringVar(&opts.Domain, "cluster-domain", "cluster.local", "Cluster domain")
	f.StringSliceVar(&opts.Upstreams, "upstream", nil, "Resolvers (ip or ip:port) of names outside the cluster (default: the nameservers of --resolv-conf)")
	f.StringVar(&opts.ResolvConf, "resolv-conf", "/etc/resolv.conf", "Resolver configuration to take upstream resolvers from")
	f.IntVar(&opts.CacheSize, "cache-size", 10000, "Forwarded answers to keep (negative disables the cache)")
	f.BoolVar(&publish, "publish-service", true, "Create the kube-system/kube-dns Service when missing and register this server as its endpoint")
	f.StringVar(&pub.ServiceIP, "cluster-ip", DefaultServiceIP, "ClusterIP of the kube-dns Service when this server creates it")
	f.StringVar(&advertise, "advertise-address", "", "IP registered as this server's endpoint (default: the --listen IP, else the node IP)")
	f.StringVar(&pub.Name, "endpoint-name", "", "Names this server's EndpointSlice, kube-dns-<name> (default: the host name)")
	return cmd
}
