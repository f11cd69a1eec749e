package podtopologyspread

import (
	"context"
	"math"
	"sync/atomic"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"

	"capstan/internal/scheduler/config"
	"capstan/internal/scheduler/framework"
)

const preScoreKey = "PreScore" + config.PodTopologySpread

func labelsOf(p *corev1.Pod) labels.Set { return labels.Set(p.Labels) }

type preScoreState struct {
	constraints []constraint
	// ignored are feasible nodes lacking a topology key: they score 0.
	ignored map[string]bool
	// counts[i] maps constraint i's domains to matching pods (not for hostname, which is
	// counted per node at Score).
	counts  []map[string]*int64
	weights []float64
}

func (s *preScoreState) Clone() framework.StateData { return s }

// PreScore counts matching pods per domain of the feasible nodes, over all eligible nodes.
func (p *PodTopologySpread) PreScore(ctx context.Context, state *framework.CycleState, pod *corev1.Pod, feasible []*framework.NodeInfo, snap *framework.Snapshot) *framework.Status {
	cs, err := p.constraints(pod, corev1.ScheduleAnyway)
	if err != nil {
		return framework.AsStatus(err)
	}
	if len(cs) == 0 {
		return framework.NewStatus(framework.Skip)
	}
	s := &preScoreState{constraints: cs, ignored: map[string]bool{}, counts: make([]map[string]*int64, len(cs)), weights: make([]float64, len(cs))}
	sizes := make([]int, len(cs))
	for i := range cs {
		s.counts[i] = map[string]*int64{}
	}
	for _, ni := range feasible {
		node := ni.Node()
		if !hasAllKeys(node, cs) {
			s.ignored[node.Name] = true
			continue
		}
		for i := range cs {
			if cs[i].key == corev1.LabelHostname {
				continue
			}
			v := node.Labels[cs[i].key]
			if s.counts[i][v] == nil {
				s.counts[i][v] = new(int64)
				sizes[i]++
			}
		}
	}
	for i := range cs {
		size := sizes[i]
		if cs[i].key == corev1.LabelHostname {
			size = len(feasible) - len(s.ignored)
		}
		s.weights[i] = math.Log(float64(size + 2))
	}
	affinity := framework.GetRequiredNodeAffinity(pod)
	nodes := snap.NodeInfoList
	framework.ParallelizeUntil(ctx, p.parallel, len(nodes), func(n int) {
		node := nodes[n].Node()
		if !hasAllKeys(node, cs) {
			return
		}
		for i := range cs {
			c := &cs[i]
			if c.key == corev1.LabelHostname || !c.eligible(pod, node, affinity) {
				continue
			}
			if cnt := s.counts[i][node.Labels[c.key]]; cnt != nil {
				atomic.AddInt64(cnt, int64(countMatching(nodes[n].Pods, c.selector, pod.Namespace)))
			}
		}
	})
	state.Write(preScoreKey, s)
	return nil
}

// Score sums, per constraint, count * log(domains + 2) + maxSkew - 1 (lower is better;
// NormalizeScore reverses).
func (p *PodTopologySpread) Score(_ context.Context, state *framework.CycleState, pod *corev1.Pod, ni *framework.NodeInfo) (int64, *framework.Status) {
	s, err := framework.ReadState[*preScoreState](state, preScoreKey)
	if err != nil {
		return 0, framework.AsStatus(err)
	}
	node := ni.Node()
	if s.ignored[node.Name] {
		return 0, nil
	}
	var score float64
	for i := range s.constraints {
		c := &s.constraints[i]
		v, ok := node.Labels[c.key]
		if !ok {
			continue
		}
		var cnt int64
		if c.key == corev1.LabelHostname {
			cnt = int64(countMatching(ni.Pods, c.selector, pod.Namespace))
		} else if p := s.counts[i][v]; p != nil {
			cnt = *p
		}
		score += float64(cnt)*s.weights[i] + float64(c.maxSkew-1)
	}
	return int64(math.Round(score)), nil
}

// ScoreExtensions returns the normalizer.
func (p *PodTopologySpread) ScoreExtensions() framework.ScoreExtensions { return p }

// NormalizeScore maps the lowest raw score to 100 and others proportionally down; ignored
// nodes score 0.
func (p *PodTopologySpread) NormalizeScore(_ context.Context, state *framework.CycleState, _ *corev1.Pod, scores []framework.NodeScore) *framework.Status {
	s, err := framework.ReadState[*preScoreState](state, preScoreKey)
	if err != nil {
		return framework.AsStatus(err)
	}
	lo, hi := int64(math.MaxInt64), int64(0)
	for _, sc := range scores {
		if s.ignored[sc.Name] {
			continue
		}
		lo, hi = min(lo, sc.Score), max(hi, sc.Score)
	}
	for i := range scores {
		switch {
		case s.ignored[scores[i].Name]:
			scores[i].Score = 0
		case hi == 0:
			scores[i].Score = framework.MaxNodeScore
		default:
			scores[i].Score = framework.MaxNodeScore * (hi + lo - scores[i].Score) / hi
		}
	}
	return nil
}
