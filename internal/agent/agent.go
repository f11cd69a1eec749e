package agent

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"capstan/internal/containerd"
	"capstan/internal/kubelet"
	"capstan/internal/kubelet/cri"
	"capstan/internal/kubelet/images"
	kubeletserver "capstan/internal/kubelet/server"
	"capstan/internal/kubelet/volume"
	"capstan/internal/network"
	"capstan/internal/proxy"
	"capstan/internal/version"
)

// Options configures an agent. Zero fields take the documented defaults.
type Options struct {
	// Config is the node's client configuration (identity system:node:<name>). Required.
	Config *rest.Config
	// DataDir holds the agent's state under <DataDir>/agent. Default /var/lib/capstan.
	DataDir string
	// NodeName. Default: the host name, lower-cased.
	NodeName string
	// NodeIP is the node's InternalIP. Default: the source address of the default route.
	NodeIP string
	// ContainerRuntimeEndpoint uses an existing CRI runtime instead of a supervised
	// containerd.
	ContainerRuntimeEndpoint string
	// ContainerdSocket and ContainerdState place the supervised containerd's socket and
	// runtime state. Defaults /run/capstan/containerd/containerd.sock and
	// /run/capstan/containerd/state.
	ContainerdSocket, ContainerdState string
	// RegistryConfig is a registries.yaml for containerd's mirrors and credentials.
	RegistryConfig string
	// PodManifestPath is the static pods' directory. Default <DataDir>/agent/pod-manifests.
	PodManifestPath string
	// PodLogsDir. Default /var/log/pods.
	PodLogsDir string
	// ClusterDNS and ClusterDomain. Defaults 10.43.0.10 and cluster.local.
	ClusterDNS, ClusterDomain string
	// ClusterCIDR of the pod network. Default 10.42.0.0/16.
	ClusterCIDR string
	// PodNetwork backend: vxlan (default), host-gw or none.
	PodNetwork string
	// ProxyMode is the service proxy's mode: iptables (default), nftables or userspace;
	// "none" runs no service proxy on this node.
	ProxyMode string
	// KubeReserved and SystemReserved: "cpu=100m,memory=256Mi" style lists.
	KubeReserved, SystemReserved string
	// NodeLabels are extra labels; ControlPlane adds the control-plane role label.
	NodeLabels   map[string]string
	ControlPlane bool
	// KubeletAddress is the kubelet API's listen address. Default ":10250"; ":0" picks a
	// free port (tests).
	KubeletAddress string
	// KubeletServingCert is the kubelet API's certificate and ClientCA what verifies its
	// clients. Default: a self-signed certificate, and the CA of Config.
	KubeletServingCert *tls.Certificate
	ClientCA           *x509.CertPool
	// StopPodsOnExit, asked when the agent stops, tells whether to stop and remove every
	// pod of the runtime (and the pod network's routes and rules) before returning. Nil:
	// never; pods keep running while the agent restarts.
	StopPodsOnExit func() bool
	// Kubelet adjusts the kubelet's options after the agent's (tests shorten periods).
	Kubelet func(*kubelet.Options)
	// Logger. Default slog.Default().
	Logger *slog.Logger
	// OnReady is called once the kubelet runs.
	OnReady func(*kubelet.Kubelet)
}

func (o *Options) complete() error {
	if o.Config == nil {
		return errors.New("agent: a client configuration is required")
	}
	if o.DataDir == "" {
		o.DataDir = "/var/lib/capstan"
	}
	if o.NodeName == "" {
		o.NodeName = DefaultNodeName()
	}
	if o.NodeIP == "" {
		ip, _, err := network.DefaultRouteIP()
		if err != nil {
			o.NodeIP = "127.0.0.1"
		} else {
			o.NodeIP = ip.String()
		}
	}
	if net.ParseIP(o.NodeIP) == nil {
		return fmt.Errorf("agent: node IP %q is not an IP address", o.NodeIP)
	}
	agentDir := filepath.Join(o.DataDir, "agent")
	if o.PodManifestPath == "" {
		o.PodManifestPath = filepath.Join(agentDir, "pod-manifests")
	}
	if o.PodLogsDir == "" {
		o.PodLogsDir = "/var/log/pods"
	}
	if o.ClusterDNS == "" {
		o.ClusterDNS = "10.43.0.10"
	}
	if o.ClusterDomain == "" {
		o.ClusterDomain = "cluster.local"
	}
	if o.KubeletAddress == "" {
		o.KubeletAddress = ":" + strconv.Itoa(kubeletserver.DefaultPort)
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return nil
}

// DefaultNodeName is the host name, lower-cased (localhost when it cannot be read).
func DefaultNodeName() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		return "localhost"
	}
	return strings.ToLower(h)
}

