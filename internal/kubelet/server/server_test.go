package server

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
	clocktesting "k8s.io/utils/clock/testing"

	"capstan/internal/kubelet"
	"capstan/internal/pki"
)

// fakeRuntime is a CRI runtime with fixed state that records the streaming requests.
type fakeRuntime struct {
	mu         sync.Mutex
	sandboxes  []*runtimeapi.PodSandbox
	containers []*runtimeapi.Container
	statuses   map[string]*runtimeapi.ContainerStatus
	stats      []*runtimeapi.ContainerStats
	streamURL  string
	execs      []*runtimeapi.ExecRequest
	attaches   []*runtimeapi.AttachRequest
	forwards   []*runtimeapi.PortForwardRequest
	// statusCalls counts ContainerStatus calls.
	statusCalls int
}

func (f *fakeRuntime) ListPodSandbox(_ context.Context, in *runtimeapi.ListPodSandboxRequest, _ ...grpc.CallOption) (*runtimeapi.ListPodSandboxResponse, error) {
	var out []*runtimeapi.PodSandbox
	for _, sb := range f.sandboxes {
		if st := in.GetFilter().GetState(); st != nil && st.State != sb.State {
			continue
		}
		out = append(out, sb)
	}
	return &runtimeapi.ListPodSandboxResponse{Items: out}, nil
}

func (f *fakeRuntime) ListContainers(_ context.Context, in *runtimeapi.ListContainersRequest, _ ...grpc.CallOption) (*runtimeapi.ListContainersResponse, error) {
	var out []*runtimeapi.Container
	for _, c := range f.containers {
		if id := in.GetFilter().GetPodSandboxId(); id != "" && id != c.PodSandboxId {
			continue
		}
		if st := in.GetFilter().GetState(); st != nil && st.State != c.State {
			continue
		}
		out = append(out, c)
	}
	return &runtimeapi.ListContainersResponse{Containers: out}, nil
}

func (f *fakeRuntime) ContainerStatus(_ context.Context, in *runtimeapi.ContainerStatusRequest, _ ...grpc.CallOption) (*runtimeapi.ContainerStatusResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.statusCalls++
	st, ok := f.statuses[in.ContainerId]
	if !ok {
		return nil, fmt.Errorf("container %q not found", in.ContainerId)
	}
	return &runtimeapi.ContainerStatusResponse{Status: st}, nil
}

func (f *fakeRuntime) Exec(_ context.Context, in *runtimeapi.ExecRequest, _ ...grpc.CallOption) (*runtimeapi.ExecResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.execs = append(f.execs, in)
	return &runtimeapi.ExecResponse{Url: f.streamURL + "/exec/token"}, nil
}

func (f *fakeRuntime) Attach(_ context.Context, in *runtimeapi.AttachRequest, _ ...grpc.CallOption) (*runtimeapi.AttachResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.attaches = append(f.attaches, in)
	return &runtimeapi.AttachResponse{Url: f.streamURL + "/attach/token"}, nil
}

func (f *fakeRuntime) PortForward(_ context.Context, in *runtimeapi.PortForwardRequest, _ ...grpc.CallOption) (*runtimeapi.PortForwardResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.forwards = append(f.forwards, in)
	return &runtimeapi.PortForwardResponse{Url: f.streamURL + "/portforward/token"}, nil
}

func (f *fakeRuntime) ListContainerStats(context.Context, *runtimeapi.ListContainerStatsRequest, ...grpc.CallOption) (*runtimeapi.ListContainerStatsResponse, error) {
	return &runtimeapi.ListContainerStatsResponse{Stats: f.stats}, nil
}

func (f *fakeRuntime) ListPodSandboxStats(context.Context, *runtimeapi.ListPodSandboxStatsRequest, ...grpc.CallOption) (*runtimeapi.ListPodSandboxStatsResponse, error) {
	return &runtimeapi.ListPodSandboxStatsResponse{}, nil
}

// fakeKubelet is a kubelet core with fixed pods and container instances, keyed
// "namespace/pod/container" (current) and "namespace/pod/container/previous".
type fakeKubelet struct {
	pods []*corev1.Pod
	refs map[string]kubelet.ContainerRef
}

