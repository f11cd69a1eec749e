package storage

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	clocktesting "k8s.io/utils/clock/testing"
)

func startWatch(t *testing.T, s *Store, opts WatchOptions) watch.Interface {
	t.Helper()
	w, err := s.Watch(t.Context(), opts)
	if err != nil {
		t.Fatalf("watch %+v: %v", opts, err)
	}
	t.Cleanup(w.Stop)
	return w
}

func TestWatchFromResourceVersion(t *testing.T) {
	t.Parallel()
	s := newPodStore(t)
	mustCreate(t, s, newPod("ns", "before", nil))
	from := mustCreate(t, s, newPod("ns", "from", nil))
	w := startWatch(t, s, WatchOptions{ResourceVersion: from.ResourceVersion})

	var want []string
	p := mustCreate(t, s, newPod("ns", "a", nil))
	want = append(want, "ADDED ns/a "+p.ResourceVersion)
	p = setLabel(t, s, "ns", "from", "k", "v")
	want = append(want, "MODIFIED ns/from "+p.ResourceVersion)
	p = mustDelete(t, s, "ns", "before")
	want = append(want, "DELETED ns/before "+p.ResourceVersion)
	p = mustCreate(t, s, newPod("other", "b", nil))
	want = append(want, "ADDED other/b "+p.ResourceVersion)

	var got []string
	for range want {
		got = append(got, podEvent(next(t, w)))
	}
	if !slices.Equal(got, want) {
		t.Errorf("events\n%v\nwant\n%v", got, want)
	}

	t.Run("a namespace prefix sees only its namespace", func(t *testing.T) {
		w := startWatch(t, s, WatchOptions{Prefix: s.Key("other", ""), ResourceVersion: from.ResourceVersion})
		if got := podEvent(next(t, w)); got != "ADDED other/b "+p.ResourceVersion {
			t.Errorf("first event %s, want other/b's", got)
		}
	})
}

func TestWatchInitialEvents(t *testing.T) {
	t.Parallel()
	yes, no := true, false

	tests := []struct {
		name     string
		opts     WatchOptions
		initial  []string // names of the initial ADDED events
		bookmark bool     // an initial-events-end bookmark follows them
	}{
		{"legacy unset sends the state", WatchOptions{}, []string{"a", "b", "c"}, false},
		{"legacy 0 sends the state", WatchOptions{ResourceVersion: "0"}, []string{"a", "b", "c"}, false},
		{"sendInitialEvents sends the state and a bookmark", WatchOptions{SendInitialEvents: &yes, AllowBookmarks: true}, []string{"a", "b", "c"}, true},
		{"sendInitialEvents at 0", WatchOptions{SendInitialEvents: &yes, AllowBookmarks: true, ResourceVersion: "0"}, []string{"a", "b", "c"}, true},
		{"sendInitialEvents with a selector", WatchOptions{SendInitialEvents: &yes, AllowBookmarks: true, Label: labels.SelectorFromSet(labels.Set{"app": "b"})}, []string{"b"}, true},
		{"sendInitialEvents=false sends only changes", WatchOptions{SendInitialEvents: &no}, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newPodStore(t)
			for _, n := range []string{"a", "b", "c"} {
				mustCreate(t, s, newPod("ns", n, map[string]string{"app": n}))
			}
			list := listPods(t, s, ListOptions{})
			w := startWatch(t, s, tt.opts)
			var got []string
			for range tt.initial {
				ev := next(t, w)
				if ev.Type != watch.Added {
					t.Fatalf("got %s, want ADDED", podEvent(ev))
				}
				got = append(got, ev.Object.(*corev1.Pod).Name)
			}
			if !slices.Equal(got, tt.initial) {
				t.Errorf("initial events for %v, want %v", got, tt.initial)
			}
			if tt.bookmark {
				ev := next(t, w)
				p, ok := ev.Object.(*corev1.Pod)
				if ev.Type != watch.Bookmark || !ok || p.Annotations[metav1.InitialEventsAnnotationKey] != "true" {
					t.Fatalf("got %s %v, want the initial-events-end bookmark", podEvent(ev), ev.Object)
				}
				if rv, _ := strconv.Atoi(p.ResourceVersion); rv < mustAtoi(t, list.ResourceVersion) {
					t.Errorf("bookmark at %s, want at least %s", p.ResourceVersion, list.ResourceVersion)
				}
			}
			// Then changes; use the selected app label so that every watch sees it.
			name := fmt.Sprintf("new-%d", time.Now().UnixNano())
			created := mustCreate(t, s, newPod("ns", name, map[string]string{"app": "b"}))
			if got, want := podEvent(next(t, w)), "ADDED ns/"+name+" "+created.ResourceVersion; got != want {
				t.Errorf("after the initial events got %s, want %s", got, want)
			}
		})
	}
}

func mustAtoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestWatchTooOldResourceVersion(t *testing.T) {
	t.Parallel()
	s := newPodStore(t, func(o *Options) { o.EventHistoryLength = 3 })
	first := mustCreate(t, s, newPod("ns", "p0", nil))
	var last *corev1.Pod
	for i := 1; i < 6; i++ {
		last = mustCreate(t, s, newPod("ns", fmt.Sprint("p", i), nil))
	}
	eventually(t, "the cache to see every pod", func() bool {
		return s.cache.currentRev() >= int64(mustAtoi(t, last.ResourceVersion))
	})
	w := startWatch(t, s, WatchOptions{ResourceVersion: first.ResourceVersion})
	ev := next(t, w)
	st, ok := ev.Object.(*metav1.Status)
	if ev.Type != watch.Error || !ok || st.Code != 410 || st.Reason != metav1.StatusReasonExpired {
		t.Fatalf("got %s %+v, want an ERROR event with a 410 Expired status", ev.Type, ev.Object)
	}
	if want := "too old resource version: " + first.ResourceVersion + " ("; len(st.Message) < len(want) || st.Message[:len(want)] != want {
		t.Errorf("message %q, want %q...", st.Message, want)
	}
	if _, open := <-w.ResultChan(); open {
		t.Error("the watch stayed open after the error")
	}
	// The history still serves recent revisions.
	recent := startWatch(t, s, WatchOptions{ResourceVersion: strconv.Itoa(mustAtoi(t, last.ResourceVersion) - 1)})
	if got := podEvent(next(t, recent)); got != "ADDED ns/p5 "+last.ResourceVersion {
		t.Errorf("watch from the history got %s", got)
	}
}

func TestWatchSelectorTransitions(t *testing.T) {
	t.Parallel()
	for _, sel := range []struct {
		name  string
		label labels.Selector
		field fields.Selector
	}{
		{"label selector", labels.SelectorFromSet(labels.Set{"app": "db"}), nil},
		{"field selector", nil, fields.OneTermEqualSelector("spec.nodeName", "node1")},
	} {
		t.Run(sel.name, func(t *testing.T) {
			t.Parallel()
			s := newPodStore(t)
			start := mustCreate(t, s, newPod("ns", "a", map[string]string{"app": "web"}))
			name := fmt.Sprintf("p-%d", time.Now().UnixNano())
			w := startWatch(t, s, WatchOptions{ResourceVersion: start.ResourceVersion, Label: sel.label, Field: sel.field})
			update := func(match bool) *corev1.Pod {
				out, err := s.GuaranteedUpdate(t.Context(), s.Key("ns", name), nil, true, func(obj runtime.Object) (runtime.Object, error) {
					p := obj.(*corev1.Pod)
					if p.Name == "" {
						p = newPod("ns", name, nil)
					}
					p.Labels = map[string]string{"app": "web", "n": fmt.Sprint(time.Now().UnixNano())}
					p.Spec.NodeName = ""
					if match {
						p.Labels["app"] = "db"
						p.Spec.NodeName = "node1"
					}
					return p, nil
				})
				if err != nil {
					t.Fatal(err)
				}
				return out.(*corev1.Pod)
			}
			update(false)                        // created outside the selector: nothing
			in := update(true)                   // moves in: ADDED
			still := update(true)                // stays in: MODIFIED
			out := update(false)                 // moves out: DELETED with the last matching state
			update(false)                        // stays out: nothing
			back := update(true)                 // back in: ADDED
			gone := mustDelete(t, s, "ns", name) // deleted while matching: DELETED

			want := []string{
				"ADDED ns/" + name + " " + in.ResourceVersion,
				"MODIFIED ns/" + name + " " + still.ResourceVersion,
				"DELETED ns/" + name + " " + out.ResourceVersion,
				"ADDED ns/" + name + " " + back.ResourceVersion,
				"DELETED ns/" + name + " " + gone.ResourceVersion,
			}
			var got []string
			var leaving *corev1.Pod
			for i := range want {
				ev := next(t, w)
				got = append(got, podEvent(ev))
				if i == 2 {
					leaving = ev.Object.(*corev1.Pod)
				}
			}
			if !slices.Equal(got, want) {
				t.Fatalf("events\n%v\nwant\n%v", got, want)
			}
			if leaving.Labels["app"] != "db" || leaving.Labels["n"] != still.Labels["n"] {
				t.Errorf("DELETED on leaving the selector carries %v, want the last matching state %v", leaving.Labels, still.Labels)
			}
		})
	}
}

func TestWatchDeletedCarriesLastState(t *testing.T) {
	t.Parallel()
	s := newPodStore(t)
	created := mustCreate(t, s, newPod("ns", "a", nil))
	w := startWatch(t, s, WatchOptions{ResourceVersion: created.ResourceVersion})
	updated := setLabel(t, s, "ns", "a", "final", "yes")
	gone := mustDelete(t, s, "ns", "a")
	next(t, w) // MODIFIED
	ev := next(t, w)
	p := ev.Object.(*corev1.Pod)
	if ev.Type != watch.Deleted || p.Labels["final"] != "yes" || p.ResourceVersion != gone.ResourceVersion || p.UID != updated.UID {
		t.Errorf("got %s labels %v, want DELETED at %s with the last state", podEvent(ev), p.Labels, gone.ResourceVersion)
	}
}

