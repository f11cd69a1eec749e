package containerd

import (
	"context"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The test binary doubles as a fake containerd: with FAKE_CONTAINERD set it listens on the
// socket its --config names and serves until SIGTERM, or exits at once with FAKE_CRASH.
func TestMain(m *testing.M) {
	if os.Getenv("FAKE_CONTAINERD") != "" {
		fakeContainerd()
		return
	}
	os.Exit(m.Run())
}

func fakeContainerd() {
	if os.Getenv("FAKE_CRASH") != "" {
		os.Exit(3)
	}
	data, err := os.ReadFile(os.Args[2])
	if err != nil {
		os.Exit(2)
	}
	var socket string
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "address = "); ok && socket == "" {
			socket = strings.Trim(v, `"`)
		}
	}
	l, err := net.Listen("unix", socket)
	if err != nil {
		os.Exit(4)
	}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM)
	<-sig
	l.Close()
	os.Exit(0)
}

func newFake(t *testing.T) *Supervisor {
	t.Helper()
	dir := t.TempDir()
	t.Setenv("FAKE_CONTAINERD", "1")
	run, err := os.MkdirTemp("/tmp", "csd")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(run) })
	s, err := New(Options{
		Dir: dir, Binary: os.Args[0], StopTimeout: 5 * time.Second,
		Config: Config{Socket: filepath.Join(run, "c.sock"), State: filepath.Join(run, "state"), SandboxImage: "pause:1", CNIConfDir: filepath.Join(dir, "cni")},
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSupervisorRestartsContainerdThatDies(t *testing.T) {
	s := newFake(t)
	ctx, cancel := context.WithCancel(t.Context())
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	first := s.cmd.Process.Pid
	s.mu.Unlock()
	if err := syscall.Kill(first, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for s.Restarts() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("containerd was not restarted within 20s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	conn, err := net.Dial("unix", s.opts.Config.Socket)
	if err != nil {
		t.Fatalf("the restarted containerd does not answer: %v", err)
	}
	conn.Close()
	cancel()
	select {
	case <-s.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("supervisor did not stop")
	}
	s.mu.Lock()
	state := s.cmd.ProcessState
	s.mu.Unlock()
	if state == nil || !state.Exited() || state.ExitCode() != 0 {
		t.Fatalf("containerd should have exited cleanly on SIGTERM, got %v", state)
	}
}

func TestSupervisorReportsAContainerdThatCannotStart(t *testing.T) {
	s := newFake(t)
	t.Setenv("FAKE_CRASH", "1")
	err := s.Start(t.Context())
	if err == nil || !strings.Contains(err.Error(), "exited during start") {
		t.Fatalf("Start = %v, want an error saying containerd exited", err)
	}
}

func TestNewWritesTheConfigAndHostsFiles(t *testing.T) {
	dir := t.TempDir()
	r, err := ParseRegistries([]byte(registriesYAML))
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Options{Dir: dir, Registries: r, Config: Config{Socket: filepath.Join(dir, "s.sock"), State: filepath.Join(dir, "state"), SandboxImage: "pause:1", CNIConfDir: filepath.Join(dir, "cni")}})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := os.ReadFile(s.ConfigPath())
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`config_path = "` + filepath.Join(dir, "certs.d") + `"`, "restrict_oom_score_adj = true", `username = "user"`} {
		if !strings.Contains(string(cfg), want) {
			t.Errorf("config lacks %s:\n%s", want, cfg)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "certs.d", "docker.io", "hosts.toml")); err != nil {
		t.Error(err)
	}
}