func (f *fakeKubelet) NodeName() string                         { return "node1" }
func (f *fakeKubelet) Pods() []*corev1.Pod                      { return f.pods }
func (f *fakeKubelet) Runtime() runtimeapi.RuntimeServiceClient { return nil }

func (f *fakeKubelet) Pod(ns, name string) (*corev1.Pod, bool) {
	for _, p := range f.pods {
		if p.Namespace == ns && p.Name == name {
			return p, true
		}
	}
	return nil, false
}

func (f *fakeKubelet) Container(_ context.Context, ns, pod, container string, previous bool) (kubelet.ContainerRef, error) {
	key := ns + "/" + pod + "/" + container
	if previous {
		key += "/previous"
	}
	ref, ok := f.refs[key]
	if !ok {
		return ref, fmt.Errorf("container %s: %w", key, kubelet.ErrNotFound)
	}
	return ref, nil
}

type fakeNode struct{ usage NodeUsage }

func (f fakeNode) Usage(context.Context) (NodeUsage, error) { return f.usage, nil }
func (f fakeNode) Fs(string) (FsUsage, error)               { return f.usage.Fs, nil }

// fixture is a kubelet server on loopback with one pod "default/web" (containers "app",
// running, and "sidecar", waiting) and clients of several identities.
type fixture struct {
	t       *testing.T
	url     string
	rt      *fakeRuntime
	logPath string
	clients map[string]*http.Client
	tls     map[string]*tls.Config
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	dir := t.TempDir()
	ca, err := pki.LoadOrCreateCA(dir, "ca", "test-ca")
	if err != nil {
		t.Fatal(err)
	}
	serving, err := ca.Issue(pki.CertSpec{CommonName: "node1", IPs: []net.IP{net.IPv4(127, 0, 0, 1)},
		Usages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)

	logPath := filepath.Join(dir, "pods", "default_web_uid1", "app", "0.log")
	if err := os.MkdirAll(filepath.Dir(logPath), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(logPath, []byte("2024-01-01T00:00:01Z stdout F hello\n2024-01-01T00:00:02Z stderr F world\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "web", UID: "uid1"},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app"}, {Name: "sidecar"}}},
		Status: corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{
			{Name: "app", ContainerID: "containerd://c1", State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}},
			{Name: "sidecar", State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}}},
		}},
	}
	idle := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "idle", UID: "uid-idle"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app"}}}}
	gone := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "gone", UID: "uid-gone"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app"}}}}
	rt := &fakeRuntime{
		sandboxes: []*runtimeapi.PodSandbox{
			{Id: "sb-old", State: runtimeapi.PodSandboxState_SANDBOX_NOTREADY, CreatedAt: 1,
				Metadata: &runtimeapi.PodSandboxMetadata{Name: "web", Namespace: "default", Uid: "uid1"}},
			{Id: "sb1", State: runtimeapi.PodSandboxState_SANDBOX_READY, CreatedAt: 2e9,
				Metadata: &runtimeapi.PodSandboxMetadata{Name: "web", Namespace: "default", Uid: "uid1"}},
			{Id: "sb-idle", State: runtimeapi.PodSandboxState_SANDBOX_READY, CreatedAt: 2e9,
				Metadata: &runtimeapi.PodSandboxMetadata{Name: "idle", Namespace: "default", Uid: "uid-idle"}},
		},
		containers: []*runtimeapi.Container{
			{Id: "c1", PodSandboxId: "sb1", State: runtimeapi.ContainerState_CONTAINER_RUNNING, CreatedAt: 3e9,
				Metadata: &runtimeapi.ContainerMetadata{Name: "app"}},
		},
		statuses: map[string]*runtimeapi.ContainerStatus{
			"c1": {Id: "c1", State: runtimeapi.ContainerState_CONTAINER_EXITED, LogPath: logPath},
		},
	}
	srv, err := New(Options{
		Address: "127.0.0.1:0", ServingCert: serving.TLS, ClientCA: pool, Runtime: rt,
		Kubelet: &fakeKubelet{pods: []*corev1.Pod{pod, idle, gone}, refs: map[string]kubelet.ContainerRef{
			"default/web/app": {PodUID: "uid1", PodSandboxID: "sb1", ContainerID: "c1", Running: true, LogPath: logPath},
		}},
		Node: fakeNode{usage: NodeUsage{Boot: time.Unix(1000, 0), CPUCoreNanoSeconds: 5e9, MemoryTotal: 1000,
			MemoryUsage: 600, MemoryWorkingSet: 400, Fs: FsUsage{Capacity: 100, Available: 40, Used: 60, Inodes: 10, InodesFree: 4}}},
		Clock: clocktesting.NewFakeClock(time.Unix(5000, 0)),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	select {
	case <-srv.Ready():
	case err := <-done:
		t.Fatalf("Run: %v", err)
	}
	f := &fixture{t: t, url: "https://" + srv.Addr().String(), rt: rt, logPath: logPath,
		clients: map[string]*http.Client{}, tls: map[string]*tls.Config{}}
	ids := map[string]pki.CertSpec{
		"apiserver": {CommonName: APIServerUser},
		"admin":     {CommonName: "system:admin", Organization: []string{MastersGroup}},
		"node":      {CommonName: "system:node:node2", Organization: []string{"system:nodes"}},
	}
	for name, spec := range ids {
		spec.Usages = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
		kp, err := ca.Issue(spec)
		if err != nil {
			t.Fatal(err)
		}
		cfg := &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{kp.TLS}, MinVersion: tls.VersionTLS12}
		f.tls[name] = cfg
		f.clients[name] = &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}, Timeout: 10 * time.Second}
	}
	f.tls["anonymous"] = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	f.clients["anonymous"] = &http.Client{Transport: &http.Transport{TLSClientConfig: f.tls["anonymous"]}, Timeout: 10 * time.Second}
	return f
}

