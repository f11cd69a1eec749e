package apiserver

import (
	"context"
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/version"
	"k8s.io/utils/clock"

	"capstan/internal/apiserver/registry"
	"capstan/internal/auth/authn"
	"capstan/internal/auth/jwt"
	"capstan/internal/auth/serviceaccount"
)

// maxBodyBytes is upstream's request body limit.
const maxBodyBytes = 3 << 20

// Options configures a Server.
type Options struct {
	// Etcd is the client of the datastore. Required.
	Etcd *clientv3.Client
	// Listener to serve HTTPS on; when nil, BindAddress is listened on.
	Listener net.Listener
	// BindAddress, e.g. "0.0.0.0:6443", used when Listener is nil.
	BindAddress string
	// ServingCert is the TLS serving certificate. Required.
	ServingCert tls.Certificate
	// ClientCA verifies client certificates. Required.
	ClientCA *x509.CertPool
	// AdvertiseAddress is the IP the kubernetes Service's endpoints point at.
	AdvertiseAddress net.IP
	// Port the kubernetes Service's endpoints point at. Default: the listener's port.
	AdvertisePort int32
	// ServiceCIDR for ClusterIP allocation. Default 10.43.0.0/16.
	ServiceCIDR *net.IPNet
	// NodePortRange, inclusive. Default 30000-32767.
	NodePortMin, NodePortMax int32
	// Version is what /version reports.
	Version version.Info
	// Resources served; default AllResources().
	Resources []registry.Resource
	// Logger; default slog.Default().
	Logger *slog.Logger
	// Clock; default real.
	Clock clock.PassiveClock
	// Kubelet is how pods/log, exec, attach, portforward and nodes/proxy reach kubelets.
	Kubelet KubeletClientConfig

	// ServiceAccountKey signs service-account tokens (serviceaccounts/token) and verifies
	// them. Without it no tokens are issued (upstream's --service-account-signing-key-file).
	ServiceAccountKey crypto.Signer
	// ServiceAccountPublicKeys verify tokens too, e.g. of a key being rotated out
	// (upstream's --service-account-key-file).
	ServiceAccountPublicKeys []crypto.PublicKey
	// ServiceAccountIssuers: the first is the iss of new tokens; tokens of any are
	// accepted. Default [https://kubernetes.default.svc.cluster.local].
	ServiceAccountIssuers []string
	// ServiceAccountJWKSURI is the jwks_uri of the OIDC discovery document. Default: the
	// advertised address, https://<host>:<port>/openid/v1/jwks, as upstream.
	ServiceAccountJWKSURI string
	// APIAudiences are the audiences of tokens meant for this server. Default:
	// ServiceAccountIssuers.
	APIAudiences []string
	// ServiceAccountMaxTokenExpiration caps the lifetime of requested tokens; 0: none.
	ServiceAccountMaxTokenExpiration time.Duration
	// DisableServiceAccountTokenExtension stops extending the kubelet's pod tokens to a
	// year (upstream's --service-account-extend-token-expiration=false).
	DisableServiceAccountTokenExtension bool
}

// Server is a running API server.
type Server struct {
	opts     Options
	logger   *slog.Logger
	clock    clock.PassiveClock
	scheme   *runtime.Scheme
	codecs   *codecs
	handlers map[string]*resourceHandler // by "group/version/resource"
	groups   []apiGroup
	listener net.Listener
	http     *http.Server
	ready    chan struct{}
	mu       sync.Mutex
	openapi  http.Handler

	kubeletClient kubeletClient

	// authn authenticates requests; tokenIssuer (nil without a signing key) issues
	// service-account tokens; serviceAccountKeys verify them.
	authn              *authn.Authenticator
	tokenIssuer        *serviceaccount.Issuer
	serviceAccountKeys []jwt.PublicKey
}

