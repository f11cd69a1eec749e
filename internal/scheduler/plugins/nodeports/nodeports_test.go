package nodeports

import (
	"testing"

	corev1 "k8s.io/api/core/v1"

	"capstan/internal/scheduler/framework"
	fwt "capstan/internal/scheduler/framework/fwtesting"
)

func TestFilter(t *testing.T) {
	for _, tc := range []struct {
		name     string
		existing fwt.Pod
		pod      fwt.Pod
		wantFit  bool
	}{
		{"different ports fit", fwt.MakePod("e").HostPort(80, corev1.ProtocolTCP, ""), fwt.MakePod("p").HostPort(81, corev1.ProtocolTCP, ""), true},
		{"the same port and protocol conflict", fwt.MakePod("e").HostPort(80, corev1.ProtocolTCP, ""), fwt.MakePod("p").HostPort(80, corev1.ProtocolTCP, ""), false},
		{"an empty protocol is TCP", fwt.MakePod("e").HostPort(80, "", ""), fwt.MakePod("p").HostPort(80, corev1.ProtocolTCP, ""), false},
		{"another protocol fits", fwt.MakePod("e").HostPort(80, corev1.ProtocolTCP, ""), fwt.MakePod("p").HostPort(80, corev1.ProtocolUDP, ""), true},
		{"different specific IPs fit", fwt.MakePod("e").HostPort(80, corev1.ProtocolTCP, "10.0.0.1"), fwt.MakePod("p").HostPort(80, corev1.ProtocolTCP, "10.0.0.2"), true},
		{"0.0.0.0 conflicts with a specific IP", fwt.MakePod("e").HostPort(80, corev1.ProtocolTCP, "10.0.0.1"), fwt.MakePod("p").HostPort(80, corev1.ProtocolTCP, "0.0.0.0"), false},
		{"a specific IP conflicts with 0.0.0.0", fwt.MakePod("e").HostPort(80, corev1.ProtocolTCP, ""), fwt.MakePod("p").HostPort(80, corev1.ProtocolTCP, "10.0.0.1"), false},
		{"a pod without host ports fits", fwt.MakePod("e").HostPort(80, corev1.ProtocolTCP, ""), fwt.MakePod("p"), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pl, _ := New(nil, nil)
			snap := framework.NewSnapshot([]*corev1.Pod{tc.existing.Node("n").Obj()}, []*corev1.Node{fwt.MakeNode("n").Obj()})
			got := fwt.PreFilterAndFilter(t, pl, tc.pod.Obj(), snap)["n"]
			if got.IsSuccess() != tc.wantFit {
				t.Errorf("got %v, want fit=%v", got, tc.wantFit)
			}
			if !tc.wantFit && (got.Code() != framework.Unschedulable || got.Message() != ErrReason) {
				t.Errorf("status %v", got)
			}
		})
	}
}
