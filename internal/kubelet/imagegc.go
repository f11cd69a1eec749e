package kubelet

import (
	"context"
	"sort"
	"syscall"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// Image garbage collection, with upstream's defaults: above 85% use of the image file
// system, unused images are removed (least recently used first, none younger than two
// minutes, never the pause image) until use is down to 80%.
const (
	imageGCPeriod        = 5 * time.Minute
	imageGCHighThreshold = 85
	imageGCLowThreshold  = 80
	imageMinAge          = 2 * time.Minute
)

// imageRecord is what image GC knows of one image.
type imageRecord struct {
	ID        string
	Size      int64
	FirstSeen time.Time
	LastUsed  time.Time // zero: never seen in use
	InUse     bool
	Pinned    bool
}

// imagesToFree picks the images to remove to free at least toFree bytes: unused, not
// pinned, older than minAge, least recently used first (never used counts as used when
// first seen).
func imagesToFree(images []imageRecord, toFree int64, now time.Time, minAge time.Duration) []string {
	var candidates []imageRecord
	for _, img := range images {
		if img.InUse || img.Pinned || now.Sub(img.FirstSeen) < minAge {
			continue
		}
		candidates = append(candidates, img)
	}
	used := func(r imageRecord) time.Time {
		if r.LastUsed.IsZero() {
			return r.FirstSeen
		}
		return r.LastUsed
	}
	sort.SliceStable(candidates, func(i, j int) bool { return used(candidates[i]).Before(used(candidates[j])) })
	var out []string
	var freed int64
	for _, c := range candidates {
		if freed >= toFree {
			break
		}
		out = append(out, c.ID)
		freed += c.Size
	}
	return out
}

// bytesToFree is how much an image file system of capacity bytes with available bytes
// free must give back: nothing under the high threshold, else down to the low one.
func bytesToFree(capacity, available int64, high, low int) int64 {
	if capacity <= 0 {
		return 0
	}
	used := capacity - available
	if used*100/capacity < int64(high) {
		return 0
	}
	return used - capacity*int64(low)/100
}

// imageGCLoop runs image garbage collection every imageGCPeriod.
func (k *Kubelet) imageGCLoop(ctx context.Context) {
	seen := map[string]*imageRecord{}
	ticker := k.clock.NewTicker(imageGCPeriod)
	defer ticker.Stop()
	for {
		k.collectImages(ctx, seen)
		select {
		case <-ctx.Done():
			return
		case <-ticker.C():
		}
	}
}

func (k *Kubelet) collectImages(ctx context.Context, seen map[string]*imageRecord) {
	now := k.clock.Now()
	list, err := k.images.ListImages(ctx, &runtimeapi.ListImagesRequest{})
	if err != nil {
		return
	}
	containers, err := k.runtime.ListContainers(ctx, &runtimeapi.ListContainersRequest{})
	if err != nil {
		return
	}
	inUse := map[string]bool{}
	for _, c := range containers.Containers {
		inUse[c.ImageRef] = true
		inUse[c.GetImage().GetImage()] = true
	}
	var records []imageRecord
	present := map[string]bool{}
	for _, img := range list.Images {
		present[img.Id] = true
		r := seen[img.Id]
		if r == nil {
			r = &imageRecord{ID: img.Id, FirstSeen: now}
			seen[img.Id] = r
		}
		r.Size = int64(img.Size)
		r.InUse = inUse[img.Id]
		for _, name := range append(append([]string{}, img.RepoTags...), img.RepoDigests...) {
			if inUse[name] {
				r.InUse = true
			}
			if name == k.opts.SandboxImage {
				r.Pinned = true
			}
		}
		r.Pinned = r.Pinned || img.Pinned
		if r.InUse {
			r.LastUsed = now
		}
		records = append(records, *r)
	}
	for id := range seen {
		if !present[id] {
			delete(seen, id)
		}
	}
	fs, err := k.images.ImageFsInfo(ctx, &runtimeapi.ImageFsInfoRequest{})
	if err != nil || len(fs.ImageFilesystems) == 0 {
		return
	}
	var st syscall.Statfs_t
	if err := syscall.Statfs(fs.ImageFilesystems[0].GetFsId().GetMountpoint(), &st); err != nil {
		return
	}
	toFree := bytesToFree(int64(st.Blocks)*st.Bsize, int64(st.Bavail)*st.Bsize, imageGCHighThreshold, imageGCLowThreshold)
	if toFree <= 0 {
		return
	}
	for _, id := range imagesToFree(records, toFree, now, imageMinAge) {
		if _, err := k.images.RemoveImage(ctx, &runtimeapi.RemoveImageRequest{Image: &runtimeapi.ImageSpec{Image: id}}); err != nil {
			k.log.Warn("removing an unused image", "image", id, "err", err)
			continue
		}
		k.log.Info("removed an unused image: the image file system is above its threshold", "image", id)
		delete(seen, id)
	}
}
