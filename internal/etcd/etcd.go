package etcd

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"sync/atomic"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap/zapcore"

	"capstan/internal/logging"
)

// Options configures an embedded member. Zero values give a single-member cluster on
// loopback, suitable for tests when the URLs use port 0.
type Options struct {
	// Name is the member name. Default "default".
	Name string
	// DataDir holds the member's data. Required.
	DataDir string
	// ClientURL is where the member listens for clients. Default http://127.0.0.1:2379.
	// Port 0 picks a free port; Endpoints reports the real one.
	ClientURL string
	// PeerURL is where the member listens for peers. Default http://127.0.0.1:2380.
	PeerURL string
	// ClientTLS, when set, serves clients over TLS with these files.
	ClientTLS *TLSFiles
	// ReadyTimeout bounds the wait for the member to serve. Default 60s.
	ReadyTimeout time.Duration
	// Logger receives lifecycle messages. Default slog.Default().
	Logger *slog.Logger
}

// TLSFiles names a certificate, its key and the CA that client certificates must chain to.
type TLSFiles struct {
	CertFile, KeyFile, TrustedCAFile string
}

// Server is a running member.
type Server struct {
	etcd      *embed.Etcd
	endpoints []string
	logger    *slog.Logger
	// closing mutes etcd's logs once Close starts: it reports its own shutdown as errors.
	closing *atomic.Bool
}

// Start starts the member and returns once it serves clients.
func Start(ctx context.Context, opts Options) (*Server, error) {
	if opts.DataDir == "" {
		return nil, errors.New("etcd: DataDir is required")
	}
	if opts.Name == "" {
		opts.Name = "default"
	}
	if opts.ClientURL == "" {
		opts.ClientURL = "http://127.0.0.1:2379"
	}
	if opts.PeerURL == "" {
		opts.PeerURL = "http://127.0.0.1:2380"
	}
	if opts.ReadyTimeout == 0 {
		opts.ReadyTimeout = 60 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if err := os.MkdirAll(opts.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("etcd: creating data dir: %w", err)
	}
	clientURL, err := url.Parse(opts.ClientURL)
	if err != nil {
		return nil, fmt.Errorf("etcd: client URL: %w", err)
	}
	peerURL, err := url.Parse(opts.PeerURL)
	if err != nil {
		return nil, fmt.Errorf("etcd: peer URL: %w", err)
	}

	cfg := embed.NewConfig()
	cfg.Name = opts.Name
	cfg.Dir = opts.DataDir
	cfg.ListenClientUrls = []url.URL{*clientURL}
	cfg.AdvertiseClientUrls = []url.URL{*clientURL}
	cfg.ListenPeerUrls = []url.URL{*peerURL}
	cfg.AdvertisePeerUrls = []url.URL{*peerURL}
	cfg.InitialCluster = cfg.InitialClusterFromName(opts.Name)
	// A single member on this host elects itself: short ticks make that take milliseconds
	// instead of up to a second of the server's start-up.
	cfg.TickMs, cfg.ElectionMs = 10, 100
	cfg.LogLevel = "error"
	closing := &atomic.Bool{}
	cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(logging.Zap(opts.Logger.With("component", "etcd"), zapcore.ErrorLevel, closing.Load))
	// A small snapshot interval keeps the raft log, and so memory, small.
	cfg.SnapshotCount = 10000
	if opts.ClientTLS != nil {
		cfg.ClientTLSInfo.CertFile = opts.ClientTLS.CertFile
		cfg.ClientTLSInfo.KeyFile = opts.ClientTLS.KeyFile
		cfg.ClientTLSInfo.TrustedCAFile = opts.ClientTLS.TrustedCAFile
		cfg.ClientTLSInfo.ClientCertAuth = opts.ClientTLS.TrustedCAFile != ""
	}

	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return nil, fmt.Errorf("etcd: starting member: %w", err)
	}
	select {
	case <-e.Server.ReadyNotify():
	case err := <-e.Err():
		e.Close()
		return nil, fmt.Errorf("etcd: member failed: %w", err)
	case <-time.After(opts.ReadyTimeout):
		e.Server.Stop()
		e.Close()
		return nil, fmt.Errorf("etcd: member not ready after %s", opts.ReadyTimeout)
	case <-ctx.Done():
		e.Close()
		return nil, ctx.Err()
	}
	scheme := clientURL.Scheme
	var endpoints []string
	for _, l := range e.Clients {
		endpoints = append(endpoints, scheme+"://"+l.Addr().String())
	}
	opts.Logger.Info("etcd member ready", "name", opts.Name, "endpoints", endpoints)
	return &Server{etcd: e, endpoints: endpoints, logger: opts.Logger, closing: closing}, nil
}

// Endpoints are the member's client URLs with real ports.
func (s *Server) Endpoints() []string { return s.endpoints }

// Close stops the member; committed writes are on disk when it returns.
func (s *Server) Close() {
	s.closing.Store(true)
	s.etcd.Close()
	s.logger.Info("etcd member stopped")
}

// Err reports a fatal error of the running member.
func (s *Server) Err() <-chan error { return s.etcd.Err() }

// ClientOptions configures a client of an etcd cluster (embedded or external).
type ClientOptions struct {
	Endpoints []string
	// TLS is used for https endpoints; nil means plain connections.
	TLS *tls.Config
	// DialTimeout. Default 5s.
	DialTimeout time.Duration
	// Logger receives the client's warnings and errors. Default slog.Default().
	Logger *slog.Logger
}

// NewClient returns a client of the cluster.
func NewClient(opts ClientOptions) (*clientv3.Client, error) {
	if opts.DialTimeout == 0 {
		opts.DialTimeout = 5 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	c, err := clientv3.New(clientv3.Config{
		Endpoints:          opts.Endpoints,
		TLS:                opts.TLS,
		DialTimeout:        opts.DialTimeout,
		MaxCallSendMsgSize: 8 << 20,
		MaxCallRecvMsgSize: 1 << 30,
		Logger:             logging.Zap(opts.Logger.With("component", "etcd-client"), zapcore.ErrorLevel, nil),
	})
	if err != nil {
		return nil, fmt.Errorf("etcd: client: %w", err)
	}
	return c, nil
}
