package bench

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"

	"capstan/internal/kubelet/images"
	capstantesting "capstan/internal/testing"
)

// The node benchmarks run `capstan agent` as its own process next to a
// `capstan server --disable-agent`, so the agent's CPU and memory (kubelet, pod network,
// kubelet API; containerd is a process of its own) are measured alone. They need root.

const benchImage = "capstan.bench/busybox:1"

// agentProcess is a running `capstan agent`.
type agentProcess struct {
	cmd    *exec.Cmd
	exited chan struct{}
	logs   *tailBuffer
}

// nodeEnv is a server and the data directory of one agent on it.
type nodeEnv struct {
	b       *testing.B
	server  *serverProcess
	client  kubernetes.Interface
	dataDir string
	runDir  string
	name    string
}

func requireRoot(b *testing.B) {
	b.Helper()
	if os.Geteuid() != 0 {
		b.Skip("node benchmarks need root (containerd, mounts, network namespaces)")
	}
	for _, bin := range []string{"containerd", "runc", "/bin/busybox"} {
		if _, err := exec.LookPath(bin); err != nil {
			b.Skipf("node benchmarks need %s", bin)
		}
	}
}

// newNodeEnv starts a server and prepares an agent data directory holding the busybox
// image tarball.
func newNodeEnv(b *testing.B) *nodeEnv {
	b.Helper()
	requireRoot(b)
	p := startServer(b, startOptions{})
	e := &nodeEnv{b: b, server: p, client: p.client(mediaPB), dataDir: b.TempDir(), name: "bench-node"}
	run, err := os.MkdirTemp("/run", "capstan-bench-")
	if err != nil {
		b.Fatal(err)
	}
	e.runDir = run
	b.Cleanup(func() { os.RemoveAll(e.runDir) })
	imagesDir := filepath.Join(e.dataDir, "agent", "images")
	if err := os.MkdirAll(imagesDir, 0o755); err != nil {
		b.Fatal(err)
	}
	if err := writeBusybox(filepath.Join(imagesDir, "busybox.tar")); err != nil {
		b.Fatal(err)
	}
	return e
}

// writeBusybox packs Debian's static busybox (one link per applet) as benchImage.
func writeBusybox(path string) error {
	data, err := os.ReadFile("/bin/busybox")
	if err != nil {
		return err
	}
	files := map[string]images.File{"bin/busybox": {Data: data, Mode: 0o755}, "bin/sh": {Link: "busybox"}, "bin/sleep": {Link: "busybox"}}
	img, err := images.Pack(files, images.ImageConfig{Env: []string{"PATH=/bin"}})
	if err != nil {
		return err
	}
	return images.WriteTarball(path, benchImage, img)
}

// startAgent runs `capstan agent` against the server and returns when it runs.
func (e *nodeEnv) startAgent(stopPods bool) *agentProcess {
	e.b.Helper()
	args := []string{"agent", "--kubeconfig", e.server.kubeconfig, "--data-dir", e.dataDir, "--node-name", e.name,
		"--containerd-socket", filepath.Join(e.runDir, "containerd.sock"), "--containerd-state", filepath.Join(e.runDir, "state"),
		"--pod-logs-dir", filepath.Join(e.dataDir, "pod-logs"), "--kubelet-address", "127.0.0.1:0", "--pod-network", "none"}
	if stopPods {
		args = append(args, "--stop-pods-on-exit")
	}
	a := &agentProcess{cmd: exec.Command(capstantesting.Binary(e.b), args...), exited: make(chan struct{}), logs: &tailBuffer{max: 64 << 10}}
	a.cmd.Stdout, a.cmd.Stderr = a.logs, a.logs
	if err := a.cmd.Start(); err != nil {
		e.b.Fatal(err)
	}
	go func() { a.cmd.Wait(); close(a.exited) }()
	e.b.Cleanup(func() { a.stop(e.b) })
	return a
}

func (a *agentProcess) stop(b *testing.B) {
	select {
	case <-a.exited:
		return
	default:
	}
	a.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-a.exited:
	case <-time.After(2 * time.Minute):
		b.Errorf("capstan agent did not stop: %s", a.logs.tail(2000))
		a.cmd.Process.Kill()
		<-a.exited
	}
}

