package integration

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"capstan/internal/server"
	capstantesting "capstan/internal/testing"
)

// TestIntegrationSchedulerCommand runs `capstan scheduler` as its own process, with a
// --config file, against a server without a scheduler, and reads its /metrics.
func TestIntegrationSchedulerCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	s := capstantesting.StartServerWith(t, func(o *server.Options) { o.DisableScheduler = true })
	bin := capstantesting.Binary(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cfg := filepath.Join(t.TempDir(), "scheduler.yaml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(`apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
clientConnection:
  kubeconfig: %s
leaderElection:
  leaderElect: false
`, s.Kubeconfig)), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "scheduler", "--config", cfg, "--bind-address", "127.0.0.1", "--secure-port", fmt.Sprint(port))
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var logs strings.Builder
	logDone := make(chan struct{})
	go func() {
		defer close(logDone)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			logs.WriteString(sc.Text() + "\n")
		}
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			t.Error("capstan scheduler did not stop on SIGTERM")
		}
		<-logDone
		if t.Failed() {
			t.Log(logs.String())
		}
	})

	c := s.Client
	schNode(t, c, schNodeSpec{name: "n1"})
	schCreate(t, c, "default", schPod("by-command", "100m", ""))
	schWaitBound(t, c, "default", "by-command")

	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}, Timeout: 5 * time.Second}
	var body string
	schPoll(t, 10*time.Second, "metrics", func() error {
		resp, err := hc.Get(fmt.Sprintf("https://127.0.0.1:%d/metrics", port))
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		body = string(b)
		if err != nil || !strings.Contains(body, `scheduler_schedule_attempts_total{profile="default-scheduler",result="scheduled"} 1`) {
			return fmt.Errorf("no scheduled attempt yet (%v)", err)
		}
		return nil
	})
	for _, want := range []string{
		`scheduler_pending_pods{queue="active"} 0`,
		`scheduler_pending_pods{queue="unschedulable"}`,
		"scheduler_scheduling_attempt_duration_seconds_bucket",
		"scheduler_pod_scheduling_sli_duration_seconds_bucket",
		`scheduler_cache_size{type="nodes"} 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	resp, err := hc.Get(fmt.Sprintf("https://127.0.0.1:%d/healthz", port))
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("/healthz: %v %v", resp, err)
	}
}
