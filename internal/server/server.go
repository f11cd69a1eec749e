package server

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"k8s.io/klog/v2"

	"capstan/internal/agent"
	"capstan/internal/apiserver"
	"capstan/internal/controllermanager"
	"capstan/internal/etcd"
	"capstan/internal/network"
	"capstan/internal/pki"
	"capstan/internal/version"
)

// Options configures `capstan server`. The zero value of every field has the documented
// default, filled in by Run.
type Options struct {
	// DataDir holds all state. Default /var/lib/capstan.
	DataDir string
	// WriteKubeconfig is where the admin kubeconfig goes. Default /etc/capstan/capstan.yaml.
	WriteKubeconfig string
	// WriteKubeconfigMode of that file. Default 0600.
	WriteKubeconfigMode os.FileMode
	// BindAddress the API server listens on. Default 0.0.0.0.
	BindAddress string
	// HTTPSPort of the API server. Default 6443; -1 picks a free port (tests).
	HTTPSPort int
	// AdvertiseAddress is the node IP the kubernetes Service points at. Default: the source
	// address of the default route, else 127.0.0.1.
	AdvertiseAddress string
	// TLSSANs are extra names and IPs of the serving certificate.
	TLSSANs []string
	// DatastoreEndpoint, when set, uses an external etcd cluster (comma-separated URLs)
	// instead of the embedded member.
	DatastoreEndpoint                                    string
	DatastoreCAFile, DatastoreCertFile, DatastoreKeyFile string
	// EtcdClientPort and EtcdPeerPort of the embedded member. Default 2379 and 2380; -1 picks
	// free ports (tests).
	EtcdClientPort, EtcdPeerPort int
	// ServiceCIDR. Default 10.43.0.0/16.
	ServiceCIDR string
	// NodePortRange "min-max". Default 30000-32767.
	NodePortRange string
	// DisableAgent runs the control plane only.
	DisableAgent bool
	// Agent configures the agent (kubelet and containerd) the server runs unless
	// DisableAgent; the server sets its client configuration, data directory and the
	// control-plane role, and issues its node and kubelet serving certificates.
	Agent agent.Options
	// DisableControllerManager does not run the controllers in this server.
	DisableControllerManager bool
	// Controllers is the controller-manager's --controllers selection. Default ["*"].
	Controllers []string
	// DisableScheduler does not run the scheduler in this server; SchedulerConfig is its
	// KubeSchedulerConfiguration file (default: none, upstream's defaults).
	DisableScheduler bool
	SchedulerConfig  string
	// DisableDNS does not run cluster DNS in this server. DNSListen is its UDP and TCP
	// address (default: the advertise address, port 53; with a loopback advertise address
	// DNS runs only when DNSListen is set); DNSMetricsListen serves its /healthz and
	// /metrics (default: the DNSListen host, port 9153). ClusterDNS is the ClusterIP of the
	// kube-dns Service (default: the 10th address of ServiceCIDR, 10.43.0.10) and
	// ClusterDomain the cluster domain (default cluster.local).
	DisableDNS                  bool
	DNSListen, DNSMetricsListen string
	ClusterDNS, ClusterDomain   string
	// ServiceAccount configures service-account tokens: their signing key, issuer and
	// audiences.
	ServiceAccount ServiceAccountOptions
	// ControllerSettings, when set, adjusts the controllers' settings (tests shorten
	// periods with it). Default: upstream's settings.
	ControllerSettings func(*controllermanager.Settings)
	// Logger. Default slog.Default().
	Logger *slog.Logger
	// OnReady is called once the server serves, with what a client needs.
	OnReady func(Ready)
}

// Ready describes a serving server.
type Ready struct {
	// URL of the API server, e.g. https://127.0.0.1:6443.
	URL string
	// Kubeconfig is the path of the admin kubeconfig.
	Kubeconfig string
	// CAPEM, AdminCertPEM, AdminKeyPEM are the admin credentials.
	CAPEM, AdminCertPEM, AdminKeyPEM []byte
	// Etcd is the datastore client the API server uses (for tests and operations tools).
	Etcd *clientv3.Client
}

