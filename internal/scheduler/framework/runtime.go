package framework

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"sync/atomic"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/sets"

	"capstan/internal/scheduler/config"
)

// Framework runs one profile's plugins at each extension point, in configured order.
type Framework struct {
	Services
	profile     string
	percentage  *int32
	parallelism int

	plugins    map[string]Plugin
	preEnqueue []PreEnqueuePlugin
	queueSort  QueueSortPlugin
	preFilter  []PreFilterPlugin
	filter     []FilterPlugin
	postFilter []PostFilterPlugin
	preScore   []PreScorePlugin
	score      []ScorePlugin
	weights    []int64
	events     map[string][]ClusterEventWithHint
	// scratch holds the per-plugin and total score slices, reused across cycles.
	scratch [][]NodeScore
}

var _ Handle = (*Framework)(nil)

// NewFramework instantiates the plugins of a completed profile (config.Load's output) from
// the registry, and arranges them by extension point.
func NewFramework(reg Registry, profile *config.KubeSchedulerProfile, services Services, parallelism int) (*Framework, error) {
	f := &Framework{
		Services:    services,
		profile:     profile.Name(),
		percentage:  profile.PercentageOfNodesToScore,
		parallelism: max(1, min(parallelism, runtime.GOMAXPROCS(0))),
		plugins:     map[string]Plugin{},
		events:      map[string][]ClusterEventWithHint{},
	}
	ps := profile.Plugins
	needed := sets.New[string]()
	for _, set := range []config.PluginSet{ps.MultiPoint, ps.PreEnqueue, ps.QueueSort, ps.PreFilter, ps.Filter,
		ps.PostFilter, ps.PreScore, ps.Score, ps.Reserve, ps.Permit, ps.PreBind, ps.Bind, ps.PostBind} {
		for _, p := range set.Enabled {
			needed.Insert(p.Name)
		}
	}
	for _, name := range sets.List(needed) {
		factory, ok := reg[name]
		if !ok {
			return nil, fmt.Errorf("profile %q: plugin %q does not exist", f.profile, name)
		}
		pl, err := factory(profile.Args(name), f)
		if err != nil {
			return nil, fmt.Errorf("profile %q: initializing plugin %q: %w", f.profile, name, err)
		}
		f.plugins[name] = pl
		if ee, ok := pl.(EnqueueExtensions); ok {
			f.events[name] = ee.EventsToRegister()
		} else {
			// A plugin that does not say which events help it is retried on any event.
			f.events[name] = []ClusterEventWithHint{{Event: ClusterEvent{Resource: WildCard, ActionType: All}}}
		}
	}
	var err error
	if f.preEnqueue, _, err = expand[PreEnqueuePlugin](f, ps.PreEnqueue, ps.MultiPoint); err != nil {
		return nil, err
	}
	qs, _, err := expand[QueueSortPlugin](f, ps.QueueSort, ps.MultiPoint)
	if err != nil {
		return nil, err
	}
	if len(qs) != 1 {
		return nil, fmt.Errorf("profile %q: exactly one queue sort plugin required, have %d", f.profile, len(qs))
	}
	f.queueSort = qs[0]
	if f.preFilter, _, err = expand[PreFilterPlugin](f, ps.PreFilter, ps.MultiPoint); err != nil {
		return nil, err
	}
	if f.filter, _, err = expand[FilterPlugin](f, ps.Filter, ps.MultiPoint); err != nil {
		return nil, err
	}
	if f.postFilter, _, err = expand[PostFilterPlugin](f, ps.PostFilter, ps.MultiPoint); err != nil {
		return nil, err
	}
	if f.preScore, _, err = expand[PreScorePlugin](f, ps.PreScore, ps.MultiPoint); err != nil {
		return nil, err
	}
	var weights []int32
	if f.score, weights, err = expand[ScorePlugin](f, ps.Score, ps.MultiPoint); err != nil {
		return nil, err
	}
	for _, w := range weights {
		if w == 0 {
			w = 1
		}
		f.weights = append(f.weights, int64(w))
	}
	return f, nil
}

