package images

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// Namespace is containerd's namespace of the CRI plugin: images imported anywhere else are
// invisible to the kubelet.
const Namespace = "k8s.io"

// Importer imports image tarballs into a containerd through its own client, ctr.
type Importer struct {
	// Address is containerd's socket path.
	Address string
	// Ctr is the ctr executable. Default "ctr" from PATH.
	Ctr string
	// Logger. Default slog.Default().
	Logger *slog.Logger
}

func (im *Importer) logger() *slog.Logger {
	if im.Logger == nil {
		return slog.Default()
	}
	return im.Logger
}

// Import imports one tarball (docker-archive or OCI layout, optionally gzip-compressed)
// into the k8s.io namespace, unpacked for the overlayfs snapshotter, and returns the names
// of the images it holds.
func (im *Importer) Import(ctx context.Context, file string) ([]string, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var in io.Reader = bufio.NewReaderSize(f, 1<<20)
	if gz, err := isGzip(in.(*bufio.Reader)); err != nil {
		return nil, fmt.Errorf("reading %s: %w", file, err)
	} else if gz {
		zr, err := gzip.NewReader(in)
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", file, err)
		}
		defer zr.Close()
		in = zr
	}
	return im.importStream(ctx, file, in)
}

// ImportImage imports img, tagged ref, without writing it to a file.
func (im *Importer) ImportImage(ctx context.Context, ref string, img v1.Image) error {
	tag, err := name.NewTag(ref)
	if err != nil {
		return fmt.Errorf("image name %q: %w", ref, err)
	}
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(tarball.Write(tag, img, pw)) }()
	defer pr.Close()
	_, err = im.importStream(ctx, ref, pr)
	return err
}

// importStream feeds one uncompressed tarball to `ctr images import`; what names it in
// errors.
func (im *Importer) importStream(ctx context.Context, what string, in io.Reader) ([]string, error) {
	ctr := im.Ctr
	if ctr == "" {
		ctr = "ctr"
	}
	cmd := exec.CommandContext(ctx, ctr, "--address", im.Address, "--namespace", Namespace,
		"images", "import", "--snapshotter", "overlayfs", "-")
	cmd.Stdin = in
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("importing %s: %w: %s", what, err, strings.TrimSpace(stderr.String()))
	}
	// ctr prints "unpacking <name> (sha256:...)...done" per image.
	var names []string
	for _, line := range strings.Split(stdout.String(), "\n") {
		if rest, ok := strings.CutPrefix(line, "unpacking "); ok {
			if name, _, ok := strings.Cut(rest, " "); ok {
				names = append(names, name)
			}
		}
	}
	return names, nil
}

func isGzip(r *bufio.Reader) (bool, error) {
	head, err := r.Peek(2)
	if err != nil && !errors.Is(err, io.EOF) {
		return false, err
	}
	return len(head) == 2 && head[0] == 0x1f && head[1] == 0x8b, nil
}

// IsTarball tells whether a file name looks like an image tarball the importer reads.
func IsTarball(name string) bool {
	for _, ext := range []string{".tar", ".tar.gz", ".tgz"} {
		if strings.HasSuffix(name, ext) {
			return true
		}
	}
	return false
}

// importRecord remembers which tarballs of a directory were imported, by size and time of
// change, so a restart does not import them again.
type importRecord map[string]string

func fileStamp(fi os.FileInfo) string {
	return fmt.Sprintf("%d/%d", fi.Size(), fi.ModTime().UnixNano())
}

// ImportDir imports every tarball of dir that changed since the last import recorded in
// recordFile. A missing dir is not an error. It returns the names imported.
func (im *Importer) ImportDir(ctx context.Context, dir, recordFile string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	rec := importRecord{}
	if data, err := os.ReadFile(recordFile); err == nil {
		_ = json.Unmarshal(data, &rec)
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].Name() < entries[j].Name() })
	var names []string
	var errs []error
	changed := false
	for _, e := range entries {
		if e.IsDir() || !IsTarball(e.Name()) {
			continue
		}
		fi, err := e.Info()
		if err != nil {
			continue
		}
		if rec[e.Name()] == fileStamp(fi) {
			continue
		}
		start := time.Now()
		got, err := im.Import(ctx, filepath.Join(dir, e.Name()))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		im.logger().Info("imported images", "file", e.Name(), "images", got, "took", time.Since(start).Round(time.Millisecond))
		names = append(names, got...)
		rec[e.Name()] = fileStamp(fi)
		changed = true
	}
	if changed {
		data, _ := json.Marshal(rec)
		if err := os.WriteFile(recordFile, data, 0o600); err != nil {
			errs = append(errs, err)
		}
	}
	return names, errors.Join(errs...)
}
