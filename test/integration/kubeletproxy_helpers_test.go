package integration

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
	"k8s.io/streaming/pkg/httpstream"
	"k8s.io/streaming/pkg/httpstream/spdy"

	"capstan/internal/kubelet"
	kubeletserver "capstan/internal/kubelet/server"
	"capstan/internal/pki"
	capstantesting "capstan/internal/testing"
)

// fakeStreams plays a container runtime's streaming server: the one-time URLs its Exec,
// Attach and PortForward hand out speak SPDY remote command v4 and port forwarding, and run
// a few canned commands:
//
//	echo ARGS...   writes ARGS to stdout
//	cat            copies stdin to stdout until stdin ends
//	fail MSG       writes MSG to stderr and exits 3
//	size           reads one terminal size and writes "WxH"
//
// Attaching copies stdin to stdout, or writes "attached" without stdin. Forwarded ports
// echo what they receive.
type fakeStreams struct {
	t   *testing.T
	srv *httptest.Server

	mu       sync.Mutex
	n        int
	execs    map[string]*runtimeapi.ExecRequest
	attaches map[string]*runtimeapi.AttachRequest
	forwards map[string]*runtimeapi.PortForwardRequest
}

func newFakeStreams(t *testing.T) *fakeStreams {
	f := &fakeStreams{t: t, execs: map[string]*runtimeapi.ExecRequest{}, attaches: map[string]*runtimeapi.AttachRequest{},
		forwards: map[string]*runtimeapi.PortForwardRequest{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeStreams) token() string {
	f.n++
	return strconv.Itoa(f.n)
}

func (f *fakeStreams) ListPodSandbox(context.Context, *runtimeapi.ListPodSandboxRequest, ...grpc.CallOption) (*runtimeapi.ListPodSandboxResponse, error) {
	return &runtimeapi.ListPodSandboxResponse{}, nil
}

func (f *fakeStreams) ListContainers(context.Context, *runtimeapi.ListContainersRequest, ...grpc.CallOption) (*runtimeapi.ListContainersResponse, error) {
	return &runtimeapi.ListContainersResponse{}, nil
}

func (f *fakeStreams) ContainerStatus(_ context.Context, in *runtimeapi.ContainerStatusRequest, _ ...grpc.CallOption) (*runtimeapi.ContainerStatusResponse, error) {
	return &runtimeapi.ContainerStatusResponse{Status: &runtimeapi.ContainerStatus{Id: in.ContainerId, State: runtimeapi.ContainerState_CONTAINER_EXITED}}, nil
}

func (f *fakeStreams) Exec(_ context.Context, in *runtimeapi.ExecRequest, _ ...grpc.CallOption) (*runtimeapi.ExecResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	tok := f.token()
	f.execs[tok] = in
	return &runtimeapi.ExecResponse{Url: f.srv.URL + "/exec/" + tok}, nil
}

func (f *fakeStreams) Attach(_ context.Context, in *runtimeapi.AttachRequest, _ ...grpc.CallOption) (*runtimeapi.AttachResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	tok := f.token()
	f.attaches[tok] = in
	return &runtimeapi.AttachResponse{Url: f.srv.URL + "/attach/" + tok}, nil
}

func (f *fakeStreams) PortForward(_ context.Context, in *runtimeapi.PortForwardRequest, _ ...grpc.CallOption) (*runtimeapi.PortForwardResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	tok := f.token()
	f.forwards[tok] = in
	return &runtimeapi.PortForwardResponse{Url: f.srv.URL + "/portforward/" + tok}, nil
}

func (f *fakeStreams) ListContainerStats(context.Context, *runtimeapi.ListContainerStatsRequest, ...grpc.CallOption) (*runtimeapi.ListContainerStatsResponse, error) {
	return &runtimeapi.ListContainerStatsResponse{}, nil
}

func (f *fakeStreams) ListPodSandboxStats(context.Context, *runtimeapi.ListPodSandboxStatsRequest, ...grpc.CallOption) (*runtimeapi.ListPodSandboxStatsResponse, error) {
	return &runtimeapi.ListPodSandboxStatsResponse{}, nil
}

func (f *fakeStreams) serve(w http.ResponseWriter, r *http.Request) {
	kind, tok, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	f.mu.Lock()
	exec, attach, forward := f.execs[tok], f.attaches[tok], f.forwards[tok]
	f.mu.Unlock()
	switch {
	case kind == "exec" && exec != nil:
		f.serveCommand(w, r, exec.Cmd, exec.Stdin, exec.Stdout, exec.Stderr, exec.Tty)
	case kind == "attach" && attach != nil:
		f.serveCommand(w, r, nil, attach.Stdin, attach.Stdout, attach.Stderr, attach.Tty)
	case kind == "portforward" && forward != nil:
		f.servePortForward(w, r)
	default:
		http.Error(w, "unknown token", http.StatusNotFound)
	}
}

// accept upgrades to SPDY with protocol and collects the client's streams by type.
func accept(w http.ResponseWriter, r *http.Request, protocol string) (httpstream.Connection, chan httpstream.Stream) {
	if _, err := httpstream.Handshake(r, w, []string{protocol}); err != nil {
		return nil, nil
	}
	streams := make(chan httpstream.Stream, 16)
	conn := spdy.NewResponseUpgrader().UpgradeResponse(w, r, func(s httpstream.Stream, _ <-chan struct{}) error {
		streams <- s
		return nil
	})
	return conn, streams
}

func (f *fakeStreams) serveCommand(w http.ResponseWriter, r *http.Request, cmd []string, stdin, stdout, stderr, tty bool) {
	conn, streams := accept(w, r, "v4.channel.k8s.io")
	if conn == nil {
		return
	}
	defer conn.Close()
	want := 1
	for _, on := range []bool{stdin, stdout, stderr && !tty, tty} {
		if on {
			want++
		}
	}
	got := map[string]httpstream.Stream{}
	for len(got) < want {
		select {
		case s := <-streams:
			got[s.Headers().Get("streamType")] = s
		case <-time.After(10 * time.Second):
			f.t.Errorf("fake runtime: got streams %v, want %d", got, want)
			return
		}
	}
	code := 0
	out, errOut := got["stdout"], got["stderr"]
	switch {
	case len(cmd) == 0 && stdin:
		_, _ = io.Copy(out, got["stdin"])
	case len(cmd) == 0:
		_, _ = io.WriteString(out, "attached\n")
	case cmd[0] == "echo":
		_, _ = io.WriteString(out, strings.Join(cmd[1:], " ")+"\n")
	case cmd[0] == "cat":
		_, _ = io.Copy(out, got["stdin"])
	case cmd[0] == "fail":
		_, _ = io.WriteString(errOut, strings.Join(cmd[1:], " ")+"\n")
		code = 3
	case cmd[0] == "size":
		var size struct{ Width, Height uint16 }
		if err := json.NewDecoder(got["resize"]).Decode(&size); err == nil {
			fmt.Fprintf(out, "%dx%d\n", size.Width, size.Height)
		}
	default:
		_, _ = io.WriteString(errOut, "unknown command\n")
		code = 127
	}
	status := metav1.Status{Status: metav1.StatusSuccess}
	if code != 0 {
		status = metav1.Status{Status: metav1.StatusFailure, Reason: "NonZeroExitCode",
			Message: fmt.Sprintf("command terminated with exit code %d", code),
			Details: &metav1.StatusDetails{Causes: []metav1.StatusCause{{Type: "ExitCode", Message: strconv.Itoa(code)}}}}
	}
	data, _ := json.Marshal(status)
	_, _ = got["error"].Write(data)
	for _, s := range got {
		s.Close()
	}
}

func (f *fakeStreams) servePortForward(w http.ResponseWriter, r *http.Request) {
	conn, streams := accept(w, r, "portforward.k8s.io")
	if conn == nil {
		return
	}
	defer conn.Close()
	for {
		select {
		case s := <-streams:
			if s.Headers().Get("streamType") == "data" {
				go func() {
					defer s.Close()
					_, _ = io.Copy(s, s)
				}()
			}
		case <-conn.CloseChan():
			return
		}
	}
}

// fakeKubelet is the kubelet core behind the fake node's API: pods with fixed containers.
type fakeKubelet struct {
	mu      sync.Mutex
	pods    []*corev1.Pod
	logPath string
}

func (k *fakeKubelet) NodeName() string                         { return "node1" }
func (k *fakeKubelet) Runtime() runtimeapi.RuntimeServiceClient { return nil }

func (k *fakeKubelet) Pods() []*corev1.Pod {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]*corev1.Pod(nil), k.pods...)
}

