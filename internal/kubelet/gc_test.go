package kubelet

import (
	"reflect"
	"testing"
	"time"
)

func TestImagesToFree(t *testing.T) {
	t.Parallel()
	now := t0.Add(time.Hour)
	images := []imageRecord{
		{ID: "in-use", Size: 100, FirstSeen: t0, InUse: true},
		{ID: "pause", Size: 1, FirstSeen: t0, Pinned: true},
		{ID: "new", Size: 100, FirstSeen: now.Add(-time.Minute)},
		{ID: "used-recently", Size: 50, FirstSeen: t0, LastUsed: now.Add(-10 * time.Minute)},
		{ID: "used-long-ago", Size: 30, FirstSeen: t0, LastUsed: t0.Add(time.Minute)},
		{ID: "never-used", Size: 20, FirstSeen: t0},
	}
	for _, tc := range []struct {
		toFree int64
		want   []string
	}{
		{0, nil},
		{10, []string{"never-used"}},
		{40, []string{"never-used", "used-long-ago"}},
		{1000, []string{"never-used", "used-long-ago", "used-recently"}},
	} {
		if got := imagesToFree(images, tc.toFree, now, 2*time.Minute); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("to free %d: got %v; want %v", tc.toFree, got, tc.want)
		}
	}
}

func TestBytesToFree(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		capacity, available, want int64
	}{
		{1000, 500, 0},   // 50% used
		{1000, 160, 0},   // 84%
		{1000, 100, 100}, // 90% -> down to 80%
		{1000, 0, 200},
		{0, 0, 0},
	} {
		if got := bytesToFree(tc.capacity, tc.available, 85, 80); got != tc.want {
			t.Errorf("bytesToFree(%d, %d) = %d; want %d", tc.capacity, tc.available, got, tc.want)
		}
	}
}

func TestRotatedLogsToRemove(t *testing.T) {
	t.Parallel()
	rotated := []string{"0.log.20260102-030405.000000", "0.log.20260101-000000.000000", "0.log.20260103-000000.000000", "0.log.20260104-000000.000000", "0.log.20260105-000000.000000"}
	got := rotatedLogsToRemove(rotated, 5)
	if !reflect.DeepEqual(got, []string{"0.log.20260101-000000.000000"}) {
		t.Fatalf("got %v", got)
	}
	if got := rotatedLogsToRemove(rotated[:2], 5); got != nil {
		t.Fatalf("nothing to remove, got %v", got)
	}
}
