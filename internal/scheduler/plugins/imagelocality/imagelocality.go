// Package imagelocality is the ImageLocality plugin: it prefers nodes that already have the
// pod's container images, weighting each image's size by the share of nodes having it (an
// image everywhere says little about a node), clamped between 23 MB and 1000 MB per
// container and scaled to 0..100.
package imagelocality

import (
	"context"

	corev1 "k8s.io/api/core/v1"

	"capstan/internal/scheduler/config"
	"capstan/internal/scheduler/framework"
)

const (
	mb                    int64 = 1024 * 1024
	minThreshold                = 23 * mb
	maxContainerThreshold       = 1000 * mb
	preScoreKey                 = "PreScore" + config.ImageLocality
)

// ImageLocality scores image presence.
type ImageLocality struct{}

// New returns the plugin.
func New(_ any, _ framework.Handle) (framework.Plugin, error) { return ImageLocality{}, nil }

// Name of the plugin.
func (ImageLocality) Name() string { return config.ImageLocality }

type preScoreState struct {
	images     []string
	imageNodes map[string]int
	totalNodes int
}

func (s *preScoreState) Clone() framework.StateData { return s }

// PreScore normalizes the pod's image names; with no images known anywhere it skips.
func (ImageLocality) PreScore(_ context.Context, state *framework.CycleState, pod *corev1.Pod, _ []*framework.NodeInfo, snap *framework.Snapshot) *framework.Status {
	if len(snap.ImageNodes) == 0 || snap.NumNodes() == 0 {
		return framework.NewStatus(framework.Skip)
	}
	s := &preScoreState{imageNodes: snap.ImageNodes, totalNodes: snap.NumNodes()}
	for i := range pod.Spec.InitContainers {
		s.images = append(s.images, framework.NormalizeImageName(pod.Spec.InitContainers[i].Image))
	}
	for i := range pod.Spec.Containers {
		s.images = append(s.images, framework.NormalizeImageName(pod.Spec.Containers[i].Image))
	}
	state.Write(preScoreKey, s)
	return nil
}

// Score sums the spread-scaled sizes of the images the node has.
func (ImageLocality) Score(_ context.Context, state *framework.CycleState, _ *corev1.Pod, ni *framework.NodeInfo) (int64, *framework.Status) {
	s, err := framework.ReadState[*preScoreState](state, preScoreKey)
	if err != nil {
		return 0, framework.AsStatus(err)
	}
	var sum int64
	for _, img := range s.images {
		if size, ok := ni.Images[img]; ok {
			spread := float64(s.imageNodes[img]) / float64(s.totalNodes)
			sum += int64(float64(size) * spread)
		}
	}
	return Priority(sum, len(s.images)), nil
}

// Priority clamps the summed image score and scales it to 0..100.
func Priority(sum int64, containers int) int64 {
	maxThreshold := maxContainerThreshold * int64(containers)
	if maxThreshold <= minThreshold {
		return 0
	}
	sum = max(minThreshold, min(sum, maxThreshold))
	return framework.MaxNodeScore * (sum - minThreshold) / (maxThreshold - minThreshold)
}

// ScoreExtensions: scores are already 0..100.
func (ImageLocality) ScoreExtensions() framework.ScoreExtensions { return nil }

var (
	_ framework.PreScorePlugin = ImageLocality{}
	_ framework.ScorePlugin    = ImageLocality{}
)
