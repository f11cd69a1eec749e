package framework

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"capstan/internal/agent"
	"capstan/internal/kubelet"
	"capstan/internal/network"
	"capstan/internal/pki"
	"capstan/internal/server"
	capstantesting "capstan/internal/testing"
)

// RequireRoot skips the test unless it can run a real node: root, containerd, ctr, runc,
// the CNI plugins and busybox-static, and not -short.
func RequireRoot(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("e2e: skipped with -short")
	}
	if os.Geteuid() != 0 {
		t.Skip("e2e: skipped: running real pods needs root (containerd, mounts, network namespaces, cgroups)")
	}
	for _, bin := range []string{"containerd", "ctr", "runc"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Skipf("e2e: skipped: %s is not installed (hack/setup.sh --for test installs it)", bin)
		}
	}
	for _, f := range []string{"/usr/lib/cni/bridge", "/usr/lib/cni/host-local", "/usr/lib/cni/loopback", "/bin/busybox"} {
		if _, err := os.Stat(f); err != nil {
			t.Skipf("e2e: skipped: %s is missing (hack/setup.sh installs containernetworking-plugins and busybox-static)", f)
		}
	}
}

// Cluster is an in-process control plane and one node (agent) running real pods.
type Cluster struct {
	// Server is the control plane; Server.Kubectl runs the bundled kubectl against it.
	Server *capstantesting.Server
	// Client is an admin clientset.
	Client kubernetes.Interface
	// Config is the admin client configuration.
	Config *rest.Config
	// NodeName and NodeIP of the one node.
	NodeName string
	NodeIP   net.IP

	t testing.TB
	// The agent, shared by the views For makes.
	*node
}

// node is the cluster's agent: its options and its run.
type node struct {
	opts   agent.Options
	runDir string
	cancel context.CancelFunc
	done   chan error
	// kubelet is the running agent's kubelet.
	kubelet *kubelet.Kubelet
	// stopPods is what the agent asks when it stops: remove the pods or leave them.
	stopPods atomic.Bool
	// leftPods is set while the agent is stopped with its pods left running.
	leftPods bool
}

// Option changes how Start runs the server or the agent.
type Option func(*settings)

type settings struct {
	server []func(*server.Options)
	before []func(*capstantesting.Server)
	agent  []func(*agent.Options)
}

// WithServer changes the server's options.
func WithServer(f func(*server.Options)) Option {
	return func(s *settings) { s.server = append(s.server, f) }
}

// WithAgent changes the agent's options.
func WithAgent(f func(*agent.Options)) Option {
	return func(s *settings) { s.agent = append(s.agent, f) }
}

// BeforeAgent runs f against the control plane before the agent starts, for objects the
// kubelet must find when it starts (e.g. Services for the pods' environment).
func BeforeAgent(f func(*capstantesting.Server)) Option {
	return func(s *settings) { s.before = append(s.before, f) }
}

