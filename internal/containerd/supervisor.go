package containerd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Defaults of Options.
const (
	DefaultSocket = "/run/capstan/containerd/containerd.sock"
	DefaultState  = "/run/capstan/containerd/state"
	DefaultCNIBin = "/usr/lib/cni"
)

// Options configures a Supervisor. Zero fields take the documented defaults.
type Options struct {
	// Dir is <data-dir>/agent/containerd: config.toml, containerd.log, containerd.pid and
	// (unless Config.Root says otherwise) the root/ of images and snapshots. Required.
	Dir string
	// Config of containerd. Root defaults to Dir/root, State to DefaultState, Socket to
	// DefaultSocket, CNIBinDir to DefaultCNIBin. SandboxImage and CNIConfDir are required.
	Config Config
	// Registries, when set, become hosts.toml files under Dir/certs.d and credentials.
	Registries *Registries
	// Binary is the containerd executable. Default: "containerd" from PATH.
	Binary string
	// StartTimeout bounds the wait for the socket after each start. Default 30 s.
	StartTimeout time.Duration
	// StopTimeout is how long containerd gets after SIGTERM before SIGKILL. Default 10 s.
	StopTimeout time.Duration
	// Logger. Default slog.Default().
	Logger *slog.Logger
}

// Supervisor runs one containerd process and restarts it when it dies.
type Supervisor struct {
	opts Options
	log  *slog.Logger

	mu       sync.Mutex
	cmd      *exec.Cmd
	exited   chan struct{}
	restarts int
	done     chan struct{}
}

// New fills in the defaults and writes containerd's configuration files.
func New(opts Options) (*Supervisor, error) {
	if opts.Dir == "" {
		return nil, errors.New("containerd: Dir is required")
	}
	if opts.Config.SandboxImage == "" || opts.Config.CNIConfDir == "" {
		return nil, errors.New("containerd: SandboxImage and CNIConfDir are required")
	}
	c := &opts.Config
	if c.Root == "" {
		c.Root = filepath.Join(opts.Dir, "root")
	}
	if c.State == "" {
		c.State = DefaultState
	}
	if c.Socket == "" {
		c.Socket = DefaultSocket
	}
	if c.CNIBinDir == "" {
		c.CNIBinDir = DefaultCNIBin
	}
	if opts.Binary == "" {
		opts.Binary = "containerd"
	}
	if opts.StartTimeout == 0 {
		opts.StartTimeout = 30 * time.Second
	}
	if opts.StopTimeout == 0 {
		opts.StopTimeout = 10 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	s := &Supervisor{opts: opts, log: opts.Logger.With("component", "containerd"), done: make(chan struct{})}
	if err := s.writeConfig(); err != nil {
		return nil, err
	}
	return s, nil
}

// Endpoint is the CRI endpoint of the supervised containerd.
func (s *Supervisor) Endpoint() string { return "unix://" + s.opts.Config.Socket }

// ConfigPath is the path of the rendered config.toml.
func (s *Supervisor) ConfigPath() string { return filepath.Join(s.opts.Dir, "config.toml") }

// Done is closed once the supervisor has stopped containerd for good.
func (s *Supervisor) Done() <-chan struct{} { return s.done }

// Restarts counts how often containerd was started again after dying.
func (s *Supervisor) Restarts() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.restarts
}

func (s *Supervisor) writeConfig() error {
	for _, d := range []string{s.opts.Dir, s.opts.Config.Root, s.opts.Config.State, filepath.Dir(s.opts.Config.Socket), s.opts.Config.CNIConfDir} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return fmt.Errorf("containerd: %w", err)
		}
	}
	cfg := s.opts.Config
	if s.opts.Registries != nil {
		certs := filepath.Join(s.opts.Dir, "certs.d")
		if err := os.RemoveAll(certs); err != nil {
			return fmt.Errorf("containerd: %w", err)
		}
		for dir, data := range s.opts.Registries.HostsFiles() {
			if err := os.MkdirAll(filepath.Join(certs, dir), 0o700); err != nil {
				return fmt.Errorf("containerd: %w", err)
			}
			if err := os.WriteFile(filepath.Join(certs, dir, "hosts.toml"), data, 0o600); err != nil {
				return fmt.Errorf("containerd: %w", err)
			}
		}
		cfg.RegistryConfigPath = certs
		cfg.RegistryAuth = s.opts.Registries.AuthTOML()
	}
	if err := os.WriteFile(s.ConfigPath(), Render(cfg), 0o600); err != nil {
		return fmt.Errorf("containerd: writing config: %w", err)
	}
	return nil
}

