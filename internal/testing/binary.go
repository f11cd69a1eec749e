package testing

import (
	"fmt"
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

// Binary builds the capstan command once per test process, as `make build` does (static,
// no cgo), and returns its path, so tests can run the real command line (`capstan kubectl
// ...`). Every test process of the module shares one copy, _output/test/capstan: each
// builds its own and renames it into place, so a running copy is never overwritten and no
// copy is left behind per process.
func Binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		out, err := exec.Command("go", "env", "GOMOD").Output()
		if err != nil {
			buildErr = err
			return
		}
		root := filepath.Dir(strings.TrimSpace(string(out)))
		dir := filepath.Join(root, "_output", "test")
		if buildErr = os.MkdirAll(dir, 0o755); buildErr != nil {
			return
		}
		binPath = filepath.Join(dir, "capstan")
		tmp := fmt.Sprintf("%s.%d.tmp", binPath, os.Getpid())
		cmd := exec.Command("go", "build", "-trimpath", "-o", tmp, "./cmd/capstan")
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			_ = os.Remove(tmp)
			buildErr = &buildError{err: err, out: string(out)}
			return
		}
		buildErr = os.Rename(tmp, binPath)
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
