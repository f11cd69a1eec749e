package bench

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
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
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"

	capstantesting "capstan/internal/testing"
)

// The scheduler benchmarks run `capstan server` without its scheduler and controllers (no
// node lifecycle controller: the node objects have no kubelet behind them), create N Ready
// nodes through the API, start `capstan scheduler` as its own process, then create M pending
// pods from 32 clients as fast as the API server takes them. They report:
//   - pods/s: M / (last pod bound - first pod created), what upstream's scheduler_perf calls
//     SchedulingThroughput;
//   - p50/p99 of each pod's time from its create call returning to a watch seeing it bound;
//   - the create rate, so a throughput capped by pod creation shows as such;
//   - the scheduler's and the API server's CPU (cores used on average over the run) and
//     the scheduler's peak RSS.
//
// Anti-affinity runs put the pods in groups of 500 whose members repel each other per node
// (required podAntiAffinity on kubernetes.io/hostname), so every group spreads over 500 of
// the 1,000 nodes.

type schedBenchCase struct {
	name         string
	nodes, pods  int
	antiAffinity bool
}

var schedBenchCases = []schedBenchCase{
	{"basic-1000nodes-10000pods", 1000, 10000, false},
	{"antiaffinity-1000nodes-5000pods", 1000, 5000, true},
	{"basic-5000nodes-10000pods", 5000, 10000, false},
}

func BenchmarkSchedulingThroughput(b *testing.B) {
	for _, tc := range schedBenchCases {
		b.Run(tc.name, func(b *testing.B) {
			for range b.N {
				runSchedBench(b, tc)
			}
		})
	}
}

func runSchedBench(b *testing.B, tc schedBenchCase) {
	srv := startServerArgs(b, "--disable-scheduler", "--disable-controller-manager")
	ctx, cancel := context.WithTimeout(b.Context(), 15*time.Minute)
	defer cancel()
	c := srv.client(mediaPB)
	ns := createNamespace(ctx, b, c, "sched")
	schedParallel(ctx, b, 32, tc.nodes, func(i int) error {
		_, err := c.CoreV1().Nodes().Create(ctx, benchNode(i), metav1.CreateOptions{})
		return err
	})
	watcher := watchBound(ctx, b, c, ns)

	// Drain: a backlog of M pending pods, then the scheduler starts.
	schedParallel(ctx, b, 32, tc.pods, func(i int) error {
		_, err := c.CoreV1().Pods(ns).Create(ctx, benchPod(benchPodName(i), i/500, tc.antiAffinity), metav1.CreateOptions{})
		return err
	})
	sched := startScheduler(b, srv)
	schedCPU0, srvCPU0 := cpuSeconds(b, sched.Process.Pid), cpuSeconds(b, srv.cmd.Process.Pid)
	t0 := time.Now()
	first, last := watcher.wait(ctx, b, tc.pods)
	wall := time.Since(t0)
	schedCPU, srvCPU := cpuSeconds(b, sched.Process.Pid)-schedCPU0, cpuSeconds(b, srv.cmd.Process.Pid)-srvCPU0
	_, hwm := procRSSMiB(b, sched.Process.Pid)

	// Burst: more pods created from 32 clients as fast as the API server takes them,
	// each timed from its create call returning to the watch seeing it bound.
	burst := min(tc.pods/5, 2000)
	created := make([]time.Time, burst)
	t1 := time.Now()
	schedParallel(ctx, b, 32, burst, func(i int) error {
		_, err := c.CoreV1().Pods(ns).Create(ctx, benchPod(fmt.Sprintf("burst-%05d", i), 1000+i/500, tc.antiAffinity), metav1.CreateOptions{})
		created[i] = time.Now()
		return err
	})
	createRate := float64(burst) / time.Since(t1).Seconds()
	watcher.wait(ctx, b, tc.pods+burst)
	var lat latencies
	for i := range burst {
		lat.add(watcher.at(fmt.Sprintf("burst-%05d", i)).Sub(created[i]))
	}

	b.Log(sched.metrics("scheduler_binding_duration_seconds", "scheduler_scheduling_algorithm_duration_seconds_sum",
		"scheduler_scheduling_algorithm_duration_seconds_count", "scheduler_schedule_attempts_total"))
	hideNsPerOp(b)
	b.ReportMetric(float64(tc.pods-1)/last.Sub(first).Seconds(), "pods/s")
	b.ReportMetric(wall.Seconds(), "drain-s")
	b.ReportMetric(schedCPU/wall.Seconds(), "sched-cores")
	b.ReportMetric(srvCPU/wall.Seconds(), "server-cores")
	b.ReportMetric(hwm, "sched-peak-MiB")
	b.ReportMetric(createRate, "burst-created/s")
	b.ReportMetric(lat.percentile(50), "burst-p50-ms")
	b.ReportMetric(lat.percentile(99), "burst-p99-ms")
}

