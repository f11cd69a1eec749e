package server

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strconv"
	"time"

	"google.golang.org/grpc"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
	"k8s.io/utils/clock"

	"capstan/internal/kubelet"
)

// APIServerUser is the common name of the API server's kubelet-client certificate: the
// identity the API server proxies pods/log, pods/exec, ... and nodes/proxy with.
const APIServerUser = "kube-apiserver-kubelet-client"

// MastersGroup may use every kubelet, as it may do everything else.
const MastersGroup = "system:masters"

// DefaultPort is the kubelet API's port.
const DefaultPort = 10250

// Runtime is the part of CRI's RuntimeService the API uses; the gRPC client
// runtimeapi.NewRuntimeServiceClient(conn), which kubelet.Provider's Runtime returns,
// satisfies it.
type Runtime interface {
	ListPodSandbox(ctx context.Context, in *runtimeapi.ListPodSandboxRequest, opts ...grpc.CallOption) (*runtimeapi.ListPodSandboxResponse, error)
	ListContainers(ctx context.Context, in *runtimeapi.ListContainersRequest, opts ...grpc.CallOption) (*runtimeapi.ListContainersResponse, error)
	ContainerStatus(ctx context.Context, in *runtimeapi.ContainerStatusRequest, opts ...grpc.CallOption) (*runtimeapi.ContainerStatusResponse, error)
	Exec(ctx context.Context, in *runtimeapi.ExecRequest, opts ...grpc.CallOption) (*runtimeapi.ExecResponse, error)
	Attach(ctx context.Context, in *runtimeapi.AttachRequest, opts ...grpc.CallOption) (*runtimeapi.AttachResponse, error)
	PortForward(ctx context.Context, in *runtimeapi.PortForwardRequest, opts ...grpc.CallOption) (*runtimeapi.PortForwardResponse, error)
	ListContainerStats(ctx context.Context, in *runtimeapi.ListContainerStatsRequest, opts ...grpc.CallOption) (*runtimeapi.ListContainerStatsResponse, error)
	ListPodSandboxStats(ctx context.Context, in *runtimeapi.ListPodSandboxStatsRequest, opts ...grpc.CallOption) (*runtimeapi.ListPodSandboxStatsResponse, error)
}

// Images is the part of CRI's ImageService the API uses (for the image file system's
// stats); runtimeapi.NewImageServiceClient(conn) satisfies it.
type Images interface {
	ImageFsInfo(ctx context.Context, in *runtimeapi.ImageFsInfoRequest, opts ...grpc.CallOption) (*runtimeapi.ImageFsInfoResponse, error)
}

// Options configures a Server.
type Options struct {
	// Kubelet is the kubelet core: its pods and their containers. Required.
	Kubelet kubelet.Provider
	// NodeName is the name of this node. Default Kubelet.NodeName().
	NodeName string
	// Listener to serve on; when nil, Address is listened on.
	Listener net.Listener
	// Address, e.g. "0.0.0.0:10250", used when Listener is nil. Default ":10250".
	Address string
	// ServingCert is the TLS serving certificate. Required.
	ServingCert tls.Certificate
	// ClientCA verifies client certificates (the cluster CA). Required.
	ClientCA *x509.CertPool
	// AllowedUsers may use the API, besides members of AllowedGroups. Default
	// [APIServerUser].
	AllowedUsers []string
	// AllowedGroups may use the API. Default [MastersGroup].
	AllowedGroups []string
	// Runtime is the CRI runtime service. Default Kubelet.Runtime().
	Runtime Runtime
	// Images is the CRI image service; without it the summary has no image file system.
	Images Images
	// Node reads the node's own usage for /stats/summary. Default: the host's cgroups,
	// /proc and the file system of RootDir.
	Node NodeStats
	// RootDir is the kubelet's data directory, whose file system the summary reports as
	// the node's. Default "/".
	RootDir string
	// LogPollInterval is how often a followed log file is checked for more. Default 100ms.
	LogPollInterval time.Duration
	// Logger. Default slog.Default().
	Logger *slog.Logger
	// Clock. Default real.
	Clock clock.Clock
}

// Server is the kubelet API.
type Server struct {
	opts   Options
	log    *slog.Logger
	mux    *http.ServeMux
	ready  chan struct{}
	addr   net.Addr
	stream *http.Transport
	cpu    cpuSampler
}

