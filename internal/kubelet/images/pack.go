package images

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"path"
	"runtime"
	"sort"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// File is one entry of an image layer.
type File struct {
	// Data of a regular file; Link makes a symbolic link instead; Dir a directory.
	Data []byte
	Link string
	Dir  bool
	// Mode of the entry. Default 0755 for directories, 0644 for files.
	Mode int64
}

// ImageConfig is the part of an OCI image config the packer sets.
type ImageConfig struct {
	Entrypoint, Cmd []string
	Env             []string
	WorkingDir      string
	User            string
	// Architecture defaults to the running one.
	Architecture string
}

// Pack builds a one-layer linux image from files (path inside the image -> entry). It is
// deterministic: the same files and config give the same image digest.
func Pack(files map[string]File, cfg ImageConfig) (v1.Image, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	written := map[string]bool{}
	for _, p := range paths {
		clean := strings.TrimPrefix(path.Clean("/"+p), "/")
		// Parents first, so tools that extract in order find them.
		if err := writeParents(tw, clean, written); err != nil {
			return nil, err
		}
		f := files[p]
		hdr := &tar.Header{Name: clean, Mode: f.Mode, Format: tar.FormatPAX}
		switch {
		case f.Dir:
			hdr.Typeflag, hdr.Name = tar.TypeDir, clean+"/"
			if hdr.Mode == 0 {
				hdr.Mode = 0o755
			}
		case f.Link != "":
			hdr.Typeflag, hdr.Linkname = tar.TypeSymlink, f.Link
			if hdr.Mode == 0 {
				hdr.Mode = 0o777
			}
		default:
			hdr.Typeflag, hdr.Size = tar.TypeReg, int64(len(f.Data))
			if hdr.Mode == 0 {
				hdr.Mode = 0o644
			}
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, err
		}
		if hdr.Typeflag == tar.TypeReg {
			if _, err := tw.Write(f.Data); err != nil {
				return nil, err
			}
		}
		written[clean] = true
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	layerBytes := buf.Bytes()
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerBytes)), nil
	})
	if err != nil {
		return nil, fmt.Errorf("packing layer: %w", err)
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		return nil, err
	}
	arch := cfg.Architecture
	if arch == "" {
		arch = runtime.GOARCH
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", arch
	cf.Config = v1.Config{Entrypoint: cfg.Entrypoint, Cmd: cfg.Cmd, Env: cfg.Env, WorkingDir: cfg.WorkingDir, User: cfg.User}
	return mutate.ConfigFile(img, cf)
}

// writeParents writes the directory entries above p that are not written yet.
func writeParents(tw *tar.Writer, p string, written map[string]bool) error {
	var missing []string
	for dir := path.Dir(p); dir != "." && dir != "/" && !written[dir]; dir = path.Dir(dir) {
		missing = append(missing, dir)
	}
	for i := len(missing) - 1; i >= 0; i-- {
		if err := tw.WriteHeader(&tar.Header{Name: missing[i] + "/", Typeflag: tar.TypeDir, Mode: 0o755, Format: tar.FormatPAX}); err != nil {
			return err
		}
		written[missing[i]] = true
	}
	return nil
}

// WriteTarball writes img as a docker-archive tarball tagged ref (e.g.
// "registry.k8s.io/pause:3.10"), the format `ctr images import` and `docker load` read.
func WriteTarball(file, ref string, img v1.Image) error {
	tag, err := name.NewTag(ref)
	if err != nil {
		return fmt.Errorf("image name %q: %w", ref, err)
	}
	if err := tarball.WriteToFile(file, tag, img); err != nil {
		return fmt.Errorf("writing %s: %w", file, err)
	}
	return nil
}