// ParseReserved reads a "cpu=100m,memory=256Mi,ephemeral-storage=1Gi" list.
func ParseReserved(s string) (corev1.ResourceList, error) {
	out := corev1.ResourceList{}
	for _, kv := range strings.Split(s, ",") {
		kv = strings.TrimSpace(kv)
		if kv == "" {
			continue
		}
		name, value, ok := strings.Cut(kv, "=")
		if !ok {
			return nil, fmt.Errorf("%q is not name=quantity", kv)
		}
		q, err := resource.ParseQuantity(value)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		out[corev1.ResourceName(name)] = q
	}
	return out, nil
}

// Run runs the agent until ctx is done.
func Run(ctx context.Context, opts Options) error {
	if err := opts.complete(); err != nil {
		return err
	}
	log := opts.Logger.With("component", "agent")
	started := time.Now()
	kubeReserved, err := ParseReserved(opts.KubeReserved)
	if err != nil {
		return fmt.Errorf("--kube-reserved: %w", err)
	}
	systemReserved, err := ParseReserved(opts.SystemReserved)
	if err != nil {
		return fmt.Errorf("--system-reserved: %w", err)
	}
	agentDir := filepath.Join(opts.DataDir, "agent")
	cniConfDir := filepath.Join(agentDir, "etc", "cni", "net.d")
	for _, d := range []string{agentDir, cniConfDir, opts.PodManifestPath, filepath.Join(agentDir, "images")} {
		if err := os.MkdirAll(d, 0o750); err != nil {
			return fmt.Errorf("agent: %w", err)
		}
	}
	client, err := kubernetes.NewForConfig(opts.Config)
	if err != nil {
		return err
	}
	eventConfig := rest.CopyConfig(opts.Config)
	eventConfig.QPS, eventConfig.Burst = 50, 100
	eventClient, err := kubernetes.NewForConfig(eventConfig)
	if err != nil {
		return err
	}

	// The runtime: our own containerd unless told to use another.
	endpoint := opts.ContainerRuntimeEndpoint
	var supervisor *containerd.Supervisor
	runtimeCtx, stopRuntime := context.WithCancel(context.WithoutCancel(ctx))
	defer func() {
		stopRuntime()
		if supervisor != nil {
			<-supervisor.Done()
		}
	}()
	if endpoint == "" {
		var registries *containerd.Registries
		if opts.RegistryConfig != "" {
			data, err := os.ReadFile(opts.RegistryConfig)
			if err != nil {
				return fmt.Errorf("--registry-config: %w", err)
			}
			if registries, err = containerd.ParseRegistries(data); err != nil {
				return err
			}
		}
		supervisor, err = containerd.New(containerd.Options{
			Dir: filepath.Join(agentDir, "containerd"), Registries: registries, Logger: opts.Logger,
			Config: containerd.Config{
				Socket: opts.ContainerdSocket, State: opts.ContainerdState,
				SandboxImage: images.PauseImage, CNIConfDir: cniConfDir,
			},
		})
		if err != nil {
			return err
		}
		if err := supervisor.Start(runtimeCtx); err != nil {
			return err
		}
		endpoint = supervisor.Endpoint()
	}
	criClient, err := cri.Dial(endpoint)
	if err != nil {
		return err
	}
	defer criClient.Close()
	waitCtx, cancelWait := context.WithTimeout(ctx, 60*time.Second)
	_, err = criClient.WaitReady(waitCtx)
	cancelWait()
	if err != nil {
		return err
	}
	socket, err := cri.SocketPath(endpoint)
	if err != nil {
		return err
	}
	importer := &images.Importer{Address: socket, Logger: opts.Logger}
	if imported, err := images.EnsurePause(ctx, criClient.Images, importer); err != nil {
		if opts.ContainerRuntimeEndpoint == "" {
			return err
		}
		// Another runtime may not be a containerd ctr can import into; it then needs the
		// sandbox image by other means.
		log.Warn("could not import the built-in pause image into the given runtime", "err", err)
	} else if imported {
		log.Info("imported the built-in pause image", "image", images.PauseImage)
	}
	if _, err := importer.ImportDir(ctx, filepath.Join(agentDir, "images"), filepath.Join(agentDir, "images", ".imported.json")); err != nil {
		log.Warn("importing image tarballs", "err", err)
	}

	var wg sync.WaitGroup
	errc := make(chan error, 4)
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	spawn := func(name string, f func(context.Context) error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f(runCtx); err != nil && runCtx.Err() == nil {
				errc <- fmt.Errorf("%s: %w", name, err)
			}
		}()
	}

	// The pod network writes the CNI config; until then no sandbox can get an IP.
	var networkReady func() bool
	{
		netOpts := network.Options{
			NodeName: opts.NodeName, Client: client, Backend: network.Backend(opts.PodNetwork),
			CNIConfDir: cniConfDir, IPAMDataDir: filepath.Join(agentDir, "cni", "networks"),
			NodeIP: netip.MustParseAddr(opts.NodeIP), Logger: opts.Logger,
			// A node that stops its pods on exit leaves nothing of its network either.
			CleanupOnStop: stopPods(opts),
		}
		if opts.ClusterCIDR != "" {
			p, err := netip.ParsePrefix(opts.ClusterCIDR)
			if err != nil {
				return fmt.Errorf("--cluster-cidr: %w", err)
			}
			netOpts.ClusterCIDR = p
		}
		podNet, err := network.New(netOpts)
		if err != nil {
			return err
		}
		networkReady = func() bool {
			select {
			case <-podNet.Ready():
				return true
			default:
				return false
			}
		}
		spawn("pod network", podNet.Run)
	}

	listener, err := net.Listen("tcp", opts.KubeletAddress)
	if err != nil {
		return fmt.Errorf("kubelet API: listen: %w", err)
	}
	port := listener.Addr().(*net.TCPAddr).Port
	kopts := kubelet.Options{
		NodeName: opts.NodeName, Client: client, EventClient: eventClient, Runtime: criClient.Runtime, Images: criClient.Images,
		RootDir: filepath.Join(agentDir, "kubelet"), PodLogsDir: opts.PodLogsDir,
		PodManifestPath: opts.PodManifestPath, NodeIPs: []net.IP{net.ParseIP(opts.NodeIP)},
		ClusterDNS: []string{opts.ClusterDNS}, ClusterDomain: opts.ClusterDomain,
		NodeLabels: opts.NodeLabels, ControlPlane: opts.ControlPlane,
		KubeReserved: kubeReserved, SystemReserved: systemReserved,
		Port: int32(port), SandboxImage: images.PauseImage, KubeletVersion: version.Get().GitVersion, NetworkReady: networkReady,
		Logger: opts.Logger,
	}
	if opts.Kubelet != nil {
		opts.Kubelet(&kopts)
	}
	k, err := kubelet.New(kopts)
	if err != nil {
		listener.Close()
		return err
	}
	serving, clientCA, err := servingIdentity(opts)
	if err != nil {
		listener.Close()
		return err
	}
	api, err := kubeletserver.New(kubeletserver.Options{
		Kubelet: k, Listener: listener, ServingCert: *serving, ClientCA: clientCA,
		Images: criClient.Images, RootDir: agentDir, Logger: opts.Logger,
	})
	if err != nil {
		listener.Close()
		return err
	}
	spawn("kubelet API", api.Run)
	spawn("kubelet", k.Run)
	if opts.ProxyMode != "none" {
		spawn("kube-proxy", func(ctx context.Context) error {
			return proxy.Run(ctx, proxy.Options{
				Config: opts.Config, NodeName: opts.NodeName, Mode: opts.ProxyMode,
				ClusterCIDR: opts.ClusterCIDR, Logger: opts.Logger,
			})
		})
	}
	log.Info("agent started", "node", opts.NodeName, "nodeIP", opts.NodeIP, "runtime", endpoint, "took", time.Since(started).Round(time.Millisecond))
	if opts.OnReady != nil {
		opts.OnReady(k)
	}

	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-errc:
		log.Error("agent stopping", "err", runErr)
	}
	cancel()
	wg.Wait()
	if stopPods(opts) {
		stopCtx, cancelStop := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
		if err := StopAllPods(stopCtx, criClient.Runtime); err != nil {
			log.Warn("stopping pods on exit", "err", err)
		}
		if err := volume.UnmountAll(filepath.Join(agentDir, "kubelet", "pods"), nil); err != nil {
			log.Warn("unmounting pod volumes on exit", "err", err)
		}
		if opts.ProxyMode != "none" {
			if err := proxy.Cleanup(stopCtx, nil, opts.Logger); err != nil {
				log.Warn("removing the service proxy's rules on exit", "err", err)
			}
		}
		cancelStop()
	}
	return runErr
}

func stopPods(opts Options) bool { return opts.StopPodsOnExit != nil && opts.StopPodsOnExit() }

// StopAllPods stops and removes every sandbox (and so every container) of a runtime,
// several at a time: each stop tears down a network namespace through CNI.
func StopAllPods(ctx context.Context, rt runtimeapi.RuntimeServiceClient) error {
	resp, err := rt.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{})
	if err != nil {
		return err
	}
	// Last, the pods' cgroups, once the shims have removed the containers' own.
	defer kubelet.RemoveAllPodCgroups(2 * time.Second)
	var mu sync.Mutex
	var errs []error
	work := make(chan string)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for id := range work {
				_, err := rt.StopPodSandbox(ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: id})
				if err == nil {
					_, err = rt.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: id})
				}
				if err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			}
		}()
	}
	for _, sb := range resp.Items {
		work <- sb.Id
	}
	close(work)
	wg.Wait()
	return errors.Join(errs...)
}