// New builds a server: the scheme, the codecs and one store (with its watch cache) per
// resource. It does not listen yet; Run does.
func New(ctx context.Context, opts Options) (*Server, error) {
	if opts.Etcd == nil {
		return nil, errors.New("apiserver: Etcd client is required")
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Clock == nil {
		opts.Clock = clock.RealClock{}
	}
	if opts.ServiceCIDR == nil {
		_, opts.ServiceCIDR, _ = net.ParseCIDR("10.43.0.0/16")
	}
	if opts.NodePortMin == 0 {
		opts.NodePortMin, opts.NodePortMax = 30000, 32767
	}
	if opts.Resources == nil {
		opts.Resources = AllResources()
	}
	scheme := registry.NewScheme()
	s := &Server{
		opts:     opts,
		logger:   opts.Logger.With("component", "apiserver"),
		clock:    opts.Clock,
		scheme:   scheme,
		codecs:   newCodecs(scheme),
		handlers: map[string]*resourceHandler{},
		ready:    make(chan struct{}),
	}
	if err := s.setupAuthentication(); err != nil {
		return nil, err
	}
	if err := s.installResources(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// Run listens and serves until ctx is done, then shuts down gracefully.
func (s *Server) Run(ctx context.Context) error {
	l := s.opts.Listener
	if l == nil {
		var err error
		l, err = net.Listen("tcp", s.opts.BindAddress)
		if err != nil {
			return fmt.Errorf("apiserver: listen: %w", err)
		}
	}
	s.listener = l
	tlsConfig := &tls.Config{
		Certificates: []tls.Certificate{s.opts.ServingCert},
		ClientAuth:   tls.VerifyClientCertIfGiven,
		ClientCAs:    s.opts.ClientCA,
		MinVersion:   tls.VersionTLS12,
		NextProtos:   []string{"h2", "http/1.1"},
	}
	s.http = &http.Server{
		Handler:           s,
		TLSConfig:         tlsConfig,
		ReadHeaderTimeout: 30 * time.Second,
		MaxHeaderBytes:    1 << 20,
		ErrorLog:          slog.NewLogLogger(s.logger.Handler(), slog.LevelDebug),
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	errc := make(chan error, 1)
	go func() { errc <- s.http.Serve(tls.NewListener(l, tlsConfig)) }()
	if err := s.bootstrap(ctx); err != nil {
		_ = s.http.Close()
		return fmt.Errorf("apiserver: bootstrap: %w", err)
	}
	close(s.ready)
	select {
	case err := <-errc:
		return fmt.Errorf("apiserver: serve: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	_ = s.http.Shutdown(shutdownCtx)
	s.stopStores()
	return nil
}

// Ready is closed once the server serves and the system objects exist.
func (s *Server) Ready() <-chan struct{} { return s.ready }

// Addr is the address being served, once Run has started listening.
func (s *Server) Addr() net.Addr {
	if s.listener == nil {
		return nil
	}
	return s.listener.Addr()
}

// ServeHTTP is the request pipeline: unauthenticated endpoints, authentication, then
// routing to discovery, OpenAPI or the resource handlers.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.logger.Error("panic serving request", "panic", v, "path", r.URL.Path)
			writeStatusJSON(w, apierrors.NewInternalError(fmt.Errorf("%v", v)).Status())
		}
	}()
	path := r.URL.Path
	switch {
	case path == "/version" || path == "/version/":
		s.serveVersion(w, r)
		return
	case isHealthPath(path):
		s.serveHealth(w, r)
		return
	}
	u, ok := s.authenticate(r)
	if !ok {
		st := apierrors.NewUnauthorized("Unauthorized").Status()
		writeStatusJSON(w, st)
		return
	}
	r = r.WithContext(withUser(r.Context(), u))
	switch {
	case path == "/api" || path == "/api/" || path == "/apis" || path == "/apis/":
		s.serveRootDiscovery(w, r)
	case strings.HasPrefix(path, "/openapi/"):
		if s.openapi == nil {
			s.writeError(w, r, apierrors.NewNotFound(registryGR(""), path))
			return
		}
		s.openapi.ServeHTTP(w, r)
	case strings.HasPrefix(path, "/api/") || strings.HasPrefix(path, "/apis/"):
		s.serveAPI(w, r)
	case path == openIDConfigPath || path == jwksPath:
		s.serveOIDC(w, r)
	case path == "/":
		s.serveRootPaths(w, r)
	default:
		writeStatusJSON(w, notFoundPath(path))
	}
}

func notFoundPath(path string) metav1.Status {
	return metav1.Status{Status: metav1.StatusFailure, Code: http.StatusNotFound,
		Reason: metav1.StatusReasonNotFound, Message: "the server could not find the requested resource",
		Details: &metav1.StatusDetails{Causes: []metav1.StatusCause{{Type: metav1.CauseTypeUnexpectedServerResponse, Message: "404 page not found", Field: path}}}}
}

func (s *Server) serveVersion(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.opts.Version)
}

func (s *Server) serveRootPaths(w http.ResponseWriter, r *http.Request) {
	paths := []string{"/api", "/api/v1", "/apis", "/healthz", "/livez", "/readyz", "/openapi/v2", "/openapi/v3", "/version"}
	if s.oidcServed() {
		paths = append(paths, openIDConfigPath, jwksPath)
	}
	for _, g := range s.groups {
		if g.name == "" {
			continue
		}
		paths = append(paths, "/apis/"+g.name)
		for _, v := range g.versions {
			paths = append(paths, "/apis/"+g.name+"/"+v.version)
		}
	}
	writeJSON(w, http.StatusOK, metav1.RootPaths{Paths: paths})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	data, err := jsonMarshal(v)
	if err != nil {
		writeStatusJSON(w, apierrors.NewInternalError(err).Status())
		return
	}
	w.Header().Set("Content-Type", mediaJSON)
	w.WriteHeader(code)
	_, _ = w.Write(data)
}

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }
