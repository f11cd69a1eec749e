package schedulinggates

import (
	"testing"

	corev1 "k8s.io/api/core/v1"

	fwt "capstan/internal/scheduler/framework/fwtesting"
)

func TestPreEnqueue(t *testing.T) {
	pod := fwt.MakePod("p").Obj()
	if s := (SchedulingGates{}).PreEnqueue(t.Context(), pod); !s.IsSuccess() {
		t.Errorf("ungated pod: %v", s)
	}
	pod.Spec.SchedulingGates = []corev1.PodSchedulingGate{{Name: "example.com/wait"}}
	s := (SchedulingGates{}).PreEnqueue(t.Context(), pod)
	if s.IsSuccess() || s.Message() != "waiting for scheduling gates: [example.com/wait]" {
		t.Errorf("gated pod: %v", s)
	}
}
