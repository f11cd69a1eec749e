package network

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"

	"capstan/internal/controller/base"
)

// Options configures a Network. Fields the agent does not know may stay zero.
type Options struct {
	// NodeName is the Node this agent runs as. Required.
	NodeName string
	// Client reads Nodes (list and watch). Required.
	Client kubernetes.Interface
	// Backend: DefaultBackend (vxlan) when empty.
	Backend Backend
	// ClusterCIDR is the pod CIDR of the whole cluster. Default DefaultClusterCIDR.
	ClusterCIDR netip.Prefix
	// CNIConfDir is the dir containerd's CRI plugin reads its CNI config from. Required.
	CNIConfDir string
	// IPAMDataDir is host-local's lease dir; "" is the plugin's default.
	IPAMDataDir string
	// NodeIP is the underlay address (the node's InternalIP). Default: the source address
	// of the default route.
	NodeIP netip.Addr
	// MTU of pod interfaces. Default: the underlay device's MTU, less the VXLAN overhead
	// when the backend is vxlan.
	MTU int
	// VXLANDevice, VNI and VXLANPort shape the overlay. Defaults DefaultVXLANDevice,
	// DefaultVNI, DefaultVXLANPort.
	VXLANDevice string
	VNI         int
	VXLANPort   int
	// RouteLocalnet also sets net.ipv4.conf.all.route_localnet (the proxy's NodePorts on
	// 127.0.0.1). Default false.
	RouteLocalnet bool
	// CleanupOnStop removes the routes, the overlay device and the netfilter rules when Run
	// returns. Default false: pods keep their network while the agent restarts.
	CleanupOnStop bool
	// ResyncPeriod is how often the state is reconverged without a Node change, repairing
	// what someone else removed. Default 1 minute.
	ResyncPeriod time.Duration
	// NetNS is the path of the network namespace to program (e.g. /run/netns/x); "" is the
	// namespace of the process. Tests use it to make fake nodes.
	NetNS string
	// Runner runs iptables-restore, iptables and modprobe. Default os/exec.
	Runner Runner
	// Logger. Default slog.Default().
	Logger *slog.Logger
}

// Network converges a node's pod network: host sysctls, the CNI conflist, routes or overlay
// entries to every other node, and the masquerade rules.
type Network struct {
	opts   Options
	logger *slog.Logger
	dp     dataplane

	ready     chan struct{}
	readyOnce sync.Once

	// appliedRules is the rule text last applied successfully; only the sync worker uses it.
	appliedRules string

	mu      sync.Mutex
	podCIDR netip.Prefix
	under   underlay
}

// sameForNetwork reports whether two versions of a Node look the same to the pod network.
func sameForNetwork(a, b *corev1.Node) bool {
	pa, _ := PeerFromNode(a)
	pb, _ := PeerFromNode(b)
	return pa.Name == pb.Name && pa.IP == pb.IP && slices.Equal(pa.PodCIDRs, pb.PodCIDRs)
}