// boundWatcher records when a watch first sees each pod of a namespace bound.
type boundWatcher struct {
	mu     sync.Mutex
	bound  map[string]time.Time
	first  time.Time
	last   time.Time
	update chan struct{}
}

func watchBound(ctx context.Context, b *testing.B, c kubernetes.Interface, ns string) *boundWatcher {
	b.Helper()
	w, err := c.CoreV1().Pods(ns).Watch(ctx, metav1.ListOptions{})
	if err != nil {
		b.Fatal(err)
	}
	bw := &boundWatcher{bound: map[string]time.Time{}, update: make(chan struct{}, 1)}
	b.Cleanup(w.Stop)
	go func() {
		for ev := range w.ResultChan() {
			p, ok := ev.Object.(*corev1.Pod)
			if !ok || p.Spec.NodeName == "" || ev.Type == watch.Deleted {
				continue
			}
			now := time.Now()
			bw.mu.Lock()
			if _, seen := bw.bound[p.Name]; !seen {
				bw.bound[p.Name] = now
				if bw.first.IsZero() {
					bw.first = now
				}
				bw.last = now
			}
			bw.mu.Unlock()
			select {
			case bw.update <- struct{}{}:
			default:
			}
		}
	}()
	return bw
}

// wait waits until n pods are bound and returns the first and last bind times.
func (bw *boundWatcher) wait(ctx context.Context, b *testing.B, n int) (time.Time, time.Time) {
	b.Helper()
	for {
		bw.mu.Lock()
		got, first, last := len(bw.bound), bw.first, bw.last
		bw.mu.Unlock()
		if got >= n {
			return first, last
		}
		select {
		case <-bw.update:
		case <-time.After(time.Second):
		case <-ctx.Done():
			b.Fatalf("only %d of %d pods bound before the deadline", got, n)
		}
	}
}

func (bw *boundWatcher) at(name string) time.Time {
	bw.mu.Lock()
	defer bw.mu.Unlock()
	return bw.bound[name]
}

func benchNode(i int) *corev1.Node {
	name := fmt.Sprintf("node-%05d", i)
	alloc := corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse("32"),
		corev1.ResourceMemory: resource.MustParse("128Gi"),
		corev1.ResourcePods:   resource.MustParse("110"),
	}
	now := metav1.Now()
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{
			corev1.LabelHostname:     name,
			corev1.LabelTopologyZone: fmt.Sprintf("zone-%d", i%3),
		}},
		Status: corev1.NodeStatus{
			Capacity: alloc, Allocatable: alloc,
			Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue,
				Reason: "KubeletReady", LastHeartbeatTime: now, LastTransitionTime: now}},
		},
	}
}

func benchPodName(i int) string { return fmt.Sprintf("pod-%05d", i) }

// benchPod is a pod requesting 100m and 100Mi, labeled with its anti-affinity group.
func benchPod(name string, group int, antiAffinity bool) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"group": fmt.Sprintf("g%d", group)}},
		Spec: corev1.PodSpec{
			ServiceAccountName: "default",
			Containers: []corev1.Container{{Name: "pause", Image: "pause", Resources: corev1.ResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("100Mi")},
			}}},
		},
	}
	if antiAffinity {
		p.Spec.Affinity = &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{
			RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{{
				LabelSelector: &metav1.LabelSelector{MatchLabels: p.Labels},
				TopologyKey:   corev1.LabelHostname,
			}},
		}}
	}
	return p
}

// schedParallel runs fn(i) for i in [0, n) on workers goroutines and fails on the first error.
func schedParallel(ctx context.Context, b *testing.B, workers, n int, fn func(i int) error) {
	b.Helper()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	next := make(chan int)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := fn(i); err != nil {
					mu.Lock()
					if first == nil {
						first = fmt.Errorf("item %d: %w", i, err)
					}
					mu.Unlock()
				}
			}
		}()
	}
	for i := 0; i < n && ctx.Err() == nil; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	if first != nil {
		b.Fatal(first)
	}
}

