package balancedallocation

import (
	"testing"

	corev1 "k8s.io/api/core/v1"

	"capstan/internal/scheduler/framework"
	fwt "capstan/internal/scheduler/framework/fwtesting"
)

func TestScore(t *testing.T) {
	// 4 cpu, 8Gi nodes. On "balanced" the pod brings cpu and memory both to 50%; on
	// "skewed" to 100% cpu and 25% memory.
	nodes := []*corev1.Node{fwt.MakeNode("balanced").Obj(), fwt.MakeNode("skewed").Obj()}
	pods := []*corev1.Pod{
		fwt.MakePod("e1").Req("cpu", "1", "memory", "3Gi").Node("balanced").Obj(),
		fwt.MakePod("e2").Req("cpu", "3", "memory", "1Gi").Node("skewed").Obj(),
	}
	pod := fwt.MakePod("p").Req("cpu", "1", "memory", "1Gi").Obj()
	pl, _ := New(nil, nil)
	got := fwt.Scores(t, pl, pod, framework.NewSnapshot(pods, nodes))
	// std of (0.5, 0.5) is 0: 100. std of (1, 0.25) is 0.375: 62.
	if got["balanced"] != 100 || got["skewed"] != 62 {
		t.Errorf("scores %v, want balanced 100, skewed 62", got)
	}
	if s := fwt.Scores(t, pl, fwt.MakePod("besteffort").Obj(), framework.NewSnapshot(pods, nodes)); s != nil {
		t.Errorf("a pod without requests is scored: %v", s)
	}
}

func TestScoreFormula(t *testing.T) {
	for _, tc := range []struct {
		fractions []float64
		want      int64
	}{
		{[]float64{0.2}, 100},
		{[]float64{0.2, 0.6}, 80},
		{[]float64{0.1, 0.1, 0.4}, 85}, // mean 0.2, std sqrt((0.01+0.01+0.04)/3)=0.1414
	} {
		var sum float64
		for _, f := range tc.fractions {
			sum += f
		}
		if got := Score(tc.fractions, sum); got != tc.want {
			t.Errorf("Score(%v) = %d, want %d", tc.fractions, got, tc.want)
		}
	}
}
