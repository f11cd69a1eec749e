package server

import (
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"capstan/internal/agent"
	"capstan/internal/procmem"
)

// NewCommand returns `capstan server`.
func NewCommand() *cobra.Command {
	var opts Options
	var mode uint32
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Run a control-plane node: etcd, the API server and the control-plane components",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			opts.WriteKubeconfigMode = fileMode(mode)
			opts.OnReady = func(Ready) {
				go procmem.ReleaseStartupAfter(ctx, procmem.StartupSettle, slog.Default())
			}
			return Run(ctx, opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.DataDir, "data-dir", "/var/lib/capstan", "Folder that holds all state (etcd data, certificates)")
	f.StringVar(&opts.WriteKubeconfig, "write-kubeconfig", "/etc/capstan/capstan.yaml", "Write the admin kubeconfig to this file")
	f.Uint32Var(&mode, "write-kubeconfig-mode", 0o600, "File mode of the admin kubeconfig, e.g. 0644")
	f.StringVar(&opts.BindAddress, "bind-address", "0.0.0.0", "Address the API server listens on")
	f.IntVar(&opts.HTTPSPort, "https-port", 6443, "HTTPS port of the API server")
	f.StringVar(&opts.AdvertiseAddress, "advertise-address", "", "IP the kubernetes Service points at (default: the default route's source address)")
	f.StringSliceVar(&opts.TLSSANs, "tls-san", nil, "Extra host names or IPs in the API server's serving certificate")
	f.StringVar(&opts.DatastoreEndpoint, "datastore-endpoint", "", "Use this external etcd cluster (comma-separated https URLs) instead of the embedded member")
	f.StringVar(&opts.DatastoreCAFile, "datastore-cafile", "", "CA bundle that signs the external etcd's serving certificates")
	f.StringVar(&opts.DatastoreCertFile, "datastore-certfile", "", "Client certificate for the external etcd")
	f.StringVar(&opts.DatastoreKeyFile, "datastore-keyfile", "", "Client key for the external etcd")
	f.IntVar(&opts.EtcdClientPort, "etcd-client-port", 2379, "Client port of the embedded etcd member (loopback only)")
	f.IntVar(&opts.EtcdPeerPort, "etcd-peer-port", 2380, "Peer port of the embedded etcd member")
	f.StringVar(&opts.ServiceCIDR, "service-cidr", "10.43.0.0/16", "IP range of Service cluster IPs")
	f.StringVar(&opts.NodePortRange, "service-node-port-range", "30000-32767", "Port range of NodePort Services")
	f.BoolVar(&opts.DisableAgent, "disable-agent", false, "Run the control plane only, no kubelet on this node")
	f.BoolVar(&opts.DisableControllerManager, "disable-controller-manager", false, "Do not run the controllers in this server")
	f.BoolVar(&opts.DisableScheduler, "disable-scheduler", false, "Do not run the scheduler in this server")
	f.StringVar(&opts.SchedulerConfig, "scheduler-config", "", "KubeSchedulerConfiguration file of the scheduler")
	f.BoolVar(&opts.DisableDNS, "disable-dns", false, "Do not run cluster DNS in this server")
	f.StringVar(&opts.DNSListen, "dns-listen", "", "UDP and TCP address of cluster DNS (default: the advertise address, port 53)")
	f.StringVar(&opts.DNSMetricsListen, "dns-metrics-listen", "", "Address of cluster DNS's /healthz and /metrics (default: the --dns-listen host, port 9153)")
	f.StringVar(&opts.ClusterDNS, "cluster-dns", "", "ClusterIP of the kube-dns Service (default: the 10th address of --service-cidr, 10.43.0.10)")
	f.StringVar(&opts.ClusterDomain, "cluster-domain", "cluster.local", "Cluster domain")
	f.StringSliceVar(&opts.Controllers, "controllers", []string{"*"}, "Controllers to run: '*' runs every controller on by default, 'foo' enables foo, '-foo' disables foo")
	addServiceAccountFlags(f, &opts.ServiceAccount)
	// Last: the agent's flags skip those the server already has (--data-dir, --cluster-dns).
	agent.AddFlags(cmd, &opts.Agent)
	return cmd
}

func fileMode(m uint32) os.FileMode { return os.FileMode(m) & os.ModePerm }