func (f *fixture) get(who, path string) (int, string) {
	f.t.Helper()
	resp, err := f.clients[who].Get(f.url + path)
	if err != nil {
		f.t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func TestServerAuthorization(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	tests := []struct {
		who      string
		wantCode int
		wantBody string
	}{
		{"apiserver", http.StatusOK, "ok"},
		{"admin", http.StatusOK, "ok"},
		{"anonymous", http.StatusUnauthorized, "Unauthorized\n"},
		{"node", http.StatusForbidden, "Forbidden (user=system:node:node2, verb=get, resource=nodes, subresource=proxy)\n"},
	}
	for _, tt := range tests {
		t.Run(tt.who+" gets "+http.StatusText(tt.wantCode), func(t *testing.T) {
			code, body := f.get(tt.who, "/healthz")
			if code != tt.wantCode || body != tt.wantBody {
				t.Errorf("got %d %q, want %d %q", code, body, tt.wantCode, tt.wantBody)
			}
		})
	}
}

func TestServerPods(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	code, body := f.get("apiserver", "/pods")
	if code != http.StatusOK {
		t.Fatalf("code %d: %s", code, body)
	}
	var list corev1.PodList
	if err := json.Unmarshal([]byte(body), &list); err != nil {
		t.Fatal(err)
	}
	if list.Kind != "PodList" || list.APIVersion != "v1" || len(list.Items) != 3 || list.Items[0].Name != "web" {
		t.Errorf("got %s", body)
	}
}

func TestServerContainerLogs(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	tests := []struct {
		name     string
		path     string
		wantCode int
		wantBody string
	}{
		{"all of a running container's log", "/containerLogs/default/web/app", 200, "hello\nworld\n"},
		{"with tail and timestamps", "/containerLogs/default/web/app?tailLines=1&timestamps=true", 200, "2024-01-01T00:00:02.000000000Z world\n"},
		{"following a container that stopped ends", "/containerLogs/default/web/app?follow=true", 200, "hello\nworld\n"},
		{"one stream", "/containerLogs/default/web/app?stream=Stderr", 200, "world\n"},
		{"with a byte limit", "/containerLogs/default/web/app?limitBytes=3", 200, "hel"},
		{"of an unknown pod", "/containerLogs/default/nope/app", 404, "pod \"nope\" does not exist\n"},
		{"of an unknown container", "/containerLogs/default/web/nope", 404, "container \"nope\" not found in pod \"web\"\n"},
		{"of a waiting container", "/containerLogs/default/web/sidecar", 400, "container \"sidecar\" in pod \"web\" is waiting to start: ContainerCreating\n"},
		{"previous without one", "/containerLogs/default/web/app?previous=true", 400, "previous terminated container \"app\" in pod \"web\" not found\n"},
		{"with a bad tail", "/containerLogs/default/web/app?tailLines=-2", 400, "tailLines: \"-2\" must be an integer of at least 0\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := f.get("apiserver", tt.path)
			if code != tt.wantCode || body != tt.wantBody {
				t.Errorf("got %d %q, want %d %q", code, body, tt.wantCode, tt.wantBody)
			}
		})
	}
}

// upgradeEcho is a streaming server that switches to protocol "test/1" and echoes.
func upgradeEcho(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.EqualFold(r.Header.Get("Upgrade"), "test/1") {
			http.Error(w, "upgrade required", http.StatusBadRequest)
			return
		}
		conn, rw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		defer conn.Close()
		fmt.Fprintf(rw, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: test/1\r\nX-Path: %s\r\n\r\n", r.URL.Path)
		rw.Flush()
		_, _ = io.Copy(conn, rw)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// upgrade sends an upgrade request for path and returns the switched connection and the
// response.
func (f *fixture) upgrade(who, method, path string) (net.Conn, *bufio.Reader, *http.Response) {
	f.t.Helper()
	conn, err := tls.Dial("tcp", strings.TrimPrefix(f.url, "https://"), f.tls[who])
	if err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(func() { conn.Close() })
	fmt.Fprintf(conn, "%s %s HTTP/1.1\r\nHost: kubelet\r\nConnection: Upgrade\r\nUpgrade: test/1\r\nContent-Length: 0\r\n\r\n", method, path)
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		f.t.Fatal(err)
	}
	return conn, br, resp
}

func echoes(t *testing.T, conn net.Conn, br *bufio.Reader) {
	t.Helper()
	if _, err := conn.Write([]byte("ping\n")); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	line, err := br.ReadString('\n')
	if err != nil || line != "ping\n" {
		t.Fatalf("read %q, %v", line, err)
	}
}

func TestServerStreaming(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.rt.streamURL = upgradeEcho(t).URL
	t.Run("exec runs in the running container and splices the stream", func(t *testing.T) {
		conn, br, resp := f.upgrade("apiserver", "POST", "/exec/default/web/app?command=sh&command=-c&command=date&stdin=1&stdout=1&stderr=1&tty=1")
		if resp.StatusCode != http.StatusSwitchingProtocols || resp.Header.Get("X-Path") != "/exec/token" {
			t.Fatalf("got %d %v", resp.StatusCode, resp.Header)
		}
		echoes(t, conn, br)
		f.rt.mu.Lock()
		got := f.rt.execs[len(f.rt.execs)-1]
		f.rt.mu.Unlock()
		if got.ContainerId != "c1" || strings.Join(got.Cmd, " ") != "sh -c date" || !got.Stdin || !got.Stdout || got.Stderr || !got.Tty {
			t.Errorf("exec request %+v; a TTY must merge stderr", got)
		}
	})
	t.Run("attach by pod UID", func(t *testing.T) {
		conn, br, resp := f.upgrade("admin", "POST", "/attach/default/web/uid1/app?stdout=1&stderr=1")
		if resp.StatusCode != http.StatusSwitchingProtocols || resp.Header.Get("X-Path") != "/attach/token" {
			t.Fatalf("got %d", resp.StatusCode)
		}
		echoes(t, conn, br)
		f.rt.mu.Lock()
		got := f.rt.attaches[len(f.rt.attaches)-1]
		f.rt.mu.Unlock()
		if got.ContainerId != "c1" || got.Stdin || !got.Stdout || !got.Stderr || got.Tty {
			t.Errorf("attach request %+v", got)
		}
	})
	t.Run("port forward goes to the ready sandbox", func(t *testing.T) {
		conn, br, resp := f.upgrade("apiserver", "GET", "/portForward/default/web?port=8080&port=53")
		if resp.StatusCode != http.StatusSwitchingProtocols || resp.Header.Get("X-Path") != "/portforward/token" {
			t.Fatalf("got %d", resp.StatusCode)
		}
		echoes(t, conn, br)
		f.rt.mu.Lock()
		got := f.rt.forwards[len(f.rt.forwards)-1]
		f.rt.mu.Unlock()
		if got.PodSandboxId != "sb1" || fmt.Sprint(got.Port) != "[8080 53]" {
			t.Errorf("port forward request %+v", got)
		}
	})
	t.Run("port forward to a pod with no running container finds its ready sandbox", func(t *testing.T) {
		_, _, resp := f.upgrade("apiserver", "POST", "/portForward/default/idle")
		if resp.StatusCode != http.StatusSwitchingProtocols {
			t.Fatalf("got %d", resp.StatusCode)
		}
		f.rt.mu.Lock()
		got := f.rt.forwards[len(f.rt.forwards)-1]
		f.rt.mu.Unlock()
		if got.PodSandboxId != "sb-idle" {
			t.Errorf("port forward request %+v, want sandbox sb-idle", got)
		}
	})
	for _, tt := range []struct {
		name, path string
		code       int
		body       string
	}{
		{"exec without streams", "/exec/default/web/app?command=ls", 400, "you must specify at least 1 of stdin, stdout, stderr\n"},
		{"exec without a command", "/exec/default/web/app?stdout=1", 400, "you must specify a command\n"},
		{"exec in a container not running", "/exec/default/web/sidecar?command=ls&stdout=1", 404, "container not found (\"sidecar\")\n"},
		{"exec in an unknown pod", "/exec/default/nope/app?command=ls&stdout=1", 404, "pod does not exist\n"},
		{"exec with the wrong UID", "/exec/default/web/uid2/app?command=ls&stdout=1", 404, "pod does not exist\n"},
		{"port forward with a bad port", "/portForward/default/web?port=x", 400, "invalid port \"x\"\n"},
		{"port forward to a pod without a sandbox", "/portForward/default/gone", 404, "pod default/gone has no running sandbox\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, br, resp := f.upgrade("apiserver", "POST", tt.path)
			body, _ := io.ReadAll(io.LimitReader(br, int64(len(tt.body))))
			if resp.StatusCode != tt.code || string(body) != tt.body {
				t.Errorf("got %d %q, want %d %q", resp.StatusCode, body, tt.code, tt.body)
			}
		})
	}
	t.Run("a runtime that refuses the upgrade answers through", func(t *testing.T) {
		conn, err := tls.Dial("tcp", strings.TrimPrefix(f.url, "https://"), f.tls["apiserver"])
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		fmt.Fprintf(conn, "POST /exec/default/web/app?command=ls&stdout=1 HTTP/1.1\r\nHost: kubelet\r\nContent-Length: 0\r\n\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("got %d", resp.StatusCode)
		}
	})
}

func TestServerSummary(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.rt.stats = []*runtimeapi.ContainerStats{{
		Attributes: &runtimeapi.ContainerAttributes{Id: "c1", Metadata: &runtimeapi.ContainerMetadata{Name: "app"}},
		Cpu: &runtimeapi.CpuUsage{Timestamp: 4e9, UsageCoreNanoSeconds: &runtimeapi.UInt64Value{Value: 7},
			UsageNanoCores: &runtimeapi.UInt64Value{Value: 3}},
		Memory: &runtimeapi.MemoryUsage{Timestamp: 4e9, WorkingSetBytes: &runtimeapi.UInt64Value{Value: 11},
			UsageBytes: &runtimeapi.UInt64Value{Value: 12}, RssBytes: &runtimeapi.UInt64Value{Value: 13}},
		WritableLayer: &runtimeapi.FilesystemUsage{Timestamp: 4e9, UsedBytes: &runtimeapi.UInt64Value{Value: 21},
			InodesUsed: &runtimeapi.UInt64Value{Value: 2}},
	}}
	code, body := f.get("apiserver", "/stats/summary")
	if code != http.StatusOK {
		t.Fatalf("code %d: %s", code, body)
	}
	var sum Summary
	if err := json.Unmarshal([]byte(body), &sum); err != nil {
		t.Fatal(err)
	}
	n := sum.Node
	if n.NodeName != "node1" || *n.CPU.UsageCoreNanoSeconds != 5e9 || n.CPU.UsageNanoCores != nil ||
		*n.Memory.WorkingSetBytes != 400 || *n.Memory.AvailableBytes != 600 || *n.Fs.CapacityBytes != 100 || *n.Fs.InodesUsed != 6 {
		t.Errorf("node summary %s", body)
	}
	// Pods in name order; a ready sandbox without running containers is listed empty.
	if len(sum.Pods) != 2 || sum.Pods[0].PodRef.Name != "idle" || len(sum.Pods[0].Containers) != 0 || sum.Pods[0].CPU != nil {
		t.Fatalf("pods %s", body)
	}
	p := sum.Pods[1]
	if p.PodRef != (PodReference{Name: "web", Namespace: "default", UID: "uid1"}) || len(p.Containers) != 1 ||
		p.Containers[0].Name != "app" || *p.CPU.UsageNanoCores != 3 || *p.Memory.WorkingSetBytes != 11 ||
		*p.EphemeralStorage.UsedBytes != 21 || *p.Containers[0].Rootfs.InodesUsed != 2 {
		t.Errorf("pod summary %s", body)
	}
	if !strings.Contains(body, `"ephemeral-storage"`) || !strings.Contains(body, `"usageCoreNanoSeconds"`) {
		t.Errorf("summary JSON field names differ from upstream: %s", body)
	}
}

func TestCPUSampler(t *testing.T) {
	t.Parallel()
	var c cpuSampler
	t0 := time.Unix(100, 0)
	steps := []struct {
		name  string
		at    time.Time
		total uint64
		want  string
	}{
		{"the first sample has no rate", t0, 1e9, "<nil>"},
		{"half a core over two seconds", t0.Add(2 * time.Second), 2e9, "500000000"},
		{"the same sample again keeps the rate", t0.Add(2 * time.Second), 2e9, "500000000"},
		{"a counter going back restarts", t0.Add(3 * time.Second), 1, "<nil>"},
		{"two cores", t0.Add(4 * time.Second), 1 + 2e9, "2000000000"},
	}
	for _, s := range steps {
		got := "<nil>"
		if r := c.rateAt("k", s.at, s.total); r != nil {
			got = fmt.Sprint(*r)
		}
		if got != s.want {
			t.Errorf("%s: got %s, want %s", s.name, got, s.want)
		}
	}
	c.keep(map[string]bool{})
	if r := c.rateAt("k", t0.Add(10*time.Second), 5e9); r != nil {
		t.Errorf("a forgotten key has a rate: %d", *r)
	}
}

func TestRunningCheckAsksTheRuntimeOnceASecond(t *testing.T) {
	t.Parallel()
	clk := clocktesting.NewFakeClock(time.Unix(100, 0))
	rt := &fakeRuntime{statuses: map[string]*runtimeapi.ContainerStatus{"c1": {Id: "c1", State: runtimeapi.ContainerState_CONTAINER_RUNNING}}}
	s := &Server{opts: Options{Runtime: rt, Clock: clk}}
	running := s.runningCheck(kubelet.ContainerRef{ContainerID: "c1", Running: true})
	calls := func() int {
		rt.mu.Lock()
		defer rt.mu.Unlock()
		return rt.statusCalls
	}
	steps := []struct {
		name      string
		advance   time.Duration
		exited    bool
		want      bool
		wantCalls int
	}{
		{"the first check asks", 0, false, true, 1},
		{"a check within the second does not", 500 * time.Millisecond, true, true, 1},
		{"a check after the second asks and sees the exit", 600 * time.Millisecond, true, false, 2},
		{"a stopped container stays stopped without asking", 5 * time.Second, false, false, 2},
	}
	for _, st := range steps {
		clk.Step(st.advance)
		if st.exited {
			rt.mu.Lock()
			rt.statuses["c1"].State = runtimeapi.ContainerState_CONTAINER_EXITED
			rt.mu.Unlock()
		}
		if got := running(t.Context()); got != st.want || calls() != st.wantCalls {
			t.Errorf("%s: running=%v after %d calls, want %v after %d", st.name, got, calls(), st.want, st.wantCalls)
		}
	}
	never := s.runningCheck(kubelet.ContainerRef{ContainerID: "c1", Running: false})
	if never(t.Context()) {
		t.Error("an instance that was not running is followed")
	}
}