func (k *fakeKubelet) Pod(ns, name string) (*corev1.Pod, bool) {
	for _, p := range k.Pods() {
		if p.Namespace == ns && p.Name == name {
			return p, true
		}
	}
	return nil, false
}

func (k *fakeKubelet) Container(_ context.Context, ns, pod, container string, previous bool) (kubelet.ContainerRef, error) {
	p, ok := k.Pod(ns, pod)
	if !ok || previous {
		return kubelet.ContainerRef{}, fmt.Errorf("%s/%s/%s: %w", ns, pod, container, kubelet.ErrNotFound)
	}
	return kubelet.ContainerRef{PodUID: p.UID, PodSandboxID: "sandbox-" + pod, ContainerID: "c-" + container,
		Running: true, LogPath: k.logPath}, nil
}

func (k *fakeKubelet) add(p *corev1.Pod) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.pods = append(k.pods, p)
}

// fakeNode is a Node object whose kubelet API is a real kubelet server on loopback over a
// fake runtime.
type fakeNode struct {
	kubelet *fakeKubelet
	streams *fakeStreams
	port    int
}

// startFakeNode serves a kubelet API for node1 with a certificate of the server's CA, and
// registers node1 with its address and port.
func startFakeNode(t *testing.T, s *capstantesting.Server) *fakeNode {
	t.Helper()
	ca, err := pki.LoadOrCreateCA(filepath.Join(s.DataDir, "server", "tls"), "cluster-ca", "unused")
	if err != nil {
		t.Fatal(err)
	}
	serving, err := ca.Issue(pki.CertSpec{CommonName: "system:node:node1", IPs: []net.IP{net.IPv4(127, 0, 0, 1)},
		Usages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	logPath := filepath.Join(t.TempDir(), "0.log")
	if err := os.WriteFile(logPath, []byte("2024-01-01T00:00:01Z stdout F hello\n2024-01-01T00:00:02Z stderr F world\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	n := &fakeNode{kubelet: &fakeKubelet{logPath: logPath}, streams: newFakeStreams(t)}
	srv, err := kubeletserver.New(kubeletserver.Options{
		Kubelet: n.kubelet, Runtime: n.streams, Address: "127.0.0.1:0", ServingCert: serving.TLS, ClientCA: pool,
		Node: staticNodeStats{},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	select {
	case <-srv.Ready():
	case err := <-done:
		t.Fatalf("kubelet server: %v", err)
	}
	n.port = srv.Addr().(*net.TCPAddr).Port

	node, err := s.Client.CoreV1().Nodes().Create(t.Context(), &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node1"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	node.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeHostName, Address: "node1"}, {Type: corev1.NodeInternalIP, Address: "127.0.0.1"}}
	node.Status.DaemonEndpoints.KubeletEndpoint.Port = int32(n.port)
	if _, err := s.Client.CoreV1().Nodes().UpdateStatus(t.Context(), node, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	return n
}

type staticNodeStats struct{}

func (staticNodeStats) Usage(context.Context) (kubeletserver.NodeUsage, error) {
	return kubeletserver.NodeUsage{Boot: time.Unix(1, 0), CPUCoreNanoSeconds: 42, MemoryTotal: 100, MemoryUsage: 50, MemoryWorkingSet: 40}, nil
}

func (staticNodeStats) Fs(string) (kubeletserver.FsUsage, error) { return kubeletserver.FsUsage{}, nil }
