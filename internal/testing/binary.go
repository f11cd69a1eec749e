package testing

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// Binary builds bin/capstan once per test process and returns its path, so tests can run
// the real command line (`capstan kubectl ...`).
func Binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		out, err := exec.Command("go", "env", "GOMOD").Output()
		if err != nil {
			buildErr = err
			return
		}
		root := filepath.Dir(strings.TrimSpace(string(out)))
		dir, err := os.MkdirTemp("", "capstan-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "capstan")
		cmd := exec.Command("go", "build", "-o", binPath, "./cmd/capstan")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = &buildError{err: err, out: string(out)}
		}
	})
	if buildErr != nil {
		t.Fatalf("building capstan: %v", buildErr)
	}
	return binPath
}

type buildError struct {
	err error
	out string
}

func (e *buildError) Error() string { return e.err.Error() + ": " + e.out }

// Kubectl runs the bundled kubectl against s and returns its stdout, stderr and error.
func (s *Server) Kubectl(stdin string, args ...string) (string, string, error) {
	s.t.Helper()
	return s.KubectlWithEnv(nil, stdin, args...)
}

// KubectlWithEnv is Kubectl with extra environment variables (e.g. EDITOR).
func (s *Server) KubectlWithEnv(env []string, stdin string, args ...string) (string, string, error) {
	s.t.Helper()
	cmd := exec.Command(Binary(s.t), append([]string{"kubectl"}, args...)...)
	cmd.Env = append(append(os.Environ(), "KUBECONFIG="+s.Kubeconfig), env...)
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return stdout.String(), stderr.String(), err
}
