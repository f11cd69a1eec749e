package kubelet

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// Container log rotation, with upstream's defaults: a log over 10 MiB is renamed to
// <log>.<timestamp> and the runtime reopens a fresh one; at most 5 files per container
// are kept.
const (
	logRotatePeriod = 10 * time.Second
	logMaxSize      = 10 << 20
	logMaxFiles     = 5
)

// rotatedLogsToRemove picks, from the rotated files of a log (names <log>.<timestamp>,
// which sort by age), the oldest ones beyond what maxFiles (counting the live log) keeps.
func rotatedLogsToRemove(rotated []string, maxFiles int) []string {
	sort.Strings(rotated)
	keep := maxFiles - 1
	if len(rotated) <= keep {
		return nil
	}
	return rotated[:len(rotated)-keep]
}

// logRotateLoop rotates the logs of running containers every logRotatePeriod.
func (k *Kubelet) logRotateLoop(ctx context.Context) {
	ticker := k.clock.NewTicker(logRotatePeriod)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C():
		}
		resp, err := k.runtime.ListContainers(ctx, &runtimeapi.ListContainersRequest{Filter: &runtimeapi.ContainerFilter{
			State: &runtimeapi.ContainerStateValue{State: runtimeapi.ContainerState_CONTAINER_RUNNING},
		}})
		if err != nil {
			continue
		}
		for _, c := range resp.Containers {
			if err := k.rotateLog(ctx, c.Id); err != nil && ctx.Err() == nil {
				k.log.Warn("rotating a container log", "container", c.Id, "err", err)
			}
		}
	}
}

func (k *Kubelet) rotateLog(ctx context.Context, id string) error {
	st, err := k.runtime.ContainerStatus(ctx, &runtimeapi.ContainerStatusRequest{ContainerId: id})
	if err != nil {
		return nil // gone meanwhile
	}
	path := st.GetStatus().GetLogPath()
	if path == "" {
		return nil
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Size() < logMaxSize {
		return nil
	}
	rotated := fmt.Sprintf("%s.%s", path, k.clock.Now().UTC().Format("20060102-150405.000000"))
	if err := os.Rename(path, rotated); err != nil {
		return err
	}
	if _, err := k.runtime.ReopenContainerLog(ctx, &runtimeapi.ReopenContainerLogRequest{ContainerId: id}); err != nil {
		// The runtime still writes to the renamed file: put it back.
		_ = os.Rename(rotated, path)
		return err
	}
	matches, _ := filepath.Glob(path + ".*")
	var old []string
	for _, m := range matches {
		if !strings.HasSuffix(m, ".tmp") {
			old = append(old, m)
		}
	}
	for _, f := range rotatedLogsToRemove(old, logMaxFiles) {
		_ = os.Remove(f)
	}
	return nil
}
