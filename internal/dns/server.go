package dns

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
)

// Options configure a DNS server. Zero values take the documented defaults.
type Options struct {
	// Config reaches the API server; required unless Client is set.
	Config *rest.Config
	// Client, when set, is used instead of one made from Config.
	Client kubernetes.Interface
	// Listen is the UDP and TCP address of the DNS service. Default ":53". Port 0 picks a
	// free port, the same for both transports.
	Listen string
	// HTTPListen is the address of /healthz and /metrics. Empty: no HTTP server.
	HTTPListen string
	// Domain is the cluster domain. Default "cluster.local".
	Domain string
	// Upstreams are the resolvers ("ip" or "ip:port") of names outside the cluster.
	// Default: the nameservers of ResolvConf, without this server itself.
	Upstreams []string
	// ResolvConf is read when Upstreams is empty. Default /etc/resolv.conf.
	ResolvConf string
	// TTL of answers from the cluster zone, default 30s; NegativeTTL of its NXDOMAIN and
	// NODATA answers, default 5s.
	TTL, NegativeTTL time.Duration
	// CacheSize is the number of forwarded answers kept. Default 10000; negative disables.
	CacheSize int
	// UpstreamTimeout is how long one upstream may take to answer. Default 2s.
	UpstreamTimeout time.Duration
	// Publish, when set, makes this server an endpoint of the kube-dns Service. It is
	// ignored, with a warning, when its Address is loopback: the API rejects such endpoints.
	Publish *Publish
	// Registry takes the metrics and serves them. Default: a new registry.
	Registry Registry
	// Logger. Default slog.Default().
	Logger *slog.Logger
	// Now is the clock of the cache. Default time.Now.
	Now func() time.Time
}

// Registry is where metrics are registered and read from.
type Registry interface {
	prometheus.Registerer
	prometheus.Gatherer
}

