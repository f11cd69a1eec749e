package controllermanager

import (
	"fmt"
	"net"
	"os"
	"os/signal"
	"strconv"
	"syscall"

	"github.com/spf13/cobra"
	"k8s.io/client-go/tools/clientcmd"

	"capstan/internal/pki"
)

// NewCommand returns `capstan controller-manager`, the controllers alone, like upstream's
// kube-controller-manager.
func NewCommand() *cobra.Command {
	var kubeconfig, bindAddress, saKeyFile, rootCAFile string
	var securePort int
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
			if err := loadKeyFiles(&settings, saKeyFile, rootCAFile); err != nil {
				return err
			}
			opts.Settings = &settings
			if securePort > 0 {
				opts.SecureAddr = net.JoinHostPort(bindAddress, strconv.Itoa(securePort))
			}
			return Run(ctx, opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&kubeconfig, "kubeconfig", "", "Kubeconfig of the API server to control")
	f.IntVar(&securePort, "secure-port", 10257, "HTTPS port of /metrics and /healthz (self-signed, unauthenticated); 0 disables")
	f.StringVar(&bindAddress, "bind-address", "0.0.0.0", "Address of --secure-port")
	f.StringSliceVar(&opts.Controllers, "controllers", []string{"*"}, "Controllers to run: '*' runs every controller on by default, 'foo' enables foo, '-foo' disables foo")
	f.BoolVar(&opts.LeaderElect, "leader-elect", true, "Run the controllers only while holding the kube-system/kube-controller-manager Lease")
	f.DurationVar(&opts.Election.LeaseDuration, "leader-elect-lease-duration", 15e9, "How long a standby waits before taking over a silent leader's lease")
	f.DurationVar(&opts.Election.RenewDeadline, "leader-elect-renew-deadline", 10e9, "How long the leader keeps trying to renew before it stops leading")
	f.DurationVar(&opts.Election.RetryPeriod, "leader-elect-retry-period", 2e9, "How often candidates try to acquire or renew the lease")
	for _, c := range concurrencyFlags {
		settings.ConcurrentSyncs[c.key] = settings.Workers(c.key)
		f.Var(intInMap{settings.ConcurrentSyncs, c.key}, c.flag, fmt.Sprintf("Objects of the %s controller synced at once", c.key))
	}
	f.DurationVar(&settings.NodeMonitorGracePeriod, "node-monitor-grace-period", settings.NodeMonitorGracePeriod, "How long a node may be silent before it is marked Unknown")
	f.IntVar(&settings.TerminatedPodGCThreshold, "terminated-pod-gc-threshold", settings.TerminatedPodGCThreshold, "Terminated pods kept before the pod garbage collector deletes the oldest")
	f.StringVar(&saKeyFile, "service-account-private-key-file", "", "PEM private key that signs the tokens of service-account token secrets")
	f.StringVar(&rootCAFile, "root-ca-file", "", "CA bundle published as kube-root-ca.crt and in token secrets (default: the kubeconfig's CA)")
	f.StringVar(&settings.ClusterCIDR, "cluster-cidr", settings.ClusterCIDR, "Pod IP range that node IPAM divides into per-node ranges")
	f.IntVar(&settings.NodeCIDRMaskSize, "node-cidr-mask-size", settings.NodeCIDRMaskSize, "Prefix length of each node's pod range")
	return cmd
}

// loadKeyFiles reads --service-account-private-key-file and --root-ca-file into settings.
func loadKeyFiles(settings *Settings, keyFile, caFile string) error {
	if keyFile != "" {
		key, err := pki.LoadServiceAccountKey(keyFile)
		if err != nil {
			return fmt.Errorf("--service-account-private-key-file: %w", err)
		}
		settings.ServiceAccountPrivateKey = key
	}
	if caFile != "" {
		ca, err := os.ReadFile(caFile)
		if err != nil {
			return fmt.Errorf("--root-ca-file: %w", err)
		}
		settings.RootCAPEM = ca
	}
	return nil
}

// concurrencyFlags are upstream's --concurrent-*-syncs flags and the controller each sets.
var concurrencyFlags = []struct{ flag, key string }{
	{"concurrent-deployment-syncs", "deployment"},
	{"concurrent-replicaset-syncs", "replicaset"},
	{"concurrent-rc-syncs", "replicationcontroller"},
	{"concurrent-statefulset-syncs", "statefulset"},
	{"concurrent-daemonset-syncs", "daemonset"},
	{"concurrent-job-syncs", "job"},
	{"concurrent-cron-job-syncs", "cronjob"},
	{"concurrent-ttl-after-finished-syncs", "ttl-after-finished"},
	{"concurrent-endpoint-syncs", "endpoints"},
	{"concurrent-service-endpoint-syncs", "endpointslice"},
	{"mirroring-concurrent-service-endpoint-syncs", "endpointslicemirroring"},
	{"concurrent-gc-syncs", "garbage-collector"},
	{"concurrent-namespace-syncs", "namespace"},
	{"concurrent-resource-quota-syncs", "resourcequota"},
}

// intInMap is a flag that sets one entry of a map.
type intInMap struct {
	m   map[string]int
	key string
}

func (v intInMap) String() string {
	if v.m == nil {
		return "0"
	}
	return strconv.Itoa(v.m[v.key])
}

func (v intInMap) Set(s string) error {
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return fmt.Errorf("must be a positive integer, got %q", s)
	}
	v.m[v.key] = n
	return nil
}

func (v intInMap) Type() string { return "int" }