// Start starts a control plane and a node whose containerd has the test images, and waits
// until the node is Ready. Everything is stopped and removed when the test ends. It skips
// the test when the machine cannot run pods (see RequireRoot).
func Start(t testing.TB, options ...Option) *Cluster {
	t.Helper()
	RequireRoot(t)
	var set settings
	for _, o := range options {
		o(&set)
	}
	tarballs := ImageTarballs(t)
	s := capstantesting.StartServerWith(t, func(o *server.Options) {
		for _, f := range set.server {
			f(o)
		}
	})
	routeIP, _, err := network.DefaultRouteIP()
	if err != nil {
		t.Skipf("e2e: skipped: no default route to take the node IP from: %v", err)
	}
	nodeIP := net.IP(routeIP.AsSlice())
	var b [4]byte
	_, _ = rand.Read(b[:])
	suffix := hex.EncodeToString(b[:])
	c := &Cluster{
		Server: s, Client: s.Client, Config: s.Config, NodeName: "e2e-" + suffix, NodeIP: nodeIP,
		t: t, node: &node{runDir: "/run/capstan-e2e-" + suffix},
	}
	dataDir := t.TempDir()
	imagesDir := filepath.Join(dataDir, "agent", "images")
	if err := os.MkdirAll(imagesDir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tarball := range tarballs {
		dst := filepath.Join(imagesDir, filepath.Base(tarball))
		if err := os.Link(tarball, dst); err != nil {
			data, rerr := os.ReadFile(tarball)
			if rerr != nil {
				t.Fatal(rerr)
			}
			if err := os.WriteFile(dst, data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	// The kubelet API gets a certificate of the cluster CA for the node IP, which the API
	// server dials.
	ca, err := pki.LoadOrCreateCA(filepath.Join(s.DataDir, "server", "tls"), "cluster-ca", "unused")
	if err != nil {
		t.Fatal(err)
	}
	serving, err := ca.Issue(pki.CertSpec{CommonName: "system:node:" + c.NodeName, DNSNames: []string{c.NodeName},
		IPs: []net.IP{nodeIP}, Usages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	bridgeExisted := linkExists("cni0")
	n := c.node
	n.stopPods.Store(true)
	n.opts = agent.Options{
		Config: rest.CopyConfig(s.Config), DataDir: dataDir, NodeName: c.NodeName, NodeIP: nodeIP.String(),
		ContainerdSocket: filepath.Join(n.runDir, "containerd.sock"), ContainerdState: filepath.Join(n.runDir, "state"),
		PodManifestPath: filepath.Join(dataDir, "agent", "pod-manifests"),
		PodLogsDir:      filepath.Join(dataDir, "pod-logs"), KubeletAddress: net.JoinHostPort(nodeIP.String(), "0"),
		KubeletServingCert: &serving.TLS, ClientCA: pool,
		PodNetwork: string(network.BackendNone), StopPodsOnExit: n.stopPods.Load,
		Logger: Logger(t),
		Kubelet: func(o *kubelet.Options) {
			o.NodeStatusUpdateFrequency = 2 * time.Second
		},
	}
	for _, f := range set.agent {
		f(&n.opts)
	}
	for _, f := range set.before {
		f(s)
	}
	t.Cleanup(func() {
		if n.leftPods {
			// Stopped leaving its pods: start it again so that its stop removes them.
			if err := c.startAgent(); err != nil {
				t.Errorf("restarting the agent to remove its pods: %v", err)
			}
		}
		c.stopAgent()
		_ = os.RemoveAll(n.runDir)
		if !bridgeExisted && linkExists("cni0") {
			_ = exec.Command("ip", "link", "delete", "cni0").Run()
		}
	})
	c.StartAgent()
	c.waitNodeReady()
	return c
}

func linkExists(name string) bool {
	_, err := os.Stat("/sys/class/net/" + name)
	return err == nil
}

// For is the cluster as the (sub)test t uses it: the helpers report failures to t. Its
// node is the cluster's own.
func (c *Cluster) For(t testing.TB) *Cluster {
	view := *c
	view.t = t
	return &view
}

// AgentOptions are the options the agent runs with (after WithAgent), e.g. its
// PodManifestPath and ContainerdSocket.
func (c *Cluster) AgentOptions() agent.Options { return c.node.opts }

// StartAgent starts the agent (again, after a stop) and waits for its kubelet; Start
// starts it first.
func (c *Cluster) StartAgent() {
	c.t.Helper()
	if err := c.startAgent(); err != nil {
		c.t.Fatal(err)
	}
}

func (c *Cluster) startAgent() error {
	n := c.node
	if n.cancel != nil {
		return errors.New("starting the agent: it is running")
	}
	ctx, cancel := context.WithCancel(context.Background())
	n.cancel, n.done = cancel, make(chan error, 1)
	ready := make(chan *kubelet.Kubelet, 1)
	opts := n.opts
	opts.OnReady = func(k *kubelet.Kubelet) { ready <- k }
	go func() { n.done <- agent.Run(ctx, opts) }()
	select {
	case n.kubelet = <-ready:
		n.leftPods = false
		return nil
	case err := <-n.done:
		cancel()
		n.cancel = nil
		return fmt.Errorf("agent did not start: %w", err)
	case <-time.After(120 * time.Second):
		c.stopAgent()
		return errors.New("agent not started after 120s")
	}
}

// StopAgentLeavingPods stops the agent leaving its pods running, as an agent being
// restarted does; StartAgent starts it again.
func (c *Cluster) StopAgentLeavingPods() {
	c.t.Helper()
	n := c.node
	n.stopPods.Store(false)
	if n.cancel != nil {
		n.leftPods = true
	}
	c.stopAgent()
	n.stopPods.Store(true)
}

// stopAgent stops the agent, which removes its pods unless stopPods says otherwise.
func (c *Cluster) stopAgent() {
	n := c.node
	if n.cancel == nil {
		return
	}
	n.cancel()
	n.cancel = nil
	select {
	case err := <-n.done:
		if err != nil {
			c.t.Errorf("agent stopped with error: %v", err)
		}
	case <-time.After(120 * time.Second):
		c.t.Error("agent did not stop within 120s")
	}
}

// RestartAgent stops the agent leaving its pods running, and starts it again.
func (c *Cluster) RestartAgent() {
	c.t.Helper()
	c.StopAgentLeavingPods()
	c.StartAgent()
}

func (c *Cluster) waitNodeReady() {
	c.t.Helper()
	Eventually(c.t, 60*time.Second, "node "+c.NodeName+" Ready", func() (bool, error) {
		node, err := c.Client.CoreV1().Nodes().Get(context.Background(), c.NodeName, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		for _, cond := range node.Status.Conditions {
			if cond.Type == corev1.NodeReady && cond.Status == corev1.ConditionTrue {
				return true, nil
			}
		}
		return false, nil
	})
}

// Kubectl runs the bundled kubectl against the cluster.
func (c *Cluster) Kubectl(stdin string, args ...string) (stdout, stderr string, err error) {
	c.t.Helper()
	return c.Server.Kubectl(stdin, args...)
}

// KubectlCommand is an unstarted kubectl command against the cluster, for long-running
// uses (port-forward, logs -f) and terminals.
func (c *Cluster) KubectlCommand(args ...string) *exec.Cmd {
	c.t.Helper()
	cmd := exec.Command(capstantesting.Binary(c.t), append([]string{"kubectl"}, args...)...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+c.Server.Kubeconfig)
	return cmd
}

// Eventually polls cond every 100ms until it holds, failing the test after timeout with
// the last error.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() (bool, error)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var lastErr error
	for {
		ok, err := cond()
		if ok {
			return
		}
		lastErr = err
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("timed out after %s waiting for %s (last error: %v)", timeout, what, lastErr)
}

// Logger logs to the test at warning level and above, or everything when
// CAPSTAN_E2E_DEBUG is set.
func Logger(t testing.TB) *slog.Logger {
	level := slog.LevelWarn
	if os.Getenv("CAPSTAN_E2E_DEBUG") != "" {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: level}))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