func (o *Options) complete() error {
	if o.Client == nil {
		if o.Config == nil {
			return errors.New("dns: no API server configuration")
		}
		c, err := kubernetes.NewForConfig(o.Config)
		if err != nil {
			return fmt.Errorf("dns: %w", err)
		}
		o.Client = c
	}
	if o.Listen == "" {
		o.Listen = ":53"
	}
	if o.Domain == "" {
		o.Domain = "cluster.local"
	}
	if o.ResolvConf == "" {
		o.ResolvConf = "/etc/resolv.conf"
	}
	if o.TTL == 0 {
		o.TTL = 30 * time.Second
	}
	if o.NegativeTTL == 0 {
		o.NegativeTTL = 5 * time.Second
	}
	if o.CacheSize == 0 {
		o.CacheSize = 10000
	}
	if o.UpstreamTimeout == 0 {
		o.UpstreamTimeout = 2 * time.Second
	}
	if o.Registry == nil {
		o.Registry = prometheus.NewRegistry()
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return nil
}

// Server is a cluster DNS server. New binds its sockets; Run serves them.
type Server struct {
	opts     Options
	log      *slog.Logger
	udp      net.PacketConn
	tcp      net.Listener
	http     net.Listener
	handler  *handler
	store    *IndexerStore
	factory  informers.SharedInformerFactory
	synced   atomic.Bool
	publish  *publisher
	closeOne sync.Once
}

// Run serves DNS with opts until ctx is done.
func Run(ctx context.Context, opts Options) error {
	s, err := New(opts)
	if err != nil {
		return err
	}
	return s.Run(ctx)
}

// New makes a server and binds its sockets (so a test learns the ports before Run).
func New(opts Options) (*Server, error) {
	if err := opts.complete(); err != nil {
		return nil, err
	}
	s := &Server{opts: opts, log: opts.Logger.With("component", "dns")}
	var err error
	if s.udp, s.tcp, err = listenBoth(opts.Listen); err != nil {
		return nil, err
	}
	if opts.HTTPListen != "" {
		if s.http, err = net.Listen("tcp", opts.HTTPListen); err != nil {
			s.close()
			return nil, fmt.Errorf("dns: listening on %s: %w", opts.HTTPListen, err)
		}
	}
	upstreams, err := s.upstreams()
	if err != nil {
		s.close()
		return nil, err
	}

	s.factory = informers.NewSharedInformerFactory(opts.Client, 0)
	svcInf := s.factory.Core().V1().Services().Informer()
	sliceInf := s.factory.Discovery().V1().EndpointSlices().Informer()
	podInf := s.factory.Core().V1().Pods().Informer()
	for inf, idx := range map[cache.SharedIndexInformer]cache.Indexers{
		svcInf: ServiceIndexers(), sliceInf: EndpointSliceIndexers(), podInf: PodIndexers(),
	} {
		// The factory's informers come with a namespace index already.
		for name := range inf.GetIndexer().GetIndexers() {
			delete(idx, name)
		}
		if err := inf.AddIndexers(idx); err != nil {
			s.close()
			return nil, fmt.Errorf("dns: %w", err)
		}
	}
	if err := podInf.SetTransform(stripPod); err != nil {
		s.close()
		return nil, fmt.Errorf("dns: %w", err)
	}
	s.store = &IndexerStore{ServiceIndexer: svcInf.GetIndexer(), SliceIndexer: sliceInf.GetIndexer(), PodIndexer: podInf.GetIndexer()}

	ac := newAnswerCache(opts.CacheSize, opts.Now)
	m := newMetrics(opts.Registry, ac.len)
	origin := strings.ToLower(dns.Fqdn(opts.Domain))
	s.handler = &handler{
		zone: &zone{origin: origin, store: s.store, ttl: seconds(opts.TTL), negTTL: seconds(opts.NegativeTTL),
			serial: uint32(opts.Now().Unix())},
		fwd:     &forwarder{upstreams: upstreams, ex: newNetExchanger(opts.UpstreamTimeout), cache: ac, timeout: opts.UpstreamTimeout, metrics: m},
		synced:  s.synced.Load,
		metrics: m,
	}
	if p := opts.Publish; p != nil && (p.Address == nil || p.Address.IsLoopback() || p.Address.IsUnspecified()) {
		// The API rejects loopback endpoints (and pods could not reach them).
		s.log.Warn("not registering behind the kube-dns Service: no routable address", "address", p.Address)
		opts.Publish = nil
	}
	if opts.Publish != nil {
		port := s.udp.LocalAddr().(*net.UDPAddr).Port
		var metricsPort int
		if s.http != nil {
			metricsPort = s.http.Addr().(*net.TCPAddr).Port
		}
		s.publish = newPublisher(opts.Client, *opts.Publish, int32(port), int32(metricsPort), s.store, s.log)
		s.publish.watch(svcInf, sliceInf)
	}
	return s, nil
}

// Addr is the address DNS is served on (UDP and TCP).
func (s *Server) Addr() string { return s.udp.LocalAddr().String() }

// HTTPAddr is the address of /healthz and /metrics, "" without them.
func (s *Server) HTTPAddr() string {
	if s.http == nil {
		return ""
	}
	return s.http.Addr().String()
}

// Ready reports whether the caches have synced, so cluster names are answered.
func (s *Server) Ready() bool { return s.synced.Load() }

// Run serves until ctx is done, then closes the sockets and withdraws the endpoint.
func (s *Server) Run(ctx context.Context) error {
	defer s.close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s.handler.base = ctx
	s.factory.Start(ctx.Done())
	defer s.factory.Shutdown()

	udpSrv := &dns.Server{PacketConn: s.udp, Handler: s.handler}
	tcpSrv := &dns.Server{Listener: s.tcp, Handler: s.handler, ReadTimeout: 10 * time.Second, IdleTimeout: func() time.Duration { return 10 * time.Second }}
	errs := make(chan error, 4)
	var wg sync.WaitGroup
	serve := func(f func() error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f(); err != nil && ctx.Err() == nil {
				errs <- err
			}
		}()
	}
	serve(udpSrv.ActivateAndServe)
	serve(tcpSrv.ActivateAndServe)
	var httpSrv *http.Server
	if s.http != nil {
		httpSrv = s.httpServer()
		serve(func() error {
			if err := httpSrv.Serve(s.http); !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		})
	}

	var err error
	if cache.WaitForCacheSync(ctx.Done(), s.factory.Core().V1().Services().Informer().HasSynced,
		s.factory.Discovery().V1().EndpointSlices().Informer().HasSynced,
		s.factory.Core().V1().Pods().Informer().HasSynced) {
		s.synced.Store(true)
		s.log.Info("DNS server is ready", "listen", s.Addr(), "http", s.HTTPAddr(),
			"domain", s.opts.Domain, "upstreams", s.handler.fwd.upstreams)
		if s.publish != nil {
			serve(func() error { s.publish.run(ctx); return nil })
		}
		select {
		case <-ctx.Done():
		case err = <-errs:
		}
	}
	cancel()
	sctx, scancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer scancel()
	_ = udpSrv.ShutdownContext(sctx)
	_ = tcpSrv.ShutdownContext(sctx)
	if httpSrv != nil {
		_ = httpSrv.Shutdown(sctx)
	}
	wg.Wait()
	if err != nil {
		return fmt.Errorf("dns: %w", err)
	}
	return nil
}

