package bench

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
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

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	capstantesting "capstan/internal/testing"
)

const (
	readyLine    = "Capstan server is ready"
	startTimeout = 60 * time.Second
	stopTimeout  = 30 * time.Second
	mediaPB      = "application/vnd.kubernetes.protobuf"
)

// serverProcess is a running `capstan server --disable-agent` subprocess.
type serverProcess struct {
	b          testing.TB
	cmd        *exec.Cmd
	dataDir    string
	kubeconfig string
	port       int
	// ready is the time from exec to the "ready" log line; readyz to the first 200 from
	// /readyz (polled every millisecond from exec on).
	ready, readyz time.Duration
	logs          *tailBuffer
	exited        chan struct{}
	stopped       bool
}

// startOptions say how to start a server.
type startOptions struct {
	// dataDir; empty means a new b.TempDir().
	dataDir string
	// pollReadyz measures the time to the first successful /readyz.
	pollReadyz bool
}

// startServer runs bin/capstan server on free loopback ports and waits for its ready line.
// The server is stopped when the benchmark ends.
func startServer(b testing.TB, opts startOptions) *serverProcess {
	b.Helper()
	bin := capstantesting.Binary(b)
	if opts.dataDir == "" {
		opts.dataDir = b.TempDir()
	}
	var lastErr error
	// A free port can be taken by someone else between our probe and the server's bind;
	// try a few times.
	for attempt := 0; attempt < 3; attempt++ {
		p, err := tryStart(b, bin, opts)
		if err == nil {
			b.Cleanup(p.stop)
			return p
		}
		lastErr = err
	}
	b.Fatalf("starting capstan server: %v", lastErr)
	return nil
}

func tryStart(b testing.TB, bin string, opts startOptions) (*serverProcess, error) {
	ports, err := freePorts(3)
	if err != nil {
		return nil, err
	}
	p := &serverProcess{
		b: b, dataDir: opts.dataDir, kubeconfig: filepath.Join(opts.dataDir, "kubeconfig.yaml"),
		port: ports[0], logs: &tailBuffer{max: 64 << 10}, exited: make(chan struct{}),
	}
	p.cmd = exec.Command(bin, "server",
		"--data-dir", opts.dataDir, "--write-kubeconfig", p.kubeconfig,
		"--bind-address", "127.0.0.1", "--advertise-address", "127.0.0.1",
		"--https-port", strconv.Itoa(ports[0]),
		"--etcd-client-port", strconv.Itoa(ports[1]), "--etcd-peer-port", strconv.Itoa(ports[2]),
		"--disable-agent")
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	p.cmd.Stdout = p.logs

	readyCh := make(chan time.Duration, 1)
	readyzCh := make(chan time.Duration, 1)
	pollCtx, stopPoll := context.WithCancel(context.Background())
	defer stopPoll()

	start := time.Now()
	if err := p.cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		// Keep draining stderr for the life of the process: a full pipe would block it.
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		seen := false
		for sc.Scan() {
			line := sc.Bytes()
			if !seen && bytes.Contains(line, []byte(readyLine)) {
				seen = true
				readyCh <- time.Since(start)
			}
			p.logs.Write(line)
			p.logs.Write([]byte{'\n'})
		}
		io.Copy(p.logs, stderr)
	}()
	go func() {
		p.cmd.Wait()
		close(p.exited)
	}()
	if opts.pollReadyz {
		go pollReadyz(pollCtx, ports[0], start, readyzCh)
	}

	select {
	case p.ready = <-readyCh:
	case <-p.exited:
		return nil, fmt.Errorf("server exited before ready: %s", p.logs.tail(2000))
	case <-time.After(startTimeout):
		p.kill()
		return nil, fmt.Errorf("server not ready after %v: %s", startTimeout, p.logs.tail(2000))
	}
	if opts.pollReadyz {
		select {
		case p.readyz = <-readyzCh:
		case <-time.After(startTimeout):
			p.stop()
			return nil, errors.New("/readyz never answered 200")
		}
	}
	return p, nil
}

// pollReadyz asks /readyz (no authentication needed) every millisecond until it answers 200.
func pollReadyz(ctx context.Context, port int, start time.Time, done chan<- time.Duration) {
	tr := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, DisableKeepAlives: false}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, Timeout: 2 * time.Second}
	url := fmt.Sprintf("https://127.0.0.1:%d/readyz", port)
	for ctx.Err() == nil {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := c.Do(req)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				done <- time.Since(start)
				return
			}
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Millisecond):
		}
	}
}

// stop sends SIGTERM and waits for the process to exit; safe to call twice.
func (p *serverProcess) stop() {
	if p.stopped {
		return
	}
	p.stopped = true
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(stopTimeout):
		p.b.Errorf("capstan server did not stop within %v; killing it", stopTimeout)
		p.kill()
	}
}

func (p *serverProcess) kill() {
	p.stopped = true
	p.cmd.Process.Kill()
	<-p.exited
}

// config is a client config for the admin kubeconfig, without client-side rate limiting.
// contentType "" is JSON (client-go's default); mediaPB asks for protobuf.
func (p *serverProcess) config(contentType string) *rest.Config {
	p.b.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags("", p.kubeconfig)
	if err != nil {
		p.b.Fatalf("loading kubeconfig: %v", err)
	}
	cfg.QPS, cfg.Burst = 1e6, 1e6
	if contentType != "" {
		cfg.ContentType = contentType
		cfg.AcceptContentTypes = contentType + ",application/json"
	}
	return cfg
}

func (p *serverProcess) client(contentType string) kubernetes.Interface {
	p.b.Helper()
	return kubernetes.NewForConfigOrDie(p.config(contentType))
}

// rssMiB reads VmRSS and VmHWM (peak RSS) of the server from /proc.
func (p *serverProcess) rssMiB() (rss, hwm float64) {
	p.b.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		p.b.Fatalf("reading server memory: %v", err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		fields := strings.Fields(v)
		if len(fields) != 2 || fields[1] != "kB" {
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

// freePorts returns n distinct loopback ports that were free a moment ago.
func freePorts(n int) ([]int, error) {
	var ports []int
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for i := 0; i < n; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// tailBuffer keeps the last max bytes written to it, for error messages.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) tail(n int) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	b := t.buf
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}