// startServerArgs is startServer with extra `capstan server` flags.
func startServerArgs(b *testing.B, extra ...string) *serverProcess {
	b.Helper()
	bin := capstantesting.Binary(b)
	dir := b.TempDir()
	var lastErr error
	for range 3 {
		ports, err := freePorts(3)
		if err != nil {
			b.Fatal(err)
		}
		p := &serverProcess{b: b, dataDir: dir, kubeconfig: filepath.Join(dir, "kubeconfig.yaml"),
			port: ports[0], logs: &tailBuffer{max: 64 << 10}, exited: make(chan struct{})}
		args := append([]string{"server", "--data-dir", dir, "--write-kubeconfig", p.kubeconfig,
			"--bind-address", "127.0.0.1", "--advertise-address", "127.0.0.1",
			"--https-port", strconv.Itoa(ports[0]),
			"--etcd-client-port", strconv.Itoa(ports[1]), "--etcd-peer-port", strconv.Itoa(ports[2]),
			"--disable-agent"}, extra...)
		p.cmd = exec.Command(bin, args...)
		if err := waitForLine(p.cmd, p.logs, readyLine, p.exited); err != nil {
			lastErr = err
			continue
		}
		b.Cleanup(p.stop)
		return p
	}
	b.Fatalf("starting capstan server: %v", lastErr)
	return nil
}

// startScheduler runs `capstan scheduler` against the server and waits until it schedules.
func startScheduler(b *testing.B, srv *serverProcess) *schedProcess {
	b.Helper()
	ports, err := freePorts(1)
	if err != nil {
		b.Fatal(err)
	}
	sp := &schedProcess{metricsPort: ports[0]}
	cmd := exec.Command(capstantesting.Binary(b), "scheduler", "--kubeconfig", srv.kubeconfig,
		"--leader-elect=false", "--bind-address", "127.0.0.1", "--secure-port", strconv.Itoa(ports[0]))
	logs := &tailBuffer{max: 64 << 10}
	exited := make(chan struct{})
	if err := waitForLine(cmd, logs, "scheduler started", exited); err != nil {
		b.Fatalf("starting capstan scheduler: %v", err)
	}
	b.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(stopTimeout):
			cmd.Process.Kill()
			<-exited
		}
	})
	sp.Cmd = cmd
	return sp
}

// schedProcess is a running `capstan scheduler`.
type schedProcess struct {
	*exec.Cmd
	metricsPort int
}

// metrics returns the scheduler's /metrics lines starting with one of the prefixes.
func (sp *schedProcess) metrics(prefixes ...string) string {
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}, Timeout: 5 * time.Second}
	resp, err := c.Get(fmt.Sprintf("https://127.0.0.1:%d/metrics", sp.metricsPort))
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var out []string
	for _, l := range strings.Split(string(body), "\n") {
		for _, p := range prefixes {
			if strings.HasPrefix(l, p) {
				out = append(out, l)
			}
		}
	}
	return strings.Join(out, "\n")
}

// waitForLine starts cmd and waits for a stderr line containing line; stderr is drained
// into logs for the life of the process and exited is closed when it ends.
func waitForLine(cmd *exec.Cmd, logs *tailBuffer, line string, exited chan struct{}) error {
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return err
	}
	cmd.Stdout = logs
	if err := cmd.Start(); err != nil {
		return err
	}
	seen := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		found := false
		for sc.Scan() {
			if !found && bytes.Contains(sc.Bytes(), []byte(line)) {
				found = true
				close(seen)
			}
			logs.Write(sc.Bytes())
			logs.Write([]byte{'\n'})
		}
		io.Copy(logs, stderr)
	}()
	go func() {
		cmd.Wait()
		close(exited)
	}()
	select {
	case <-seen:
		return nil
	case <-exited:
		return fmt.Errorf("exited before %q: %s", line, logs.tail(2000))
	case <-time.After(startTimeout):
		cmd.Process.Kill()
		<-exited
		return fmt.Errorf("no %q after %v: %s", line, startTimeout, logs.tail(2000))
	}
}

// cpuSeconds reads a process's user+system CPU time from /proc.
func cpuSeconds(b *testing.B, pid int) float64 {
	b.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatalf("reading cpu time: %v", err)
	}
	// Fields after the command name (which may contain spaces) start at ")".
	f := strings.Fields(string(data[bytes.LastIndexByte(data, ')')+2:]))
	utime, _ := strconv.ParseFloat(f[11], 64)
	stime, _ := strconv.ParseFloat(f[12], 64)
	return (utime + stime) / 100 // USER_HZ
}

// procRSSMiB reads VmRSS and VmHWM of a process.
func procRSSMiB(b *testing.B, pid int) (rss, hwm float64) {
	b.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatalf("reading memory: %v", err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		k, v, ok := strings.Cut(line, ":")
		fields := strings.Fields(v)
		if !ok || len(fields) != 2 {
			continue
		}
		kb, _ := strconv.ParseFloat(fields[0], 64)
		switch k {
		case "VmRSS":
			rss = kb / 1024
		case "VmHWM":
			hwm = kb / 1024
		}
	}
	return rss, hwm
}
