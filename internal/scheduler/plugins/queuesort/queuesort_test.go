package queuesort

import (
	"testing"
	"time"

	"capstan/internal/scheduler/framework"
	fwt "capstan/internal/scheduler/framework/fwtesting"
)

func TestLess(t *testing.T) {
	now := time.Now()
	q := func(prio int32, age time.Duration) *framework.QueuedPodInfo {
		return &framework.QueuedPodInfo{PodInfo: framework.NewPodInfo(fwt.MakePod("p").Priority(prio).Obj()), Timestamp: now.Add(-age)}
	}
	for _, tc := range []struct {
		name string
		a, b *framework.QueuedPodInfo
		want bool
	}{
		{"higher priority first", q(10, 0), q(1, time.Hour), true},
		{"lower priority after", q(1, time.Hour), q(10, 0), false},
		{"same priority: older first", q(5, time.Minute), q(5, 0), true},
		{"same priority: newer after", q(5, 0), q(5, time.Minute), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := (PrioritySort{}).Less(tc.a, tc.b); got != tc.want {
				t.Errorf("Less = %v, want %v", got, tc.want)
			}
		})
	}
}
