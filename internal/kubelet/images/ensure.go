package images

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"google.golang.org/grpc"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// ImageStatuser is the part of the CRI image service EnsurePause needs.
type ImageStatuser interface {
	ImageStatus(ctx context.Context, in *runtimeapi.ImageStatusRequest, opts ...grpc.CallOption) (*runtimeapi.ImageStatusResponse, error)
}

// EnsurePause makes sure the runtime has the built-in pause image, importing it when the
// runtime lacks it or holds another build. cacheDir keeps the built binary and tarball.
// It reports whether it imported.
func EnsurePause(ctx context.Context, images ImageStatuser, im *Importer, cacheDir string) (bool, error) {
	tarPath := filepath.Join(cacheDir, "pause-"+pauseKey()+".tar")
	configDigest, err := pauseTarball(ctx, cacheDir, tarPath)
	if err != nil {
		return false, err
	}
	st, err := images.ImageStatus(ctx, &runtimeapi.ImageStatusRequest{Image: &runtimeapi.ImageSpec{Image: PauseImage}})
	if err != nil {
		return false, fmt.Errorf("pause image status: %w", err)
	}
	if st.GetImage() != nil && st.GetImage().GetId() == configDigest {
		return false, nil
	}
	if _, err := im.Import(ctx, tarPath); err != nil {
		return false, fmt.Errorf("importing the pause image: %w", err)
	}
	return true, nil
}

// pauseTarball writes (once) the pause image tarball and returns the image's config digest,
// which is the image id the CRI runtime reports.
func pauseTarball(ctx context.Context, cacheDir, tarPath string) (string, error) {
	digestPath := tarPath + ".id"
	if id, err := os.ReadFile(digestPath); err == nil {
		if _, err := os.Stat(tarPath); err == nil {
			return string(id), nil
		}
	}
	if err := os.MkdirAll(cacheDir, 0o700); err != nil {
		return "", err
	}
	bin, err := BuildPause(ctx, cacheDir)
	if err != nil {
		return "", err
	}
	data, err := os.ReadFile(bin)
	if err != nil {
		return "", err
	}
	img, err := PauseImageFrom(data)
	if err != nil {
		return "", err
	}
	cfg, err := img.ConfigName()
	if err != nil {
		return "", err
	}
	if err := WriteTarball(tarPath+".tmp", PauseImage, img); err != nil {
		return "", err
	}
	if err := os.Rename(tarPath+".tmp", tarPath); err != nil {
		return "", err
	}
	if err := os.WriteFile(digestPath, []byte(cfg.String()), 0o600); err != nil {
		return "", err
	}
	return cfg.String(), nil
}