func TestWatchBookmarks(t *testing.T) {
	t.Parallel()
	clk := clocktesting.NewFakeClock(time.Now())
	s := newPodStore(t, func(o *Options) { o.Clock = clk; o.BookmarkInterval = time.Minute })
	p := mustCreate(t, s, newPod("ns", "a", nil))
	withBookmarks := startWatch(t, s, WatchOptions{ResourceVersion: p.ResourceVersion, AllowBookmarks: true})
	without := startWatch(t, s, WatchOptions{ResourceVersion: p.ResourceVersion})
	eventually(t, "the cache to see the pod", func() bool {
		return s.cache.currentRev() >= int64(mustAtoi(t, p.ResourceVersion))
	})

	clk.Step(time.Minute)
	ev := next(t, withBookmarks)
	bm, ok := ev.Object.(*corev1.Pod)
	if ev.Type != watch.Bookmark || !ok || bm.Name != "" || mustAtoi(t, bm.ResourceVersion) < mustAtoi(t, p.ResourceVersion) {
		t.Fatalf("got %s %+v, want a BOOKMARK with only a resourceVersion >= %s", ev.Type, ev.Object, p.ResourceVersion)
	}
	// The watcher without bookmarks sees the next change first.
	q := mustCreate(t, s, newPod("ns", "b", nil))
	if got := podEvent(next(t, without)); got != "ADDED ns/b "+q.ResourceVersion {
		t.Errorf("watch without bookmarks got %s first", got)
	}
	if got := podEvent(next(t, withBookmarks)); got != "ADDED ns/b "+q.ResourceVersion {
		t.Errorf("watch with bookmarks got %s after the bookmark", got)
	}
}

func TestSlowWatcherIsTerminated(t *testing.T) {
	t.Parallel()
	s := newPodStore(t, func(o *Options) { o.WatcherBuffer = 5 })
	start := mustCreate(t, s, newPod("ns", "start", nil))
	slow := startWatch(t, s, WatchOptions{ResourceVersion: start.ResourceVersion})
	fast := startWatch(t, s, WatchOptions{ResourceVersion: start.ResourceVersion})

	const n = 30
	received := make(chan int)
	go func() {
		count := 0
		for ev := range fast.ResultChan() {
			if ev.Type == watch.Added {
				count++
				if count == n {
					break
				}
			}
		}
		received <- count
	}()
	for i := range n {
		mustCreate(t, s, newPod("ns", fmt.Sprint("p", i), nil))
	}
	select {
	case got := <-received:
		if got != n {
			t.Errorf("the draining watcher got %d events, want %d", got, n)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the draining watcher did not get every event")
	}
	if got := waitClosed(t, slow); got >= n {
		t.Errorf("the non-draining watcher delivered all %d events; want it terminated", got)
	}
}

func TestWatchEnds(t *testing.T) {
	t.Parallel()
	s := newPodStore(t)
	t.Run("when its context ends", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		w, err := s.Watch(ctx, WatchOptions{ResourceVersion: "0"})
		if err != nil {
			t.Fatal(err)
		}
		cancel()
		waitClosed(t, w)
	})
	t.Run("when stopped", func(t *testing.T) {
		w := startWatch(t, s, WatchOptions{})
		w.Stop()
		waitClosed(t, w)
	})
	t.Run("when the store stops", func(t *testing.T) {
		other := newPodStore(t)
		w := startWatch(t, other, WatchOptions{})
		other.Stop()
		waitClosed(t, w)
	})
}

func TestWatchAfterStopIsRefused(t *testing.T) {
	t.Parallel()
	s := newPodStore(t)
	s.Stop()
	if _, err := s.Watch(t.Context(), WatchOptions{}); err == nil {
		t.Error("a stopped store accepted a watch")
	}
}

func TestWatchBookmarkBeforeDeadline(t *testing.T) {
	t.Parallel()
	s := newPodStore(t)
	p := mustCreate(t, s, newPod("ns", "a", nil))
	ctx, cancel := context.WithTimeout(t.Context(), 2300*time.Millisecond)
	defer cancel()
	start := time.Now()
	w, err := s.Watch(ctx, WatchOptions{ResourceVersion: p.ResourceVersion, AllowBookmarks: true})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	ev := next(t, w)
	if ev.Type != watch.Bookmark || mustAtoi(t, ev.Object.(*corev1.Pod).ResourceVersion) < mustAtoi(t, p.ResourceVersion) {
		t.Fatalf("got %s, want a BOOKMARK at >= %s", podEvent(ev), p.ResourceVersion)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("bookmark after %s, want it two seconds before the 2.3s deadline", d)
	}
	waitClosed(t, w)
}
