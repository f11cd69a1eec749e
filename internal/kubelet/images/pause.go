package images

import (
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// PauseImage is the name of the built-in sandbox image. It carries upstream's name so pods
// and tools that name the pause image find it; it is never pulled.
const PauseImage = "registry.k8s.io/pause:3.10"

//go:embed pause/main.go
var pauseSource []byte

// pauseKey names a build of the pause program: its source and the target architecture.
func pauseKey() string {
	sum := sha256.Sum256(append(append([]byte{}, pauseSource...), runtime.GOARCH...))
	return hex.EncodeToString(sum[:8])
}

// BuildPause compiles the pause program (a static binary, no cgo) into cacheDir, once per
// source version, and returns the binary's path. It needs a Go toolchain ("go" on PATH, or
// under /usr/local/go) the first time only.
func BuildPause(ctx context.Context, cacheDir string) (string, error) {
	bin := filepath.Join(cacheDir, "pause-"+pauseKey())
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		if _, statErr := os.Stat("/usr/local/go/bin/go"); statErr != nil {
			return "", fmt.Errorf("building the pause image needs a Go toolchain once: %w", err)
		}
		goBin = "/usr/local/go/bin/go"
	}
	src, err := os.MkdirTemp(cacheDir, ".pause-src-")
	if err != nil {
		if err := os.MkdirAll(cacheDir, 0o700); err != nil {
			return "", err
		}
		if src, err = os.MkdirTemp(cacheDir, ".pause-src-"); err != nil {
			return "", err
		}
	}
	defer os.RemoveAll(src)
	files := map[string]string{"main.go": string(pauseSource), "go.mod": "module pause\n\ngo 1.21\n"}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(src, name), []byte(data), 0o600); err != nil {
			return "", err
		}
	}
	tmp := bin + ".tmp"
	cmd := exec.CommandContext(ctx, goBin, "build", "-trimpath", "-ldflags=-s -w -buildid=", "-o", tmp, ".")
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH, "GOFLAGS=-mod=mod", "GOWORK=off")
	if os.Getenv("GOCACHE") == "" && os.Getenv("HOME") == "" && os.Getenv("XDG_CACHE_HOME") == "" {
		// A service without a home (systemd, init scripts): keep Go's build cache with ours.
		cmd.Env = append(cmd.Env, "GOCACHE="+filepath.Join(cacheDir, "go-build"))
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building the pause binary: %w: %s", err, out)
	}
	if err := os.Rename(tmp, bin); err != nil {
		return "", err
	}
	return bin, nil
}

// PauseImageFrom packs a pause binary into the sandbox image: /pause as the entrypoint,
// running as root (the sandbox's user is set by the runtime from the pod).
func PauseImageFrom(binary []byte) (v1.Image, error) {
	return Pack(map[string]File{"pause": {Data: binary, Mode: 0o755}}, ImageConfig{Entrypoint: []string{"/pause"}})
}
