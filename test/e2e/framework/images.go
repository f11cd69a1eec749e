package framework

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"capstan/internal/kubelet/images"
)

// The test images, as pods name them. They are imported, never pulled: pods should use
// imagePullPolicy IfNotPresent or Never (a tag other than latest defaults to IfNotPresent).
const (
	// BusyboxImage is Debian's static busybox with a link per applet in /bin, /etc/passwd
	// and /etc/group, and a /tmp; its command is sh.
	BusyboxImage = "capstan.test/busybox:1"
	// AgnhostImage is test/images/agnhost as /agnhost, the entrypoint; its default
	// arguments are "netexec" (HTTP on 8080, UDP on 8081).
	AgnhostImage = "capstan.test/agnhost:1"
)

var (
	imagesOnce sync.Once
	imagesDir  string
	imagesErr  error
)

// ImageTarballs builds the test images once per test binary and returns their tarballs
// (docker-archive, tagged with the names above).
func ImageTarballs(t testing.TB) []string {
	t.Helper()
	imagesOnce.Do(func() {
		// One directory per machine, rebuilt by every test binary: nothing piles up in /tmp,
		// and the atomic renames keep concurrent test binaries from reading half a file.
		imagesDir = filepath.Join(os.TempDir(), "capstan-e2e-images")
		if imagesErr = os.MkdirAll(imagesDir, 0o755); imagesErr != nil {
			return
		}
		if imagesErr = writeAtomic(filepath.Join(imagesDir, "busybox.tar"), buildBusybox); imagesErr != nil {
			return
		}
		imagesErr = writeAtomic(filepath.Join(imagesDir, "agnhost.tar"), buildAgnhost)
	})
	if imagesErr != nil {
		t.Fatalf("building the test images: %v", imagesErr)
	}
	return []string{filepath.Join(imagesDir, "busybox.tar"), filepath.Join(imagesDir, "agnhost.tar")}
}

// writeAtomic has build write a temporary file next to path, then renames it to path.
func writeAtomic(path string, build func(out string) error) error {
	tmp, err := os.MkdirTemp(filepath.Dir(path), ".build-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	out := filepath.Join(tmp, filepath.Base(path))
	if err := build(out); err != nil {
		return err
	}
	return os.Rename(out, path)
}

// etcFiles are the accounts the images know.
var etcFiles = map[string]images.File{
	"etc/passwd": {Data: []byte("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n"), Mode: 0o644},
	"etc/group":  {Data: []byte("root:x:0:\nnobody:x:65534:\n"), Mode: 0o644},
	"tmp":        {Dir: true, Mode: 0o1777},
}

func buildBusybox(out string) error {
	data, err := os.ReadFile("/bin/busybox")
	if err != nil {
		return fmt.Errorf("busybox-static is needed (hack/setup.sh installs it): %w", err)
	}
	list, err := exec.Command("/bin/busybox", "--list").Output()
	if err != nil {
		return fmt.Errorf("busybox --list: %w", err)
	}
	files := map[string]images.File{"bin/busybox": {Data: data, Mode: 0o755}}
	for k, v := range etcFiles {
		files[k] = v
	}
	for _, applet := range strings.Fields(string(list)) {
		if applet != "busybox" {
			files["bin/"+applet] = images.File{Link: "busybox"}
		}
	}
	img, err := images.Pack(files, images.ImageConfig{Cmd: []string{"sh"}, Env: []string{"PATH=/bin"}})
	if err != nil {
		return err
	}
	return images.WriteTarball(out, BusyboxImage, img)
}

// moduleRoot is the directory of the capstan module.
func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", fmt.Errorf("not inside the capstan module")
	}
	return filepath.Dir(mod), nil
}

func buildAgnhost(out string) error {
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	bin := filepath.Join(filepath.Dir(out), "agnhost")
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", bin, "./test/images/agnhost")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build ./test/images/agnhost: %v: %s", err, b)
	}
	data, err := os.ReadFile(bin)
	if err != nil {
		return err
	}
	files := map[string]images.File{"agnhost": {Data: data, Mode: 0o755}}
	for k, v := range etcFiles {
		files[k] = v
	}
	img, err := images.Pack(files, images.ImageConfig{Entrypoint: []string{"/agnhost"}, Cmd: []string{"netexec"}})
	if err != nil {
		return err
	}
	return images.WriteTarball(out, AgnhostImage, img)
}