// expand returns the plugins of one extension point: those enabled at the point itself
// (which override their multiPoint entry), then multiPoint plugins implementing the
// point's interface that the point does not disable, then nothing else; as upstream.
func expand[T Plugin](f *Framework, point, multi config.PluginSet) ([]T, []int32, error) {
	var out []T
	var weights []int32
	disabled := sets.New[string]()
	for _, p := range point.Disabled {
		disabled.Insert(p.Name)
	}
	explicit := map[string]config.Plugin{}
	for _, p := range point.Enabled {
		explicit[p.Name] = p
	}
	add := func(p config.Plugin) error {
		pl, ok := f.plugins[p.Name].(T)
		if !ok {
			var zero T
			return fmt.Errorf("profile %q: plugin %q does not extend %T", f.profile, p.Name, &zero)
		}
		out = append(out, pl)
		var w int32
		if p.Weight != nil {
			w = *p.Weight
		}
		weights = append(weights, w)
		return nil
	}
	var overrides, fromMulti []config.Plugin
	seen := sets.New[string]()
	if !disabled.Has("*") {
		for _, p := range multi.Enabled {
			if _, ok := f.plugins[p.Name].(T); !ok || disabled.Has(p.Name) {
				continue
			}
			if e, ok := explicit[p.Name]; ok {
				overrides = append(overrides, e)
				continue
			}
			if seen.Has(p.Name) {
				return nil, nil, fmt.Errorf("profile %q: plugin %q registered twice", f.profile, p.Name)
			}
			seen.Insert(p.Name)
			fromMulti = append(fromMulti, p)
		}
	}
	for _, p := range overrides {
		if err := add(p); err != nil {
			return nil, nil, err
		}
	}
	for _, p := range fromMulti {
		if err := add(p); err != nil {
			return nil, nil, err
		}
	}
	for _, p := range point.Enabled {
		if slices.ContainsFunc(overrides, func(o config.Plugin) bool { return o.Name == p.Name }) {
			continue
		}
		if err := add(p); err != nil {
			return nil, nil, err
		}
	}
	return out, weights, nil
}

// ProfileName is the profile's scheduler name.
func (f *Framework) ProfileName() string { return f.profile }

// PercentageOfNodesToScore of the profile, nil to use the global setting.
func (f *Framework) PercentageOfNodesToScore() *int32 { return f.percentage }

// Parallelism implements Handle.
func (f *Framework) Parallelism() int { return f.parallelism }

// Plugin returns the named plugin instance.
func (f *Framework) Plugin(name string) Plugin { return f.plugins[name] }

// QueueSortLess orders two pods of the active queue.
func (f *Framework) QueueSortLess(a, b *QueuedPodInfo) bool { return f.queueSort.Less(a, b) }

// EventsToRegister maps each plugin to the events that may make pods it rejected schedulable.
func (f *Framework) EventsToRegister() map[string][]ClusterEventWithHint { return f.events }

// HasScorePlugins says whether any score plugin is enabled.
func (f *Framework) HasScorePlugins() bool { return len(f.score) > 0 }

// RunPreEnqueuePlugins runs PreEnqueue; a non-success status keeps the pod gated.
func (f *Framework) RunPreEnqueuePlugins(ctx context.Context, pod *corev1.Pod) *Status {
	for _, pl := range f.preEnqueue {
		if s := pl.PreEnqueue(ctx, pod); !s.IsSuccess() {
			return s.WithPlugin(pl.Name())
		}
	}
	return nil
}

// RunPreFilterPlugins runs PreFilter. A rejection returns with the rejecting plugin in the
// status; unschedulable collects the plugins that rejected (for requeueing).
func (f *Framework) RunPreFilterPlugins(ctx context.Context, state *CycleState, pod *corev1.Pod, snap *Snapshot) (*PreFilterResult, *Status) {
	var result *PreFilterResult
	var skip map[string]bool
	var narrowedBy []string
	for _, pl := range f.preFilter {
		r, s := pl.PreFilter(ctx, state, pod, snap)
		if s.IsSkip() {
			if skip == nil {
				skip = map[string]bool{}
			}
			skip[pl.Name()] = true
			continue
		}
		if !s.IsSuccess() {
			s.WithPlugin(pl.Name())
			if s.IsRejected() {
				return nil, s
			}
			return nil, AsStatus(fmt.Errorf("running PreFilter plugin %q: %w", pl.Name(), s.AsError())).WithPlugin(pl.Name())
		}
		if r != nil && r.NodeNames != nil {
			narrowedBy = append(narrowedBy, pl.Name())
			r.Plugins = []string{pl.Name()}
			result = result.Merge(r)
			if result.NodeNames.Len() == 0 {
				return nil, NewStatus(UnschedulableAndUnresolvable,
					fmt.Sprintf("node(s) didn't satisfy plugin(s) %v simultaneously", narrowedBy)).WithPlugin(narrowedBy[len(narrowedBy)-1])
			}
		}
	}
	state.SkipFilter = skip
	state.filters = state.filters[:0]
	for _, pl := range f.filter {
		if !skip[pl.Name()] {
			state.filters = append(state.filters, pl)
		}
	}
	return result, nil
}

