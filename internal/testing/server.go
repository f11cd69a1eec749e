package testing

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"capstan/internal/server"
)

// Server is a running in-process control plane.
type Server struct {
	// Config is an admin client config (client certificate of system:admin).
	Config *rest.Config
	// Kubeconfig is the path of the admin kubeconfig file.
	Kubeconfig string
	// Client is a clientset for Config.
	Client kubernetes.Interface
	// DataDir is the server's data directory, kept across Restart.
	DataDir string
	// Etcd is the server's datastore client, valid until Stop.
	Etcd *clientv3.Client

	t      testing.TB
	mutate func(*server.Options)
	cancel context.CancelFunc
	done   chan error
}

// StartServer starts a server in t.TempDir() and stops it when the test ends.
func StartServer(t testing.TB) *Server {
	t.Helper()
	return StartServerWith(t, nil)
}

// StartServerWith is StartServer with a change to the server's options (e.g. an external
// datastore), applied after the harness's own.
func StartServerWith(t testing.TB, mutate func(*server.Options)) *Server {
	t.Helper()
	s := &Server{t: t, DataDir: t.TempDir(), mutate: mutate}
	s.start()
	t.Cleanup(s.Stop)
	return s
}

func (s *Server) start() {
	s.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan server.Ready, 1)
	s.done = make(chan error, 1)
	s.cancel = cancel
	opts := server.Options{
		DataDir:          s.DataDir,
		WriteKubeconfig:  filepath.Join(s.DataDir, "kubeconfig.yaml"),
		BindAddress:      "127.0.0.1",
		HTTPSPort:        -1,
		EtcdClientPort:   -1,
		EtcdPeerPort:     -1,
		AdvertiseAddress: "127.0.0.1",
		DisableAgent:     true,
		OnReady:          func(r server.Ready) { ready <- r },
	}
	if s.mutate != nil {
		s.mutate(&opts)
	}
	go func() { s.done <- server.Run(ctx, opts) }()
	select {
	case r := <-ready:
		s.Kubeconfig = r.Kubeconfig
		s.Etcd = r.Etcd
	case err := <-s.done:
		cancel()
		s.t.Fatalf("server did not start: %v", err)
	case <-time.After(60 * time.Second):
		cancel()
		s.t.Fatal("server not ready after 60s")
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", s.Kubeconfig)
	if err != nil {
		s.t.Fatalf("loading kubeconfig: %v", err)
	}
	cfg.QPS, cfg.Burst = 1000, 2000
	s.Config = cfg
	s.Client = kubernetes.NewForConfigOrDie(cfg)
	if runsServiceAccountController(opts) {
		WaitForDefaultServiceAccount(s.t, s.Client, "default")
	}
}

// Stop stops the server and waits for it; safe to call twice.
func (s *Server) Stop() {
	if s.cancel == nil {
		return
	}
	s.cancel()
	s.cancel = nil
	select {
	case err := <-s.done:
		if err != nil {
			s.t.Errorf("server stopped with error: %v", err)
		}
	case <-time.After(30 * time.Second):
		s.t.Error("server did not stop within 30s")
	}
}

// Restart stops the server and starts it again on the same data directory.
func (s *Server) Restart() {
	s.t.Helper()
	s.Stop()
	s.start()
}
