package images

import (
	"context"
	"fmt"
	"runtime"

	"google.golang.org/grpc"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// ImageStatuser is the part of the CRI image service EnsurePause needs.
type ImageStatuser interface {
	ImageStatus(ctx context.Context, in *runtimeapi.ImageStatusRequest, opts ...grpc.CallOption) (*runtimeapi.ImageStatusResponse, error)
}

// EnsurePause makes sure the runtime has the built-in pause image, importing it when the
// runtime lacks it or holds another build. It reports whether it imported.
func EnsurePause(ctx context.Context, images ImageStatuser, im *Importer) (bool, error) {
	img, err := PauseImageFor(runtime.GOARCH)
	if err != nil {
		return false, err
	}
	// The config digest is the image id the CRI runtime reports.
	id, err := img.ConfigName()
	if err != nil {
		return false, err
	}
	st, err := images.ImageStatus(ctx, &runtimeapi.ImageStatusRequest{Image: &runtimeapi.ImageSpec{Image: PauseImage}})
	if err != nil {
		return false, fmt.Errorf("pause image status: %w", err)
	}
	if st.GetImage() != nil && st.GetImage().GetId() == id.String() {
		return false, nil
	}
	if err := im.ImportImage(ctx, PauseImage, img); err != nil {
		return false, fmt.Errorf("importing the pause image: %w", err)
	}
	return true, nil
}
