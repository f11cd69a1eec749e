package nodename

import (
	"testing"

	corev1 "k8s.io/api/core/v1"

	"capstan/internal/scheduler/framework"
	fwt "capstan/internal/scheduler/framework/fwtesting"
)

func TestFilter(t *testing.T) {
	nodes := []*corev1.Node{fwt.MakeNode("a").Obj(), fwt.MakeNode("b").Obj()}
	for _, tc := range []struct {
		name     string
		nodeName string
		wantFit  map[string]bool
	}{
		{"a pod naming no node fits every node", "", map[string]bool{"a": true, "b": true}},
		{"a pod naming a node fits only it", "b", map[string]bool{"a": false, "b": true}},
		{"a pod naming a missing node fits none", "c", map[string]bool{"a": false, "b": false}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pod := fwt.MakePod("p").Obj()
			pod.Spec.NodeName = tc.nodeName
			pl, _ := New(nil, nil)
			got := fwt.PreFilterAndFilter(t, pl, pod, framework.NewSnapshot(nil, nodes))
			for n, fit := range tc.wantFit {
				if got[n].IsSuccess() != fit {
					t.Errorf("node %s: %v, want fit=%v", n, got[n], fit)
				}
				if !fit && (got[n].Code() != framework.UnschedulableAndUnresolvable || got[n].Message() != ErrReason) {
					t.Errorf("node %s: %v", n, got[n])
				}
			}
		})
	}
}