// RunPreFilterExtensionAddPod tells the PreFilter states a pod was added to nodeInfo.
func (f *Framework) RunPreFilterExtensionAddPod(ctx context.Context, state *CycleState, podToSchedule *corev1.Pod, podInfoToAdd *PodInfo, nodeInfo *NodeInfo) *Status {
	for _, pl := range f.preFilter {
		ext := pl.PreFilterExtensions()
		if ext == nil || state.SkipFilter[pl.Name()] {
			continue
		}
		if s := ext.AddPod(ctx, state, podToSchedule, podInfoToAdd, nodeInfo); !s.IsSuccess() {
			return AsStatus(fmt.Errorf("running AddPod on PreFilter plugin %q: %w", pl.Name(), s.AsError()))
		}
	}
	return nil
}

// RunPreFilterExtensionRemovePod tells the PreFilter states a pod was removed from nodeInfo.
func (f *Framework) RunPreFilterExtensionRemovePod(ctx context.Context, state *CycleState, podToSchedule *corev1.Pod, podInfoToRemove *PodInfo, nodeInfo *NodeInfo) *Status {
	for _, pl := range f.preFilter {
		ext := pl.PreFilterExtensions()
		if ext == nil || state.SkipFilter[pl.Name()] {
			continue
		}
		if s := ext.RemovePod(ctx, state, podToSchedule, podInfoToRemove, nodeInfo); !s.IsSuccess() {
			return AsStatus(fmt.Errorf("running RemovePod on PreFilter plugin %q: %w", pl.Name(), s.AsError()))
		}
	}
	return nil
}

// RunFilterPlugins runs the filters on one node and stops at the first rejection.
func (f *Framework) RunFilterPlugins(ctx context.Context, state *CycleState, pod *corev1.Pod, nodeInfo *NodeInfo) *Status {
	filters := state.filters
	if filters == nil {
		filters = f.filter // PreFilter did not run (tests, simulations)
	}
	for _, pl := range filters {
		if s := pl.Filter(ctx, state, pod, nodeInfo); !s.IsSuccess() {
			if !s.IsRejected() {
				s = AsStatus(fmt.Errorf("running %q filter plugin: %w", pl.Name(), s.AsError()))
			}
			return s.WithPlugin(pl.Name())
		}
	}
	return nil
}

// RunFilterPluginsWithNominatedPods filters one node as if the pods nominated to it with
// at least the pod's priority were already there, and, when that passes and such pods
// exist, again without them: the pod must fit both ways, since the nominated pods may or
// may not land (upstream's rule).
func (f *Framework) RunFilterPluginsWithNominatedPods(ctx context.Context, state *CycleState, pod *corev1.Pod, nodeInfo *NodeInfo) *Status {
	nominated := f.NominatedPodsForNode(nodeInfo.Node().Name)
	if len(nominated) == 0 {
		return f.RunFilterPlugins(ctx, state, pod, nodeInfo)
	}
	added, stateWith, infoWith, s := f.addNominatedPods(ctx, pod, state, nodeInfo, nominated)
	if !s.IsSuccess() {
		return s
	}
	if s := f.RunFilterPlugins(ctx, stateWith, pod, infoWith); !s.IsSuccess() || !added {
		return s
	}
	return f.RunFilterPlugins(ctx, state, pod, nodeInfo)
}

func (f *Framework) addNominatedPods(ctx context.Context, pod *corev1.Pod, state *CycleState, nodeInfo *NodeInfo, nominated []*PodInfo) (bool, *CycleState, *NodeInfo, *Status) {
	prio := PodPriority(pod)
	var stateOut *CycleState
	var infoOut *NodeInfo
	for _, pi := range nominated {
		if PodPriority(pi.Pod) < prio || pi.Pod.UID == pod.UID {
			continue
		}
		if infoOut == nil {
			stateOut, infoOut = state.Clone(), nodeInfo.Snapshot()
		}
		infoOut.AddPodInfo(pi)
		if s := f.RunPreFilterExtensionAddPod(ctx, stateOut, pod, pi, infoOut); !s.IsSuccess() {
			return false, state, nodeInfo, s
		}
	}
	if infoOut == nil {
		return false, state, nodeInfo, nil
	}
	return true, stateOut, infoOut, nil
}