// New checks opts and fills the defaults. It touches nothing on the host.
func New(opts Options) (*Network, error) {
	if opts.NodeName == "" {
		return nil, errors.New("network: NodeName is required")
	}
	if opts.Client == nil {
		return nil, errors.New("network: Client is required")
	}
	if opts.CNIConfDir == "" {
		return nil, errors.New("network: CNIConfDir is required")
	}
	b, err := ParseBackend(string(opts.Backend))
	if err != nil {
		return nil, err
	}
	opts.Backend = b
	if !opts.ClusterCIDR.IsValid() {
		opts.ClusterCIDR = DefaultClusterCIDR
	}
	if !opts.ClusterCIDR.Addr().Is4() {
		return nil, fmt.Errorf("network: cluster CIDR %v: only IPv4 is supported", opts.ClusterCIDR)
	}
	opts.ClusterCIDR = opts.ClusterCIDR.Masked()
	if opts.VXLANDevice == "" {
		opts.VXLANDevice = DefaultVXLANDevice
	}
	if opts.VNI == 0 {
		opts.VNI = DefaultVNI
	}
	if opts.VXLANPort == 0 {
		opts.VXLANPort = DefaultVXLANPort
	}
	if opts.ResyncPeriod <= 0 {
		opts.ResyncPeriod = time.Minute
	}
	if opts.Runner == nil {
		opts.Runner = ExecRunner{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	n := &Network{
		opts:   opts,
		logger: opts.Logger.With("component", "pod-network"),
		ready:  make(chan struct{}),
	}
	n.dp = newDataplane(n.opts)
	return n, nil
}

// Ready is closed once the host is prepared and the CNI conflist is written: from then on
// containerd can start sandboxes.
func (n *Network) Ready() <-chan struct{} { return n.ready }

// PodCIDR is the range in the conflist: the node's podCIDR, or the fallback before node
// IPAM has run. Invalid before Ready.
func (n *Network) PodCIDR() netip.Prefix {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.podCIDR
}

// The queue holds at most these two keys. Both converge towards all nodes; resyncKey also
// re-applies the netfilter rules even when their text has not changed (someone may have
// flushed them) and comes back every ResyncPeriod.
const (
	syncKey   = "nodes"
	resyncKey = "resync"
)

// Run prepares the host, writes the conflist and keeps routes, overlay and rules converged
// with the Nodes until ctx is done. With CleanupOnStop it removes them before returning.
func (n *Network) Run(ctx context.Context) error {
	changed, err := n.dp.prepareHost(ctx, HostOptions{RouteLocalnet: n.opts.RouteLocalnet, Runner: n.opts.Runner})
	for _, c := range changed {
		n.logger.Info("set kernel parameter", "param", c.Key, "from", c.From, "to", c.To)
	}
	if err != nil {
		return fmt.Errorf("preparing host: %w", err)
	}
	u, err := n.dp.underlay(n.opts.NodeIP)
	if err != nil {
		return fmt.Errorf("finding the underlay: %w", err)
	}
	n.mu.Lock()
	n.under = u
	n.mu.Unlock()
	n.logger.Info("pod network starting", "backend", n.opts.Backend, "nodeIP", u.IP, "device", u.Device, "mtu", u.MTU)

	// A conflist left by an earlier run is good until the Nodes say otherwise: containerd
	// can start sandboxes (static pods too) while the API server is still away.
	if prev, err := ConflistPodCIDR(n.opts.CNIConfDir); err == nil && prev.Addr().Is4() {
		n.mu.Lock()
		n.podCIDR = prev
		n.mu.Unlock()
		n.readyOnce.Do(func() { close(n.ready) })
		n.logger.Info("using the CNI config of the previous run until the Node is read", "podCIDR", prev)
	}

	factory := informers.NewSharedInformerFactoryWithOptions(n.opts.Client, 0)
	nodes := factory.Core().V1().Nodes()
	loop := base.New(base.Options{
		Name:   "pod-network",
		Logger: n.logger,
		Sync: func(ctx context.Context, key string) error {
			if err := n.sync(ctx, nodes.Lister(), key == resyncKey); err != nil {
				return err
			}
			if key == resyncKey {
				return base.RequeueAfter(n.opts.ResyncPeriod)
			}
			return nil
		},
	})
	// Every sync converges towards all nodes, so every event maps to the one key and a
	// burst of node updates costs one sync. Updates that change nothing the network reads
	// (heartbeats, conditions, labels) are dropped.
	enqueue := func(any) { loop.EnqueueKey(syncKey) }
	if _, err := nodes.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: enqueue,
		UpdateFunc: func(old, cur any) {
			o, ok1 := old.(*corev1.Node)
			c, ok2 := cur.(*corev1.Node)
			if ok1 && ok2 && sameForNetwork(o, c) {
				return
			}
			enqueue(cur)
		},
		DeleteFunc: enqueue,
	}); err != nil {
		return err
	}
	loop.WaitFor(nodes.Informer().HasSynced)
	loop.EnqueueKey(resyncKey)
	factory.Start(ctx.Done())
	defer factory.Shutdown()

	err = loop.Run(ctx)
	if ctx.Err() != nil {
		err = nil // stopping before the informers synced is not a failure
	}
	n.appliedRules = ""
	if n.opts.CleanupOnStop {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if cerr := n.Cleanup(cctx); cerr != nil {
			err = errors.Join(err, cerr)
		}
	}
	return err
}