// cpuSeconds is the user+system CPU time the process used so far.
func (a *agentProcess) cpuSeconds(b *testing.B) float64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", a.cmd.Process.Pid))
	if err != nil {
		b.Fatal(err)
	}
	fields := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+2:]))
	utime, _ := strconv.ParseFloat(fields[11], 64)
	stime, _ := strconv.ParseFloat(fields[12], 64)
	return (utime + stime) / 100 // USER_HZ
}

// memory reads the agent's resident memory: all of it (RSS), its anonymous part (heap,
// stacks: what the agent itself allocated) and its proportional share (PSS, which splits
// the pages of the binary with the server process running the same file).
func (a *agentProcess) memory(b *testing.B) (rss, anon, pss float64) {
	read := func(file, key string) float64 {
		f, err := os.Open(fmt.Sprintf("/proc/%d/%s", a.cmd.Process.Pid, file))
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), key+":"); ok {
				kb, _ := strconv.ParseFloat(strings.Fields(v)[0], 64)
				return kb / 1024
			}
		}
		return 0
	}
	return read("status", "VmRSS"), read("status", "RssAnon"), read("smaps_rollup", "Pss")
}

// waitNodeReady waits for the node's Ready condition and returns when it was seen.
func (e *nodeEnv) waitNodeReady(ctx context.Context, a *agentProcess) time.Time {
	e.b.Helper()
	for {
		n, err := e.client.CoreV1().Nodes().Get(ctx, e.name, metav1.GetOptions{})
		if err == nil {
			for _, c := range n.Status.Conditions {
				if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue {
					return time.Now()
				}
			}
		}
		select {
		case <-a.exited:
			e.b.Fatalf("agent exited: %s", a.logs.tail(4000))
		case <-ctx.Done():
			e.b.Fatalf("node not Ready: %s", a.logs.tail(4000))
		case <-time.After(5 * time.Millisecond):
		}
	}
}

func sleepPod(name string) *corev1.Pod {
	grace := int64(0)
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app": "bench"}},
		Spec: corev1.PodSpec{
			TerminationGracePeriodSeconds: &grace,
			Containers:                    []corev1.Container{{Name: "main", Image: benchImage, Command: []string{"sleep", "3600"}}},
		},
	}
}

// runPods creates count pods, batch at a time, each batch once the previous one runs,
// and returns each pod's latency from create to Running as a watch sees it.
func runPods(ctx context.Context, b *testing.B, c kubernetes.Interface, ns, prefix string, count, batch int) *latencies {
	w, err := c.CoreV1().Pods(ns).Watch(ctx, metav1.ListOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer w.Stop()
	var mu sync.Mutex
	created := map[string]time.Time{}
	running := map[string]time.Duration{}
	runningCh := make(chan struct{}, count)
	go func() {
		for ev := range w.ResultChan() {
			if ev.Type == watch.Error {
				continue
			}
			p, ok := ev.Object.(*corev1.Pod)
			if !ok || p.Status.Phase != corev1.PodRunning {
				continue
			}
			now := time.Now()
			mu.Lock()
			if t, ok := created[p.Name]; ok {
				if _, done := running[p.Name]; !done {
					running[p.Name] = now.Sub(t)
					runningCh <- struct{}{}
				}
			}
			mu.Unlock()
		}
	}()
	var lat latencies
	for start := 0; start < count; start += batch {
		var wg sync.WaitGroup
		for i := start; i < start+batch && i < count; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				name := fmt.Sprintf("%s-%03d", prefix, i)
				mu.Lock()
				created[name] = time.Now()
				mu.Unlock()
				if _, err := c.CoreV1().Pods(ns).Create(ctx, sleepPod(name), metav1.CreateOptions{}); err != nil {
					b.Errorf("create %s: %v", name, err)
				}
			}(i)
		}
		wg.Wait()
		for i := start; i < start+batch && i < count; i++ {
			select {
			case <-runningCh:
			case <-ctx.Done():
				b.Fatalf("pods not running: %d of %d", len(running), count)
			}
		}
	}
	mu.Lock()
	defer mu.Unlock()
	for _, d := range running {
		lat.add(d)
	}
	return &lat
}