func (s *Server) httpServer() *http.Server {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(s.opts.Registry, promhttp.HandlerOpts{}))
	health := func(w http.ResponseWriter, _ *http.Request) {
		if !s.synced.Load() {
			http.Error(w, "caches not synced", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ok"))
	}
	mux.HandleFunc("/healthz", health)
	mux.HandleFunc("/readyz", health)
	return &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
}

func (s *Server) close() {
	s.closeOne.Do(func() {
		for _, c := range []interface{ Close() error }{s.udp, s.tcp, s.http} {
			if c != nil {
				_ = c.Close()
			}
		}
	})
}

// upstreams are the resolvers of forwarded names: the given ones, else resolv.conf's
// without this server.
func (s *Server) upstreams() ([]string, error) {
	var out []string
	for _, u := range s.opts.Upstreams {
		n, ok := normalizeUpstream(u)
		if !ok {
			return nil, fmt.Errorf("dns: upstream %q is not ip or ip:port", u)
		}
		out = append(out, n)
	}
	if len(out) > 0 {
		return out, nil
	}
	data, err := os.ReadFile(s.opts.ResolvConf)
	if err != nil {
		s.log.Warn("no upstream resolvers: names outside the cluster will fail", "err", err)
		return nil, nil
	}
	kept, dropped := withoutLoops(parseResolvConf(data), s.Addr(), localAddrs())
	if len(dropped) > 0 {
		s.log.Warn("not forwarding to resolvers that are this server", "resolvers", dropped)
	}
	if len(kept) == 0 {
		s.log.Warn("no upstream resolvers in " + s.opts.ResolvConf + ": names outside the cluster will fail")
	}
	return kept, nil
}

func localAddrs() []netip.Addr {
	addrs, _ := net.InterfaceAddrs()
	var out []netip.Addr
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok {
			if ip, ok := netip.AddrFromSlice(n.IP); ok {
				out = append(out, ip.Unmap())
			}
		}
	}
	return out
}

// listenBoth binds UDP and TCP on the same address; with port 0, on the same free port.
func listenBoth(addr string) (net.PacketConn, net.Listener, error) {
	var lastErr error
	for range 10 {
		pc, err := net.ListenPacket("udp", addr)
		if err != nil {
			return nil, nil, fmt.Errorf("dns: listening on udp %s: %w", addr, err)
		}
		host, _, _ := net.SplitHostPort(addr)
		port := pc.LocalAddr().(*net.UDPAddr).Port
		ln, err := net.Listen("tcp", net.JoinHostPort(host, fmt.Sprint(port)))
		if err == nil {
			return pc, ln, nil
		}
		pc.Close()
		lastErr = fmt.Errorf("dns: listening on tcp %s: %w", addr, err)
		if !strings.HasSuffix(addr, ":0") {
			break
		}
	}
	return nil, nil, lastErr
}

func seconds(d time.Duration) uint32 { return uint32(d / time.Second) }
