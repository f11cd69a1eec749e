package kubelet

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"capstan/internal/agent"
	"capstan/internal/kubelet"
	"capstan/internal/kubelet/images"
	"capstan/internal/network"
	"capstan/internal/server"
	capstantesting "capstan/internal/testing"
	"capstan/test/e2e/framework"
)

// busyboxImage is the test image: Debian's static busybox with a link per applet.
const busyboxImage = "capstan.test/busybox:1"

var (
	busyboxOnce sync.Once
	busyboxTar  string
	busyboxErr  error
)

// busyboxTarball packs /bin/busybox into an image tarball, once per test binary.
func busyboxTarball(t *testing.T) string {
	t.Helper()
	busyboxOnce.Do(func() {
		data, err := os.ReadFile("/bin/busybox")
		if err != nil {
			busyboxErr = err
			return
		}
		out, err := exec.Command("/bin/busybox", "--list").Output()
		if err != nil {
			busyboxErr = err
			return
		}
		files := map[string]images.File{
			"bin/busybox": {Data: data, Mode: 0o755},
			"tmp":         {Dir: true, Mode: 0o1777},
			"etc/passwd":  {Data: []byte("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n")},
			"etc/group":   {Data: []byte("root:x:0:\nnobody:x:65534:\n")},
		}
		grpc, err := buildTestProgram("capstan/test/e2e/kubelet/grpchealth")
		if err != nil {
			busyboxErr = err
			return
		}
		files["bin/grpchealth"] = images.File{Data: grpc, Mode: 0o755}
		for _, applet := range strings.Fields(string(out)) {
			if applet != "busybox" {
				files["bin/"+applet] = images.File{Link: "busybox"}
			}
		}
		img, err := images.Pack(files, images.ImageConfig{Cmd: []string{"sh"}, Env: []string{"PATH=/bin"}})
		if err != nil {
			busyboxErr = err
			return
		}
		dir, err := os.MkdirTemp("", "capstan-e2e-images-")
		if err != nil {
			busyboxErr = err
			return
		}
		busyboxTar = filepath.Join(dir, "busybox.tar")
		busyboxErr = images.WriteTarball(busyboxTar, busyboxImage, img)
	})
	if busyboxErr != nil {
		t.Fatalf("packing busybox: %v", busyboxErr)
	}
	return busyboxTar
}

// buildTestProgram builds a static binary of a package of this module.
func buildTestProgram(pkg string) ([]byte, error) {
	gomod, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "capstan-e2e-bin-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	out := filepath.Join(dir, "prog")
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", out, pkg)
	cmd.Dir = filepath.Dir(strings.TrimSpace(string(gomod)))
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if msg, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("building %s: %v: %s", pkg, err, msg)
	}
	return os.ReadFile(out)
}

// node is a control plane with one agent, running in the test's temporary directories.
type node struct {
	t       *testing.T
	server  *capstantesting.Server
	client  kubernetes.Interface
	name    string
	dataDir string
	runDir  string
	opts    agent.Options
	kubelet *kubelet.Kubelet

	serverOpts func(*server.Options)
	// stopPods tells the agent whether to remove its pods when it stops.
	stopPods *atomic.Bool

	cancel context.CancelFunc
	done   chan error
}

// nodeOption adjusts how startNode runs the server or the agent.
type nodeOption struct {
	server func(*server.Options)
	before func(*capstantesting.Server)
	agent  func(*agent.Options)
}

// withAgent changes the agent's options.
func withAgent(f func(*agent.Options)) nodeOption { return nodeOption{agent: f} }

// withServer changes the server's options.
func withServer(f func(*server.Options)) nodeOption { return nodeOption{server: f} }

// beforeAgent runs f against the server before the agent starts.
func beforeAgent(f func(*capstantesting.Server)) nodeOption { return nodeOption{before: f} }