func deleteAllPods(ctx context.Context, b *testing.B, c kubernetes.Interface, ns string) {
	zero := int64(0)
	if err := c.CoreV1().Pods(ns).DeleteCollection(ctx, metav1.DeleteOptions{GracePeriodSeconds: &zero}, metav1.ListOptions{}); err != nil {
		b.Fatal(err)
	}
	for {
		list, err := c.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		if err == nil && len(list.Items) == 0 {
			return
		}
		select {
		case <-ctx.Done():
			b.Fatal("pods not deleted")
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// BenchmarkPodStartup creates 100 pods of an image the node has, 10 at a time, and
// reports the p50 and p99 of create -> Running (scheduling included). Target: p99 < 1.5 s.
func BenchmarkPodStartup(b *testing.B) {
	for range b.N {
		e := newNodeEnv(b)
		ctx, cancel := context.WithTimeout(b.Context(), 10*time.Minute)
		defer cancel()
		a := e.startAgent(true)
		e.waitNodeReady(ctx, a)
		ns := createNamespace(ctx, b, e.client, "startup")
		lat := runPods(ctx, b, e.client, ns, "pod", 100, 10)
		hideNsPerOp(b)
		lat.report(b, "startup")
		deleteAllPods(ctx, b, e.client, ns)
		a.stop(b)
	}
}

// BenchmarkAgentSteadyState measures the idle agent's memory, then runs 30 pods and
// measures the agent process's CPU use over 30 s and its memory again (containerd is a
// process of its own and not counted). Target: RSS < 50 MiB.
func BenchmarkAgentSteadyState(b *testing.B) {
	for range b.N {
		e := newNodeEnv(b)
		ctx, cancel := context.WithTimeout(b.Context(), 10*time.Minute)
		defer cancel()
		a := e.startAgent(true)
		e.waitNodeReady(ctx, a)
		time.Sleep(10 * time.Second)
		idleRSS, idleAnon, idlePSS := a.memory(b)
		ns := createNamespace(ctx, b, e.client, "steady")
		runPods(ctx, b, e.client, ns, "pod", 30, 10)
		time.Sleep(15 * time.Second)
		const window = 30 * time.Second
		cpu0 := a.cpuSeconds(b)
		time.Sleep(window)
		cpu := (a.cpuSeconds(b) - cpu0) / window.Seconds()
		hideNsPerOp(b)
		rss, anon, pss := a.memory(b)
		b.ReportMetric(idleRSS, "idle-rss-MiB")
		b.ReportMetric(idleAnon, "idle-anon-MiB")
		b.ReportMetric(idlePSS, "idle-pss-MiB")
		b.ReportMetric(rss, "30-pods-rss-MiB")
		b.ReportMetric(anon, "30-pods-anon-MiB")
		b.ReportMetric(pss, "30-pods-pss-MiB")
		b.ReportMetric(cpu*1000, "30-pods-mCPU")
		deleteAllPods(ctx, b, e.client, ns)
		a.stop(b)
	}
}

// BenchmarkAgentStartToReady starts the agent once (images imported, containerd state
// written), stops it leaving nothing running, and times the second start from exec to
// the node's Ready condition. Target: < 1 s.
func BenchmarkAgentStartToReady(b *testing.B) {
	for range b.N {
		e := newNodeEnv(b)
		ctx, cancel := context.WithTimeout(b.Context(), 5*time.Minute)
		defer cancel()
		first := e.startAgent(true)
		e.waitNodeReady(ctx, first)
		first.stop(b)
		// The node stays Ready in the API until its status goes stale: make it not Ready
		// so the second start has to post Ready itself.
		n, err := e.client.CoreV1().Nodes().Get(ctx, e.name, metav1.GetOptions{})
		if err != nil {
			b.Fatal(err)
		}
		for i := range n.Status.Conditions {
			if n.Status.Conditions[i].Type == corev1.NodeReady {
				n.Status.Conditions[i].Status = corev1.ConditionUnknown
			}
		}
		if _, err := e.client.CoreV1().Nodes().UpdateStatus(ctx, n, metav1.UpdateOptions{}); err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		second := e.startAgent(true)
		ready := e.waitNodeReady(ctx, second)
		hideNsPerOp(b)
		b.ReportMetric(ms(ready.Sub(start)), "start-to-ready-ms")
		second.stop(b)
	}
}
