package podsync

import (
	"reflect"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

func TestComputeActions(t *testing.T) {
	t.Parallel()
	ready := []Sandbox{sandbox("sb", 0, true)}
	noWait := func(string, time.Time) (time.Duration, time.Duration) { return 0, 0 }
	inBackoff := func(string, time.Time) (time.Duration, time.Duration) { return 7 * time.Second, 20 * time.Second }
	hashed := func(c Container, spec *corev1.Container) Container { c.Hash = SpecHash(spec); return c }
	changed := testPod(corev1.RestartPolicyAlways, nil, "app")
	changed.Spec.Containers[0].Image = "busybox:2"

	for _, tc := range []struct {
		name   string
		pod    *corev1.Pod
		rt     *Runtime
		probes ProbeResults
		wait   func(string, time.Time) (time.Duration, time.Duration)
		want   Actions
	}{
		{
			name: "a new pod gets a sandbox and all its app containers",
			pod:  testPod(corev1.RestartPolicyAlways, nil, "a", "b"),
			rt:   rtOf(nil),
			want: Actions{CreateSandbox: true, Start: []Start{{Name: "a"}, {Name: "b"}}},
		},
		{
			name: "a new pod with init containers starts the first init container only",
			pod:  testPod(corev1.RestartPolicyAlways, []string{"i1", "i2"}, "a"),
			rt:   rtOf(nil),
			want: Actions{CreateSandbox: true, Start: []Start{{Name: "i1", Init: true}}},
		},
		{
			name: "a finished init container lets the next one start",
			pod:  testPod(corev1.RestartPolicyAlways, []string{"i1", "i2"}, "a"),
			rt:   rtOf(ready, exited("i1", 0, 0)),
			want: Actions{Start: []Start{{Name: "i2", Init: true}}},
		},
		{
			name: "a running init container holds everything back",
			pod:  testPod(corev1.RestartPolicyAlways, []string{"i1", "i2"}, "a"),
			rt:   rtOf(ready, exited("i1", 0, 0), running("i2", 0)),
			want: Actions{},
		},
		{
			name: "all init containers done starts the app containers",
			pod:  testPod(corev1.RestartPolicyAlways, []string{"i1"}, "a", "b"),
			rt:   rtOf(ready, exited("i1", 0, 0)),
			want: Actions{Start: []Start{{Name: "a"}, {Name: "b"}}},
		},
		{
			name: "a failed init container under Never ends the pod without a restart",
			pod:  testPod(corev1.RestartPolicyNever, []string{"i1"}, "a"),
			rt:   rtOf(ready, exited("i1", 0, 1)),
			want: Actions{StopSandbox: true},
		},
		{
			name: "a failed init container under OnFailure is restarted",
			pod:  testPod(corev1.RestartPolicyOnFailure, []string{"i1"}, "a"),
			rt:   rtOf(ready, exited("i1", 0, 1)),
			wait: noWait,
			want: Actions{Start: []Start{{Name: "i1", Init: true, Attempt: 1}}},
		},
		{
			name: "a crashed container in back-off waits with CrashLoopBackOff",
			pod:  testPod(corev1.RestartPolicyAlways, nil, "a"),
			rt:   rtOf(ready, exited("a", 3, 2)),
			wait: inBackoff,
			want: Actions{Retry: 7 * time.Second, Waiting: map[string]Waiting{"a": {
				Reason: "CrashLoopBackOff", Message: "back-off 20s restarting failed container=a pod=web_ns(uid-1)"}}},
		},
		{
			name: "a crashed container past its back-off is restarted with the next attempt",
			pod:  testPod(corev1.RestartPolicyAlways, nil, "a"),
			rt:   rtOf(ready, exited("a", 3, 2), exited("a", 2, 2)),
			wait: noWait,
			want: Actions{Start: []Start{{Name: "a", Attempt: 4}}},
		},
		{
			name: "OnFailure does not restart a container that succeeded",
			pod:  testPod(corev1.RestartPolicyOnFailure, nil, "a", "b"),
			rt:   rtOf(ready, exited("a", 0, 0), running("b", 0)),
			want: Actions{},
		},
		{
			name: "Always restarts a container that succeeded",
			pod:  testPod(corev1.RestartPolicyAlways, nil, "a"),
			rt:   rtOf(ready, exited("a", 0, 0)),
			wait: noWait,
			want: Actions{Start: []Start{{Name: "a", Attempt: 1}}},
		},
		{
			name: "a pod whose containers all finished under Never stops its sandbox",
			pod:  testPod(corev1.RestartPolicyNever, nil, "a"),
			rt:   rtOf(ready, exited("a", 0, 1)),
			want: Actions{StopSandbox: true},
		},
		{
			name: "a finished pod with a stopped sandbox is left alone",
			pod:  testPod(corev1.RestartPolicyNever, nil, "a"),
			rt:   rtOf([]Sandbox{sandbox("sb", 0, false)}, exited("a", 0, 0)),
			want: Actions{},
		},
		{
			name: "a dead sandbox is replaced: the pod is killed and starts over",
			pod:  testPod(corev1.RestartPolicyAlways, nil, "a"),
			rt:   rtOf([]Sandbox{sandbox("sb", 0, false)}, running("a", 0)),
			want: Actions{KillPod: true, CreateSandbox: true, SandboxAttempt: 1, Start: []Start{{Name: "a", Attempt: 1}}},
		},
		{
			name:   "a failed liveness probe kills the container",
			pod:    testPod(corev1.RestartPolicyAlways, nil, "a"),
			rt:     rtOf(ready, running("a", 0)),
			probes: ProbeResults{"a-0": {Started: true, LivenessFailed: true}},
			want:   Actions{Kill: []Kill{{ID: "a-0", Name: "a", Reason: "Killing", Message: "Container a failed liveness probe, will be restarted"}}},
		},
		{
			name: "a changed image kills the container",
			pod:  changed,
			rt:   rtOf(ready, hashed(running("app", 0), &testPod(corev1.RestartPolicyAlways, nil, "app").Spec.Containers[0])),
			want: Actions{Kill: []Kill{{ID: "app-0", Name: "app", Reason: "Killing", Message: "Container app definition changed, will be restarted"}}},
		},
		{
			name: "a container created but never started is replaced",
			pod:  testPod(corev1.RestartPolicyAlways, nil, "a"),
			rt:   rtOf(ready, Container{ID: "c1", Name: "a", SandboxID: "sb", State: StateCreated}),
			want: Actions{Kill: []Kill{{ID: "c1", Name: "a", Remove: true}}, Start: []Start{{Name: "a", Attempt: 1}}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := ComputeActions(Input{Pod: tc.pod, Runtime: tc.rt, Probes: tc.probes, CrashWait: tc.wait})
			if tc.want.Waiting == nil {
				tc.want.Waiting = map[string]Waiting{}
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestSidecarStartsBeforeTheAppAndIsRestarted(t *testing.T) {
	t.Parallel()
	always := corev1.ContainerRestartPolicyAlways
	pod := testPod(corev1.RestartPolicyNever, []string{"side"}, "a")
	pod.Spec.InitContainers[0].RestartPolicy = &always
	ready := []Sandbox{sandbox("sb", 0, true)}

	got := ComputeActions(Input{Pod: pod, Runtime: rtOf(ready, running("side", 0))})
	if !reflect.DeepEqual(got.Start, []Start{{Name: "a"}}) {
		t.Fatalf("with the sidecar running, start = %+v; want the app container", got.Start)
	}
	got = ComputeActions(Input{Pod: pod, Runtime: rtOf(ready, exited("side", 0, 1), running("a", 0))})
	if !reflect.DeepEqual(got.Start, []Start{{Name: "side", Init: true, Attempt: 1}}) {
		t.Fatalf("an exited sidecar of a running pod: start = %+v; want it restarted despite restartPolicy Never", got.Start)
	}
}

func TestBackoff(t *testing.T) {
	t.Parallel()
	b := NewBackoff(10*time.Second, 300*time.Second)
	now := t0
	if w, _ := b.Wait("k", now, now); w != 0 {
		t.Fatalf("the first restart waits %s; want none", w)
	}
	b.Next("k", now)
	finished := now.Add(5 * time.Second)
	if w, d := b.Wait("k", finished, finished.Add(time.Second)); w != 9*time.Second || d != 10*time.Second {
		t.Fatalf("second restart: wait %s delay %s; want 9s of 10s", w, d)
	}
	b.Next("k", finished.Add(10*time.Second))
	if _, d := b.Wait("k", finished, finished); d != 20*time.Second {
		t.Fatalf("delay after two restarts = %s; want 20s", d)
	}
	for i := 0; i < 10; i++ {
		b.Next("k", finished.Add(time.Duration(i)*time.Minute))
	}
	if _, d := b.Wait("k", finished, finished); d != 300*time.Second {
		t.Fatalf("delay = %s; want the 5m cap", d)
	}
	later := finished.Add(time.Hour)
	if w, _ := b.Wait("k", later, later); w != 0 {
		t.Fatal("a container that ran long enough still waits")
	}
	b.Forget(func(string) bool { return true })
	if w, _ := b.Wait("k", finished, finished); w != 0 {
		t.Fatal("a forgotten key still waits")
	}
}