// startNode starts a server and an agent; the agent and everything it ran are stopped
// and removed when the test ends.
func startNode(t *testing.T, options ...nodeOption) *node {
	t.Helper()
	framework.RequireRoot(t)
	n := &node{t: t, stopPods: new(atomic.Bool)}
	n.serverOpts = func(o *server.Options) {
		for _, opt := range options {
			if opt.server != nil {
				opt.server(o)
			}
		}
	}
	s := capstantesting.StartServerWith(t, n.serverOpts)
	var b [4]byte
	_, _ = rand.Read(b[:])
	suffix := hex.EncodeToString(b[:])
	n.server, n.client, n.name, n.dataDir = s, s.Client, "e2e-"+suffix, t.TempDir()
	n.runDir = "/run/capstan-e2e-" + suffix
	n.stopPods.Store(true)
	if err := os.MkdirAll(filepath.Join(n.dataDir, "agent", "images"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(busyboxTarball(t), filepath.Join(n.dataDir, "agent", "images", "busybox.tar")); err != nil {
		data, _ := os.ReadFile(busyboxTarball(t))
		if err := os.WriteFile(filepath.Join(n.dataDir, "agent", "images", "busybox.tar"), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	nodeIP, _, err := network.DefaultRouteIP()
	if err != nil {
		t.Skipf("e2e: skipped: no default route to take the node IP from: %v", err)
	}
	bridgeExisted := linkExists("cni0")
	cfg := rest.CopyConfig(s.Config)
	n.opts = agent.Options{
		Config: cfg, DataDir: n.dataDir, NodeName: n.name, NodeIP: nodeIP.String(),
		ContainerdSocket: filepath.Join(n.runDir, "containerd.sock"), ContainerdState: filepath.Join(n.runDir, "state"),
		PodLogsDir: filepath.Join(n.dataDir, "pod-logs"), KubeletAddress: "127.0.0.1:0",
		PodNetwork: string(network.BackendNone), StopPodsOnExit: n.stopPods.Load,
		// The service proxy has tests of its own; the node tests need no Service rules.
		ProxyMode: "none",
		Logger:    framework.Logger(t),
		Kubelet: func(o *kubelet.Options) {
			o.NodeStatusUpdateFrequency = 2 * time.Second
		},
	}
	for _, o := range options {
		if o.before != nil {
			o.before(n.server)
		}
		if o.agent != nil {
			o.agent(&n.opts)
		}
	}
	n.start()
	t.Cleanup(func() {
		n.stop()
		_ = os.RemoveAll(n.runDir)
		if !bridgeExisted && linkExists("cni0") {
			_ = exec.Command("ip", "link", "delete", "cni0").Run()
		}
	})
	n.waitNodeReady()
	return n
}

func linkExists(name string) bool {
	_, err := os.Stat("/sys/class/net/" + name)
	return err == nil
}

func (n *node) start() {
	n.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	n.cancel, n.done = cancel, make(chan error, 1)
	ready := make(chan *kubelet.Kubelet, 1)
	opts := n.opts
	opts.OnReady = func(k *kubelet.Kubelet) { ready <- k }
	go func() { n.done <- agent.Run(ctx, opts) }()
	select {
	case n.kubelet = <-ready:
	case err := <-n.done:
		cancel()
		n.t.Fatalf("agent did not start: %v", err)
	case <-time.After(120 * time.Second):
		cancel()
		n.t.Fatal("agent not started after 120s")
	}
}

// with returns the node for use in the (sub)test t: failures are reported to t.
func (n *node) with(t *testing.T) *node {
	cp := *n
	cp.t = t
	return &cp
}

// stop stops the agent (and, with StopPodsOnExit, its pods and containerd).
func (n *node) stop() {
	if n.cancel == nil {
		return
	}
	n.cancel()
	n.cancel = nil
	select {
	case err := <-n.done:
		if err != nil {
			n.t.Errorf("agent stopped with error: %v", err)
		}
	case <-time.After(120 * time.Second):
		n.t.Error("agent did not stop within 120s")
	}
}

// restart stops the agent leaving its pods running, and starts it again.
func (n *node) restart() {
	n.t.Helper()
	n.stopPods.Store(false)
	n.stop()
	n.stopPods.Store(true)
	n.start()
}

func (n *node) waitNodeReady() {
	n.t.Helper()
	n.eventually(60*time.Second, "node Ready", func() (bool, error) {
		node, err := n.client.CoreV1().Nodes().Get(context.Background(), n.name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		for _, c := range node.Status.Conditions {
			if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue {
				return true, nil
			}
		}
		return false, nil
	})
}

// eventually polls cond until it holds, failing the test after timeout.
func (n *node) eventually(timeout time.Duration, what string, cond func() (bool, error)) {
	n.t.Helper()
	framework.Eventually(n.t, timeout, what, cond)
}

// pod returns a pod of the busybox image bound to the node, with a short grace period.
func (n *node) pod(name string, command ...string) *corev1.Pod {
	grace := int64(1)
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
		Spec: corev1.PodSpec{
			NodeName:                      n.name,
			TerminationGracePeriodSeconds: &grace,
			Containers: []corev1.Container{{
				Name: "main", Image: busyboxImage, ImagePullPolicy: corev1.PullIfNotPresent, Command: command,
			}},
		},
	}
}

func (n *node) create(pod *corev1.Pod) *corev1.Pod {
	n.t.Helper()
	if pod.Namespace == "" {
		pod.Namespace = "default"
	}
	created, err := n.client.CoreV1().Pods(pod.Namespace).Create(context.Background(), pod, metav1.CreateOptions{})
	if err != nil {
		n.t.Fatalf("creating pod %s: %v", pod.Name, err)
	}
	return created
}

func (n *node) get(namespace, name string) *corev1.Pod {
	n.t.Helper()
	p, err := n.client.CoreV1().Pods(namespace).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		n.t.Fatalf("getting pod %s: %v", name, err)
	}
	return p
}

// waitPod polls a pod until cond holds.
func (n *node) waitPod(pod *corev1.Pod, timeout time.Duration, what string, cond func(*corev1.Pod) bool) *corev1.Pod {
	n.t.Helper()
	var last *corev1.Pod
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		p, err := n.client.CoreV1().Pods(pod.Namespace).Get(context.Background(), pod.Name, metav1.GetOptions{})
		if err == nil {
			last = p
			if cond(p) {
				return p
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	n.t.Fatalf("pod %s: timed out after %s waiting for %s; status: %s", pod.Name, timeout, what, framework.DescribePod(last))
	return nil
}

func (n *node) waitPhase(pod *corev1.Pod, phase corev1.PodPhase) *corev1.Pod {
	n.t.Helper()
	return n.waitPod(pod, 90*time.Second, "phase "+string(phase), func(p *corev1.Pod) bool { return p.Status.Phase == phase })
}

func (n *node) waitReady(pod *corev1.Pod) *corev1.Pod {
	n.t.Helper()
	return n.waitPod(pod, 90*time.Second, "Ready", podReady)
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// logs reads the current log of a pod's container through the kubelet's Provider.
func (n *node) logs(pod *corev1.Pod, container string, previous bool) string {
	n.t.Helper()
	ref, err := n.kubelet.Container(context.Background(), pod.Namespace, pod.Name, container, previous)
	if err != nil {
		n.t.Fatalf("finding the log of %s/%s: %v", pod.Name, container, err)
	}
	data, err := os.ReadFile(ref.LogPath)
	if err != nil {
		n.t.Fatalf("reading %s: %v", ref.LogPath, err)
	}
	var out strings.Builder
	for _, line := range strings.Split(string(data), "\n") {
		parts := strings.SplitN(line, " ", 4)
		if len(parts) == 4 {
			out.WriteString(parts[3])
			if parts[2] == "F" {
				out.WriteByte('\n')
			}
		}
	}
	return out.String()
}

var _ = netip.Addr{}

// exec runs a command in a pod's running container through CRI and returns its output.
func (n *node) exec(pod *corev1.Pod, container string, cmd ...string) (string, int32) {
	n.t.Helper()
	ref, err := n.kubelet.Container(context.Background(), pod.Namespace, pod.Name, container, false)
	if err != nil {
		n.t.Fatalf("exec in %s/%s: %v", pod.Name, container, err)
	}
	resp, err := n.kubelet.Runtime().ExecSync(context.Background(), &runtimeapi.ExecSyncRequest{ContainerId: ref.ContainerID, Cmd: cmd, Timeout: 10})
	if err != nil {
		n.t.Fatalf("exec %v in %s/%s: %v", cmd, pod.Name, container, err)
	}
	return string(resp.Stdout) + string(resp.Stderr), resp.ExitCode
}

// deleteAndWait deletes a pod with the given grace period and waits until it is gone.
func (n *node) deleteAndWait(pod *corev1.Pod, grace *int64, timeout time.Duration) time.Duration {
	n.t.Helper()
	start := time.Now()
	if err := n.client.CoreV1().Pods(pod.Namespace).Delete(context.Background(), pod.Name, metav1.DeleteOptions{GracePeriodSeconds: grace}); err != nil {
		n.t.Fatalf("deleting %s: %v", pod.Name, err)
	}
	n.eventually(timeout, "pod "+pod.Name+" to be gone", func() (bool, error) {
		_, err := n.client.CoreV1().Pods(pod.Namespace).Get(context.Background(), pod.Name, metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	})
	return time.Since(start)
}