func (o *Options) complete() error {
	if o.DataDir == "" {
		o.DataDir = "/var/lib/capstan"
	}
	if o.WriteKubeconfig == "" {
		o.WriteKubeconfig = "/etc/capstan/capstan.yaml"
	}
	if o.WriteKubeconfigMode == 0 {
		o.WriteKubeconfigMode = 0o600
	}
	if o.BindAddress == "" {
		o.BindAddress = "0.0.0.0"
	}
	if o.HTTPSPort == 0 {
		o.HTTPSPort = 6443
	}
	if o.EtcdClientPort == 0 {
		o.EtcdClientPort = 2379
	}
	if o.EtcdPeerPort == 0 {
		o.EtcdPeerPort = 2380
	}
	if o.ServiceCIDR == "" {
		o.ServiceCIDR = "10.43.0.0/16"
	}
	if o.NodePortRange == "" {
		o.NodePortRange = "30000-32767"
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.AdvertiseAddress == "" {
		o.AdvertiseAddress = network.NodeIP().String()
	}
	if net.ParseIP(o.AdvertiseAddress) == nil {
		return fmt.Errorf("--advertise-address %q is not an IP address", o.AdvertiseAddress)
	}
	return nil
}

// Run runs the server until ctx is done, then shuts down in reverse start order.
func Run(ctx context.Context, opts Options) error {
	if err := opts.complete(); err != nil {
		return err
	}
	log := opts.Logger.With("component", "server")
	// The libraries' klog output (client-go, leader election) goes to the one slog logger.
	klog.SetSlogLogger(opts.Logger)
	_, serviceCIDR, err := net.ParseCIDR(opts.ServiceCIDR)
	if err != nil {
		return fmt.Errorf("--service-cidr: %w", err)
	}
	npMin, npMax, err := parsePortRange(opts.NodePortRange)
	if err != nil {
		return fmt.Errorf("--service-node-port-range: %w", err)
	}
	tlsDir := filepath.Join(opts.DataDir, "server", "tls")
	ca, err := pki.LoadOrCreateCA(tlsDir, "cluster-ca", "capstan-ca@"+strconv.FormatInt(time.Now().Unix(), 10))
	if err != nil {
		return err
	}
	hostname, _ := os.Hostname()
	advertise := net.ParseIP(opts.AdvertiseAddress)
	serving, err := ca.LoadOrIssue(tlsDir, "serving-kube-apiserver",
		pki.ServingCertSpec(hostname, []net.IP{advertise}, opts.TLSSANs, firstIP(serviceCIDR)))
	if err != nil {
		return err
	}
	admin, err := ca.LoadOrIssue(tlsDir, "client-admin", pki.CertSpec{
		CommonName: "system:admin", Organization: []string{"system:masters"},
		Usages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	})
	if err != nil {
		return err
	}

	// The API server's identity towards kubelets (logs, exec, port-forward, nodes/proxy).
	kubeletClient, err := ca.LoadOrIssue(tlsDir, "client-kube-apiserver-kubelet-client", pki.CertSpec{
		CommonName: apiserver.KubeletClientUser, Usages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	})
	if err != nil {
		return err
	}

	sa, err := opts.ServiceAccount.load(tlsDir)
	if err != nil {
		return err
	}

	client, stopEtcd, err := startDatastore(ctx, opts, ca, tlsDir, log)
	if err != nil {
		return err
	}
	defer stopEtcd()
	defer client.Close()

	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	listener, err := net.Listen("tcp", net.JoinHostPort(opts.BindAddress, portString(opts.HTTPSPort)))
	if err != nil {
		return fmt.Errorf("apiserver: listen: %w", err)
	}
	port := listener.Addr().(*net.TCPAddr).Port
	apiOpts := apiserver.Options{
		Etcd: client, Listener: listener, ServingCert: serving.TLS, ClientCA: pool,
		AdvertiseAddress: advertise, AdvertisePort: int32(port), ServiceCIDR: serviceCIDR,
		NodePortMin: npMin, NodePortMax: npMax, Version: version.Get(), Logger: opts.Logger,
		// Kubelets' serving certificates are not verified (upstream's default): agents
		// serve with self-signed ones until they get theirs from the CA.
		Kubelet: apiserver.KubeletClientConfig{CertPEM: kubeletClient.CertPEM, KeyPEM: kubeletClient.KeyPEM},
	}
	opts.ServiceAccount.apply(&apiOpts, sa)
	api, err := apiserver.New(ctx, apiOpts)
	if err != nil {
		listener.Close()
		return err
	}
	// The API server outlives the components: it stops only after they have.
	apiCtx, cancelAPI := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelAPI()
	apiDone := make(chan error, 1)
	go func() { apiDone <- api.Run(apiCtx) }()
	select {
	case <-api.Ready():
	case err := <-apiDone:
		return err
	}

	url := "https://" + net.JoinHostPort(loopbackFor(opts.BindAddress), strconv.Itoa(port))
	if err := pki.WriteKubeconfig(opts.WriteKubeconfig, pki.KubeconfigSpec{
		Server: url, CAPEM: ca.CertPEM, CertPEM: admin.CertPEM, KeyPEM: admin.KeyPEM,
	}, opts.WriteKubeconfigMode); err != nil {
		return err
	}
	stopComponents, err := startComponents(ctx, opts.components(ca, sa.key), ca, tlsDir, url, opts.Logger)
	if err != nil {
		cancelAPI()
		<-apiDone
		return err
	}
	if opts.DisableAgent {
		log.Debug("agent disabled")
	}
	log.Info("Capstan server is ready", "kubeconfig", opts.WriteKubeconfig, "url", url)
	if opts.OnReady != nil {
		opts.OnReady(Ready{URL: url, Kubeconfig: opts.WriteKubeconfig, CAPEM: ca.CertPEM, AdminCertPEM: admin.CertPEM, AdminKeyPEM: admin.KeyPEM, Etcd: client})
	}
	select {
	case <-ctx.Done():
		stopComponents()
		cancelAPI()
		err = <-apiDone
	case err = <-apiDone:
		stopComponents()
	}
	log.Info("Capstan server stopped")
	return err
}

// startDatastore starts the embedded member, or connects to the external cluster.
func startDatastore(ctx context.Context, opts Options, ca *pki.CA, tlsDir string, log *slog.Logger) (*clientv3.Client, func(), error) {
	if opts.DatastoreEndpoint != "" {
		var tlsConfig *tls.Config
		if opts.DatastoreCAFile != "" || opts.DatastoreCertFile != "" {
			var err error
			if tlsConfig, err = datastoreTLS(opts); err != nil {
				return nil, nil, err
			}
		}
		c, err := etcd.NewClient(etcd.ClientOptions{Endpoints: strings.Split(opts.DatastoreEndpoint, ","), TLS: tlsConfig})
		if err != nil {
			return nil, nil, err
		}
		return c, func() {}, nil
	}
	_, err := ca.LoadOrIssue(tlsDir, "etcd-server", pki.CertSpec{
		CommonName: "etcd-server", DNSNames: []string{"localhost"}, IPs: []net.IP{net.IPv4(127, 0, 0, 1)},
		Usages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	})
	if err != nil {
		return nil, nil, err
	}
	etcdClient, err := ca.LoadOrIssue(tlsDir, "etcd-client", pki.CertSpec{
		CommonName: "kube-apiserver-etcd-client", Usages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	})
	if err != nil {
		return nil, nil, err
	}
	member, err := etcd.Start(ctx, etcd.Options{
		Name:      "capstan",
		DataDir:   filepath.Join(opts.DataDir, "server", "db", "etcd"),
		ClientURL: "https://127.0.0.1:" + portString(opts.EtcdClientPort),
		PeerURL:   "http://127.0.0.1:" + portString(opts.EtcdPeerPort),
		ClientTLS: &etcd.TLSFiles{
			CertFile: filepath.Join(tlsDir, "etcd-server.crt"), KeyFile: filepath.Join(tlsDir, "etcd-server.key"),
			TrustedCAFile: filepath.Join(tlsDir, "cluster-ca.crt"),
		},
		Logger: log,
	})
	if err != nil {
		return nil, nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	c, err := etcd.NewClient(etcd.ClientOptions{Endpoints: member.Endpoints(), TLS: &tls.Config{
		Certificates: []tls.Certificate{etcdClient.TLS}, RootCAs: pool, MinVersion: tls.VersionTLS12,
	}})
	if err != nil {
		member.Close()
		return nil, nil, err
	}
	return c, member.Close, nil
}

func datastoreTLS(opts Options) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if opts.DatastoreCAFile != "" {
		data, err := os.ReadFile(opts.DatastoreCAFile)
		if err != nil {
			return nil, fmt.Errorf("--datastore-cafile: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(data) {
			return nil, fmt.Errorf("--datastore-cafile %s: no certificates", opts.DatastoreCAFile)
		}
		cfg.RootCAs = pool
	}
	if opts.DatastoreCertFile != "" || opts.DatastoreKeyFile != "" {
		pair, err := tls.LoadX509KeyPair(opts.DatastoreCertFile, opts.DatastoreKeyFile)
		if err != nil {
			return nil, fmt.Errorf("--datastore-certfile/--datastore-keyfile: %w", err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	return cfg, nil
}

func portString(p int) string {
	if p < 0 {
		return "0"
	}
	return strconv.Itoa(p)
}

func loopbackFor(bind string) string {
	if ip := net.ParseIP(bind); ip == nil || ip.IsUnspecified() {
		return "127.0.0.1"
	}
	return bind
}

func firstIP(cidr *net.IPNet) net.IP {
	ip := make(net.IP, len(cidr.IP))
	copy(ip, cidr.IP)
	ip[len(ip)-1]++
	return ip
}

func parsePortRange(s string) (int32, int32, error) {
	lo, hi, ok := strings.Cut(s, "-")
	a, err1 := strconv.Atoi(lo)
	b, err2 := strconv.Atoi(hi)
	if !ok || err1 != nil || err2 != nil || a < 1 || b > 65535 || a > b {
		return 0, 0, fmt.Errorf("%q is not a port range like 30000-32767", s)
	}
	return int32(a), int32(b), nil
}