// Start starts containerd, waits until its socket accepts connections, and supervises it
// until ctx is done; then it stops containerd (SIGTERM, then SIGKILL after StopTimeout)
// and closes Done. Start returns an error when containerd does not come up at all.
func (s *Supervisor) Start(ctx context.Context) error {
	s.stopStale()
	if err := s.startOnce(ctx); err != nil {
		close(s.done)
		return err
	}
	go s.supervise(ctx)
	return nil
}

func (s *Supervisor) startOnce(ctx context.Context) error {
	// A socket left behind by a dead containerd would make the wait below succeed early.
	_ = os.Remove(s.opts.Config.Socket)
	logFile, err := os.OpenFile(filepath.Join(s.opts.Dir, "containerd.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("containerd: %w", err)
	}
	cmd := exec.Command(s.opts.Binary, "--config", s.ConfigPath())
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// Its own process group keeps a terminal's ^C for the agent, which then stops
	// containerd in order; Pdeathsig stops it should the agent die without doing so.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return fmt.Errorf("containerd: starting %s: %w", s.opts.Binary, err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		logFile.Close()
		close(exited)
	}()
	s.mu.Lock()
	s.cmd, s.exited = cmd, exited
	s.mu.Unlock()
	_ = os.WriteFile(s.pidFile(), []byte(strconv.Itoa(cmd.Process.Pid)), 0o600)
	s.log.Info("started containerd", "pid", cmd.Process.Pid, "socket", s.opts.Config.Socket)

	deadline := time.Now().Add(s.opts.StartTimeout)
	for {
		conn, err := net.DialTimeout("unix", s.opts.Config.Socket, time.Second)
		if err == nil {
			conn.Close()
			return nil
		}
		select {
		case <-exited:
			return fmt.Errorf("containerd exited during start (%s); see %s", cmd.ProcessState, filepath.Join(s.opts.Dir, "containerd.log"))
		case <-ctx.Done():
			s.stop(cmd, exited)
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.stop(cmd, exited)
			return fmt.Errorf("containerd: socket %s not ready after %s", s.opts.Config.Socket, s.opts.StartTimeout)
		}
	}
}

func (s *Supervisor) supervise(ctx context.Context) {
	defer close(s.done)
	backoff := time.Second
	for {
		s.mu.Lock()
		cmd, exited := s.cmd, s.exited
		s.mu.Unlock()
		started := time.Now()
		select {
		case <-ctx.Done():
			s.stop(cmd, exited)
			_ = os.Remove(s.pidFile())
			return
		case <-exited:
		}
		s.log.Warn("containerd exited; restarting", "state", cmd.ProcessState.String(), "after", backoff)
		if time.Since(started) > time.Minute {
			backoff = time.Second
		}
		for {
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, 30*time.Second)
			if err := s.startOnce(ctx); err != nil {
				if ctx.Err() != nil {
					return
				}
				s.log.Error("restarting containerd", "err", err)
				continue
			}
			s.mu.Lock()
			s.restarts++
			s.mu.Unlock()
			break
		}
	}
}

// stop sends SIGTERM, then SIGKILL after StopTimeout, and waits for the exit.
func (s *Supervisor) stop(cmd *exec.Cmd, exited <-chan struct{}) {
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(s.opts.StopTimeout):
		_ = cmd.Process.Kill()
		<-exited
	}
	s.log.Info("stopped containerd")
}

func (s *Supervisor) pidFile() string { return filepath.Join(s.opts.Dir, "containerd.pid") }

// stopStale stops a containerd an earlier agent started with this configuration and did
// not stop (it crashed): two containerds on one state directory corrupt each other.
func (s *Supervisor) stopStale() {
	data, err := os.ReadFile(s.pidFile())
	if err != nil {
		return
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || pid <= 1 {
		return
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil || !strings.Contains(string(cmdline), s.ConfigPath()) {
		return
	}
	s.log.Warn("stopping a containerd left running by an earlier agent", "pid", pid)
	p, _ := os.FindProcess(pid)
	_ = p.Signal(syscall.SIGTERM)
	deadline := time.Now().Add(s.opts.StopTimeout)
	for time.Now().Before(deadline) {
		if err := p.Signal(syscall.Signal(0)); err != nil {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	_ = p.Kill()
}