// sync converges everything towards the Nodes in the lister.
func (n *Network) sync(ctx context.Context, lister corelisters.NodeLister, force bool) error {
	all, err := lister.List(labels.Everything())
	if err != nil {
		return err
	}
	var self *corev1.Node
	peers := make([]Peer, 0, len(all))
	for _, node := range all {
		if node.Name == n.opts.NodeName {
			self = node
			continue
		}
		p, _ := PeerFromNode(node)
		peers = append(peers, p)
	}
	podCIDR, selfCIDRs, err := n.writeConfig(self)
	if err != nil {
		return err
	}
	n.mu.Lock()
	u := n.under
	n.mu.Unlock()

	var errs []error
	rules := MasqueradeRules(n.opts.ClusterCIDR, podCIDR)
	if force || rules != n.appliedRules {
		n.appliedRules = ""
		if err := n.dp.applyRules(ctx, rules); err != nil {
			errs = append(errs, fmt.Errorf("masquerade rules: %w", err))
		} else {
			n.appliedRules = rules
		}
	}
	want := DesiredRoutes(RouteInput{
		Backend:         n.opts.Backend,
		Self:            n.opts.NodeName,
		SelfPodCIDRs:    selfCIDRs,
		Underlay:        u.Device,
		UnderlaySubnets: u.Subnets,
		VXLANDevice:     n.opts.VXLANDevice,
		Peers:           peers,
	})
	for name, why := range want.Skipped {
		n.logger.Debug("no route to node", "node", name, "reason", why)
	}
	vx := vxlanSpec{
		Name: n.opts.VXLANDevice, VNI: n.opts.VNI, Port: n.opts.VXLANPort,
		Local: u.IP, ParentIndex: u.Index, MAC: VTEPMAC(u.IP), MTU: u.MTU - vxlanOverhead,
		Addr: netip.PrefixFrom(podCIDR.Addr(), 32),
	}
	if err := n.dp.applyRoutes(want, vx); err != nil {
		errs = append(errs, fmt.Errorf("routes to other nodes: %w", err))
	}
	return errors.Join(errs...)
}

// writeConfig writes the conflist for the node's range and reports the range in use and
// the node's ranges (the range in use when the Node has none).
func (n *Network) writeConfig(self *corev1.Node) (netip.Prefix, []netip.Prefix, error) {
	n.mu.Lock()
	u, old := n.under, n.podCIDR
	n.mu.Unlock()

	var selfCIDRs []netip.Prefix
	if self != nil {
		selfCIDRs = podCIDRs(self)
	}
	podCIDR := choosePodCIDR(selfCIDRs, old, n.opts.ClusterCIDR)
	if len(selfCIDRs) == 0 {
		selfCIDRs = []netip.Prefix{podCIDR}
	}
	mtu := n.opts.MTU
	if mtu == 0 {
		mtu = u.MTU
		if n.opts.Backend == BackendVXLAN && mtu > vxlanOverhead {
			mtu -= vxlanOverhead
		}
	}
	wrote, err := n.dp.writeConflist(n.opts.CNIConfDir, CNIConfig{PodCIDR: podCIDR, MTU: mtu, IPAMDataDir: n.opts.IPAMDataDir})
	if err != nil {
		return podCIDR, selfCIDRs, fmt.Errorf("writing CNI config: %w", err)
	}
	if wrote {
		n.logger.Info("wrote CNI config", "podCIDR", podCIDR, "previous", old, "dir", n.opts.CNIConfDir)
	}
	n.mu.Lock()
	n.podCIDR = podCIDR
	n.mu.Unlock()
	n.readyOnce.Do(func() { close(n.ready) })
	return podCIDR, selfCIDRs, nil
}

// choosePodCIDR picks the range for the conflist: the node's first podCIDR; without one
// (node IPAM has not run, or the Node is gone for a moment) the range already in use, so
// running pods keep their gateway; the fallback only when there was never one.
func choosePodCIDR(node []netip.Prefix, current, cluster netip.Prefix) netip.Prefix {
	switch {
	case len(node) > 0:
		return node[0]
	case current.IsValid():
		return current
	}
	return FallbackPodCIDR(cluster)
}

// Cleanup removes what Run installed towards other nodes: our routes, the overlay device
// and the CAPSTAN-NET- chains. The conflist and the bridge stay: pods may still use them.
func (n *Network) Cleanup(ctx context.Context) error {
	return errors.Join(
		n.dp.applyRoutes(Desired{}, vxlanSpec{Name: n.opts.VXLANDevice}),
		n.dp.removeRules(ctx),
	)
}

// underlay is the device that carries pod traffic between nodes.
type underlay struct {
	IP      netip.Addr
	Device  string
	Index   int
	MTU     int
	Subnets []netip.Prefix
}

// vxlanSpec is the overlay device as it should be.
type vxlanSpec struct {
	Name        string
	VNI, Port   int
	Local       netip.Addr
	ParentIndex int
	MAC         net.HardwareAddr
	MTU         int
	// Addr is the device's own address: the first address of this node's pod range, /32.
	Addr netip.Prefix
}

// dataplane is the I/O edge: kernel state and files. The Linux one is in dataplane_linux.go.
type dataplane interface {
	prepareHost(ctx context.Context, o HostOptions) ([]SysctlChange, error)
	underlay(nodeIP netip.Addr) (underlay, error)
	writeConflist(dir string, c CNIConfig) (bool, error)
	applyRules(ctx context.Context, rules string) error
	removeRules(ctx context.Context) error
	// applyRoutes makes the overlay device, our routes, neighbours and FDB entries equal
	// to d; with d.VXLAN false the device is removed.
	applyRoutes(d Desired, vx vxlanSpec) error
}