// New checks opts, fills its defaults and builds the server; Run serves.
func New(opts Options) (*Server, error) {
	switch {
	case opts.Kubelet == nil:
		return nil, errors.New("kubelet server: Kubelet is required")
	case opts.ClientCA == nil:
		return nil, errors.New("kubelet server: ClientCA is required")
	}
	if opts.NodeName == "" {
		opts.NodeName = opts.Kubelet.NodeName()
	}
	if opts.Runtime == nil {
		opts.Runtime = opts.Kubelet.Runtime()
	}
	if opts.Address == "" {
		opts.Address = ":" + strconv.Itoa(DefaultPort)
	}
	if opts.AllowedUsers == nil {
		opts.AllowedUsers = []string{APIServerUser}
	}
	if opts.AllowedGroups == nil {
		opts.AllowedGroups = []string{MastersGroup}
	}
	if opts.RootDir == "" {
		opts.RootDir = "/"
	}
	if opts.Node == nil {
		opts.Node = HostStats{RootDir: opts.RootDir}
	}
	if opts.LogPollInterval == 0 {
		opts.LogPollInterval = 100 * time.Millisecond
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Clock == nil {
		opts.Clock = clock.RealClock{}
	}
	s := &Server{
		opts:  opts,
		log:   opts.Logger.With("component", "kubelet-server"),
		ready: make(chan struct{}),
		// The runtime's streaming server is on this host; its connections are upgraded and
		// then spliced, so they are never reused.
		stream: &http.Transport{
			Proxy:               nil,
			DisableKeepAlives:   true,
			TLSHandshakeTimeout: 10 * time.Second,
		},
	}
	s.mux = s.routes()
	return s, nil
}

func (s *Server) routes() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok"))
	})
	mux.HandleFunc("GET /pods", s.servePods)
	mux.HandleFunc("GET /containerLogs/{namespace}/{pod}/{container}", s.serveContainerLogs)
	for _, p := range []string{"/exec/{namespace}/{pod}/{container}", "/exec/{namespace}/{pod}/{uid}/{container}"} {
		mux.HandleFunc("GET "+p, s.serveExec)
		mux.HandleFunc("POST "+p, s.serveExec)
	}
	for _, p := range []string{"/attach/{namespace}/{pod}/{container}", "/attach/{namespace}/{pod}/{uid}/{container}"} {
		mux.HandleFunc("GET "+p, s.serveAttach)
		mux.HandleFunc("POST "+p, s.serveAttach)
	}
	for _, p := range []string{"/portForward/{namespace}/{pod}", "/portForward/{namespace}/{pod}/{uid}"} {
		mux.HandleFunc("GET "+p, s.servePortForward)
		mux.HandleFunc("POST "+p, s.servePortForward)
	}
	mux.HandleFunc("GET /stats/summary", s.serveSummary)
	mux.HandleFunc("GET /stats/summary/", s.serveSummary)
	return mux
}

// ServeHTTP authenticates and authorizes the client, then serves the request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	user, groups, ok := clientIdentity(r)
	if !ok {
		http.Error(w, "Unauthorized", http.StatusUnauthorized)
		return
	}
	if !s.allowed(user, groups) {
		http.Error(w, fmt.Sprintf("Forbidden (user=%s, verb=%s, resource=nodes, subresource=%s)",
			user, verbOf(r), subresourceOf(r.URL.Path)), http.StatusForbidden)
		return
	}
	s.mux.ServeHTTP(w, r)
}

// clientIdentity is the user and groups of the client's verified certificate.
func clientIdentity(r *http.Request) (string, []string, bool) {
	if r.TLS == nil || len(r.TLS.VerifiedChains) == 0 || len(r.TLS.VerifiedChains[0]) == 0 {
		return "", nil, false
	}
	cert := r.TLS.VerifiedChains[0][0]
	if cert.Subject.CommonName == "" {
		return "", nil, false
	}
	return cert.Subject.CommonName, cert.Subject.Organization, true
}

func (s *Server) allowed(user string, groups []string) bool {
	if slices.Contains(s.opts.AllowedUsers, user) {
		return true
	}
	for _, g := range groups {
		if slices.Contains(s.opts.AllowedGroups, g) {
			return true
		}
	}
	return false
}

// verbOf and subresourceOf name a request the way the kubelet's authorizer attributes do,
// for the Forbidden message.
func verbOf(r *http.Request) string {
	switch r.Method {
	case http.MethodPost:
		return "create"
	case http.MethodPut:
		return "update"
	case http.MethodPatch:
		return "patch"
	case http.MethodDelete:
		return "delete"
	}
	return "get"
}

func subresourceOf(path string) string {
	switch {
	case hasPathPrefix(path, "/stats"):
		return "stats"
	case hasPathPrefix(path, "/metrics"):
		return "metrics"
	case hasPathPrefix(path, "/logs"):
		return "log"
	}
	return "proxy"
}

func hasPathPrefix(path, prefix string) bool {
	return path == prefix || len(path) > len(prefix) && path[:len(prefix)] == prefix && path[len(prefix)] == '/'
}

// Run serves until ctx is done.
func (s *Server) Run(ctx context.Context) error {
	l := s.opts.Listener
	if l == nil {
		var err error
		if l, err = net.Listen("tcp", s.opts.Address); err != nil {
			return fmt.Errorf("kubelet server: listen: %w", err)
		}
	}
	s.addr = l.Addr()
	tlsConfig := &tls.Config{
		Certificates: []tls.Certificate{s.opts.ServingCert},
		ClientAuth:   tls.VerifyClientCertIfGiven,
		ClientCAs:    s.opts.ClientCA,
		MinVersion:   tls.VersionTLS12,
		// Streams upgrade HTTP/1.1 connections; HTTP/2 has no upgrade.
		NextProtos: []string{"http/1.1"},
	}
	srv := &http.Server{
		Handler:           s,
		TLSConfig:         tlsConfig,
		ReadHeaderTimeout: 30 * time.Second,
		MaxHeaderBytes:    1 << 20,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(tls.NewListener(l, tlsConfig)) }()
	close(s.ready)
	s.log.Info("kubelet API serving", "address", l.Addr().String())
	select {
	case err := <-errc:
		return fmt.Errorf("kubelet server: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		// Hijacked streams are not waited for by Shutdown; Close ends the rest.
		_ = srv.Close()
	}
	s.stream.CloseIdleConnections()
	return nil
}

// Ready is closed once the server listens.
func (s *Server) Ready() <-chan struct{} { return s.ready }

// Addr is the address served, once Ready.
func (s *Server) Addr() net.Addr { return s.addr }