// RunPostFilterPlugins runs PostFilter (preemption) until one succeeds.
func (f *Framework) RunPostFilterPlugins(ctx context.Context, state *CycleState, pod *corev1.Pod, snap *Snapshot, statuses *NodeToStatus) (*PostFilterResult, *Status) {
	var reasons []string
	var result *PostFilterResult
	for _, pl := range f.postFilter {
		r, s := pl.PostFilter(ctx, state, pod, snap, statuses)
		if s.IsSuccess() {
			return r, s
		}
		if !s.IsRejected() {
			return nil, s.WithPlugin(pl.Name())
		}
		if r != nil {
			result = r
		}
		reasons = append(reasons, s.Reasons()...)
	}
	if len(reasons) == 0 {
		return result, NewStatus(Unschedulable)
	}
	return result, NewStatus(Unschedulable, reasons...)
}

// RunPreScorePlugins runs PreScore; plugins that answer Skip are not scored this cycle.
func (f *Framework) RunPreScorePlugins(ctx context.Context, state *CycleState, pod *corev1.Pod, nodes []*NodeInfo, snap *Snapshot) *Status {
	var skip map[string]bool
	for _, pl := range f.preScore {
		s := pl.PreScore(ctx, state, pod, nodes, snap)
		if s.IsSkip() {
			if skip == nil {
				skip = map[string]bool{}
			}
			skip[pl.Name()] = true
			continue
		}
		if !s.IsSuccess() {
			return AsStatus(fmt.Errorf("running PreScore plugin %q: %w", pl.Name(), s.AsError()))
		}
	}
	state.SkipScore = skip
	return nil
}

// RunScorePlugins scores each node with every score plugin (in parallel over nodes),
// normalizes, weights and sums; the result is aligned with nodes. The returned slice is
// reused by the next call: RunScorePlugins is for the scheduling goroutine only.
func (f *Framework) RunScorePlugins(ctx context.Context, state *CycleState, pod *corev1.Pod, nodes []*NodeInfo) ([]NodeScore, *Status) {
	active := state.scores[:0]
	for i, pl := range f.score {
		if state.SkipScore == nil || !state.SkipScore[pl.Name()] {
			active = append(active, i)
		}
	}
	state.scores = active
	for len(f.scratch) < len(active)+1 {
		f.scratch = append(f.scratch, nil)
	}
	for k := range len(active) + 1 {
		if cap(f.scratch[k]) < len(nodes) {
			f.scratch[k] = make([]NodeScore, len(nodes))
		}
		f.scratch[k] = f.scratch[k][:len(nodes)]
	}
	perPlugin, total := f.scratch[:len(active)], f.scratch[len(active)]
	var failed atomic.Pointer[Status]
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ParallelizeUntil(ctx, f.parallelism, len(nodes), func(i int) {
		ni := nodes[i]
		name := ni.Node().Name
		for k, idx := range active {
			s, st := f.score[idx].Score(ctx, state, pod, ni)
			if !st.IsSuccess() {
				failed.CompareAndSwap(nil, AsStatus(fmt.Errorf("running Score plugin %q: %w", f.score[idx].Name(), st.AsError())))
				cancel()
				return
			}
			perPlugin[k][i] = NodeScore{Name: name, Score: s}
		}
	})
	if s := failed.Load(); s != nil {
		return nil, s
	}
	for i, ni := range nodes {
		total[i] = NodeScore{Name: ni.Node().Name}
	}
	for k, idx := range active {
		pl := f.score[idx]
		if ext := pl.ScoreExtensions(); ext != nil {
			if s := ext.NormalizeScore(ctx, state, pod, perPlugin[k]); !s.IsSuccess() {
				return nil, AsStatus(fmt.Errorf("running Normalize on Score plugin %q: %w", pl.Name(), s.AsError()))
			}
		}
		w := f.weights[idx]
		for i := range perPlugin[k] {
			s := perPlugin[k][i].Score
			if s < MinNodeScore || s > MaxNodeScore {
				return nil, AsStatus(fmt.Errorf("plugin %q returns an invalid score %v, it should in the range of [%v, %v] after normalizing", pl.Name(), s, MinNodeScore, MaxNodeScore))
			}
			total[i].Score += s * w
		}
	}
	return total, nil
}

// PodPriority returns spec.priority, 0 when unset.
func PodPriority(pod *corev1.Pod) int32 {
	if pod.Spec.Priority != nil {
		return *pod.Spec.Priority
	}
	return 0
}
