package integration

import (
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"

	capstantesting "capstan/internal/testing"
)

func mustRV(t *testing.T, rv string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(rv, 10, 64)
	if err != nil {
		t.Fatalf("resourceVersion %q is not a number: %v", rv, err)
	}
	return n
}

// rootCAConfigMap is the configmap the root CA publisher adds to every namespace, at a
// moment of its choosing; tests of configmap sets leave it out.
const rootCAConfigMap = "kube-root-ca.crt"

func cmNames(items []corev1.ConfigMap) []string {
	var out []string
	for _, cm := range items {
		if cm.Name != rootCAConfigMap {
			out = append(out, cm.Name)
		}
	}
	return out
}

func objName(obj any) string {
	m, err := meta.Accessor(obj)
	if err != nil {
		return fmt.Sprintf("<%T>", obj)
	}
	return m.GetName()
}

// initialEvents reads a sendInitialEvents watch up to the initial-events-end bookmark and
// returns the names of the objects it was sent, sorted.
func initialEvents(t *testing.T, w watch.Interface) []string {
	t.Helper()
	var names []string
	for {
		ev := nextEvent(t, w)
		switch ev.Type {
		case watch.Added:
			if name := objName(ev.Object); name != rootCAConfigMap {
				names = append(names, name)
			}
		case watch.Bookmark:
			m, _ := meta.Accessor(ev.Object)
			if m.GetAnnotations()[metav1.InitialEventsAnnotationKey] != "true" {
				t.Fatalf("bookmark without %s: %v", metav1.InitialEventsAnnotationKey, m.GetAnnotations())
			}
			sort.Strings(names)
			return names
		default:
			t.Fatalf("initial event %s %v", ev.Type, ev.Object)
		}
	}
}

func watchInitial(t *testing.T, client kubernetes.Interface, ns string, opts metav1.ListOptions) watch.Interface {
	t.Helper()
	opts.SendInitialEvents = ptr.To(true)
	opts.ResourceVersionMatch = metav1.ResourceVersionMatchNotOlderThan
	opts.AllowWatchBookmarks = true
	w, err := client.CoreV1().ConfigMaps(ns).Watch(t.Context(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
	return w
}

// TestIntegrationListResourceVersions checks resourceVersion and resourceVersionMatch on
// lists, consistent pagination and reads of compacted revisions.
func TestIntegrationListResourceVersions(t *testing.T) {
	t.Parallel()
	s := start(t)
	ctx := t.Context()
	if _, err := s.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "rv"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	cms := s.Client.CoreV1().ConfigMaps("rv")
	a, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "a"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "b"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rvA, rvB := mustRV(t, a.ResourceVersion), mustRV(t, b.ResourceVersion)

	for _, tc := range []struct {
		name      string
		opts      metav1.ListOptions
		want      []string
		wantExact int64 // list resourceVersion, or 0 for "at least rvB"
	}{
		{"an unset resourceVersion reads the latest state", metav1.ListOptions{}, []string{"a", "b"}, 0},
		{"resourceVersion 0 reads the cache", metav1.ListOptions{ResourceVersion: "0"}, nil, 0},
		{"a resourceVersion without a match is not older than it", metav1.ListOptions{ResourceVersion: a.ResourceVersion}, []string{"a", "b"}, 0},
		{"NotOlderThan is not older than the resourceVersion", metav1.ListOptions{ResourceVersion: b.ResourceVersion, ResourceVersionMatch: metav1.ResourceVersionMatchNotOlderThan}, []string{"a", "b"}, 0},
		{"Exact reads the state at the resourceVersion", metav1.ListOptions{ResourceVersion: a.ResourceVersion, ResourceVersionMatch: metav1.ResourceVersionMatchExact}, []string{"a"}, rvA},
	} {
		t.Run(tc.name, func(t *testing.T) {
			list, err := cms.List(ctx, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			rv := mustRV(t, list.ResourceVersion)
			if tc.want != nil && !slices.Equal(cmNames(list.Items), tc.want) {
				t.Errorf("items %v, want %v", cmNames(list.Items), tc.want)
			}
			if tc.wantExact != 0 && rv != tc.wantExact {
				t.Errorf("list resourceVersion %d, want %d", rv, tc.wantExact)
			}
			if tc.wantExact == 0 && tc.opts.ResourceVersion != "0" && rv < rvB {
				t.Errorf("list resourceVersion %d is older than %d", rv, rvB)
			}
		})
	}

	t.Run("a resourceVersion from the future times out with 504 ResourceVersionTooLarge", func(t *testing.T) {
		future := strconv.FormatInt(rvB+1000000, 10)
		_, err := cms.List(ctx, metav1.ListOptions{ResourceVersion: future, ResourceVersionMatch: metav1.ResourceVersionMatchNotOlderThan})
		if !apierrors.IsTimeout(err) || !apierrors.HasStatusCause(err, metav1.CauseTypeResourceVersionTooLarge) {
			t.Errorf("list at %s: %v, want 504 with a ResourceVersionTooLarge cause", future, err)
		}
	})

	t.Run("an unset resourceVersion sees a write at once", func(t *testing.T) {
		for i := 0; i < 20; i++ {
			name := fmt.Sprintf("rw-%d", i)
			if _, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			list, err := cms.List(ctx, metav1.ListOptions{FieldSelector: "metadata.name=" + name})
			if err != nil || len(list.Items) != 1 {
				t.Fatalf("list right after creating %s: %v, %d items", name, err, len(list.Items))
			}
		}
	})

	t.Run("pages of a list reflect the first page's state while objects change", func(t *testing.T) {
		if _, err := s.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "paging"}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		// Pod templates: no controller adds any to a new namespace.
		pts := s.Client.CoreV1().PodTemplates("paging")
		template := func(name, v string) *corev1.PodTemplate {
			return &corev1.PodTemplate{ObjectMeta: metav1.ObjectMeta{Name: name, Annotations: map[string]string{"v": v}},
				Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "i"}}}}}
		}
		names := func(items []corev1.PodTemplate) []string {
			var out []string
			for _, it := range items {
				out = append(out, it.Name)
			}
			return out
		}
		for i := 0; i < 10; i++ {
			if _, err := pts.Create(ctx, template(fmt.Sprintf("p-%02d", i), "old"), metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		first, err := pts.List(ctx, metav1.ListOptions{Limit: 4})
		if err != nil {
			t.Fatal(err)
		}
		if len(first.Items) != 4 || first.Continue == "" || first.RemainingItemCount == nil || *first.RemainingItemCount != 6 {
			t.Fatalf("first page: %d items, continue %q, remaining %v; want 4, a token, 6", len(first.Items), first.Continue, first.RemainingItemCount)
		}
		// Change the collection between pages.
		if err := pts.Delete(ctx, "p-05", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := pts.Create(ctx, template("p-10", "new"), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := pts.Patch(ctx, "p-06", "application/merge-patch+json", []byte(`{"metadata":{"annotations":{"v":"new"}}}`), metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
		second, err := pts.List(ctx, metav1.ListOptions{Limit: 4, Continue: first.Continue})
		if err != nil {
			t.Fatal(err)
		}
		if got := names(second.Items); !slices.Equal(got, []string{"p-04", "p-05", "p-06", "p-07"}) {
			t.Errorf("second page %v, want p-04..p-07 as of the first page", got)
		}
		if len(second.Items) == 4 && second.Items[2].Annotations["v"] != "old" {
			t.Errorf("second page shows p-06 changed after the first page: %v", second.Items[2].Annotations)
		}
		if second.RemainingItemCount == nil || *second.RemainingItemCount != 2 {
			t.Errorf("second page remainingItemCount %v, want 2", second.RemainingItemCount)
		}
		third, err := pts.List(ctx, metav1.ListOptions{Limit: 4, Continue: second.Continue})
		if err != nil {
			t.Fatal(err)
		}
		if got := names(third.Items); !slices.Equal(got, []string{"p-08", "p-09"}) || third.Continue != "" || third.RemainingItemCount != nil {
			t.Errorf("last page %v continue %q remaining %v, want [p-08 p-09], none, nil", got, third.Continue, third.RemainingItemCount)
		}
		for _, page := range []*corev1.PodTemplateList{second, third} {
			if page.ResourceVersion != first.ResourceVersion {
				t.Errorf("page resourceVersion %s, want the first page's %s", page.ResourceVersion, first.ResourceVersion)
			}
		}
		// With a selector the remaining count is unknown.
		filtered, err := pts.List(ctx, metav1.ListOptions{Limit: 2, FieldSelector: "metadata.name!=p-00"})
		if err != nil {
			t.Fatal(err)
		}
		if len(filtered.Items) != 2 || filtered.Continue == "" || filtered.RemainingItemCount != nil {
			t.Errorf("filtered page: %d items, continue %q, remaining %v; want 2, a token, nil", len(filtered.Items), filtered.Continue, filtered.RemainingItemCount)
		}
		// A continue token with a resourceVersion is refused.
		if _, err := pts.List(ctx, metav1.ListOptions{Limit: 4, Continue: first.Continue, ResourceVersion: first.ResourceVersion}); !apierrors.IsBadRequest(err) {
			t.Errorf("continue with a resourceVersion: %v, want 400", err)
		}
	})

	t.Run("an exact read of a compacted revision is 410 Expired", func(t *testing.T) {
		cur, err := cms.List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Etcd.Compact(ctx, mustRV(t, cur.ResourceVersion)); err != nil {
			t.Fatal(err)
		}
		_, err = cms.List(ctx, metav1.ListOptions{ResourceVersion: a.ResourceVersion, ResourceVersionMatch: metav1.ResourceVersionMatchExact})
		if !apierrors.IsResourceExpired(err) && !apierrors.IsGone(err) {
			t.Errorf("exact list at compacted %s: %v, want 410", a.ResourceVersion, err)
		}
		if code := statusCode(err); code != http.StatusGone {
			t.Errorf("exact list at compacted revision: code %d, want 410", code)
		}
	})
}

func statusCode(err error) int32 {
	if st, ok := err.(apierrors.APIStatus); ok {
		return st.Status().Code
	}
	return 0
}

// TestIntegrationWatchSemantics checks the watch parameters: initial events, bookmarks,
// timeouts and expired resourceVersions.
func TestIntegrationWatchSemantics(t *testing.T) {
	t.Parallel()
	s := start(t)
	ctx := t.Context()
	cms := s.Client.CoreV1().ConfigMaps("default")
	first, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "w-1"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "w-2"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	t.Run("sendInitialEvents sends the state, the end bookmark, then changes", func(t *testing.T) {
		for _, rv := range []string{"", "0", first.ResourceVersion} {
			w := watchInitial(t, s.Client, "default", metav1.ListOptions{ResourceVersion: rv})
			names := initialEvents(t, w)
			if !slices.Contains(names, "w-1") || !slices.Contains(names, "w-2") {
				t.Errorf("resourceVersion %q: initial events for %v, want w-1 and w-2", rv, names)
			}
			w.Stop()
		}
		w := watchInitial(t, s.Client, "default", metav1.ListOptions{FieldSelector: "metadata.name=w-3"})
		if names := initialEvents(t, w); len(names) != 0 {
			t.Errorf("initial events %v for a selector nothing matches", names)
		}
		if _, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "w-3"}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if ev := nextEvent(t, w); ev.Type != watch.Added || objName(ev.Object) != "w-3" {
			t.Errorf("after the initial events: %s %s, want ADDED w-3", ev.Type, objName(ev.Object))
		}
	})

	t.Run("sendInitialEvents=false sends only later changes", func(t *testing.T) {
		w, err := cms.Watch(ctx, metav1.ListOptions{SendInitialEvents: ptr.To(false), ResourceVersionMatch: metav1.ResourceVersionMatchNotOlderThan, AllowWatchBookmarks: true})
		if err != nil {
			t.Fatal(err)
		}
		defer w.Stop()
		if _, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "w-later"}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		for {
			ev := nextEvent(t, w)
			if ev.Type == watch.Bookmark {
				if m, _ := meta.Accessor(ev.Object); m.GetAnnotations()[metav1.InitialEventsAnnotationKey] != "" {
					t.Errorf("an initial-events-end bookmark without initial events")
				}
				continue
			}
			if ev.Type != watch.Added || objName(ev.Object) != "w-later" {
				t.Errorf("first event %s %s, want ADDED w-later (no initial events)", ev.Type, objName(ev.Object))
			}
			break
		}
	})

	t.Run("invalid combinations of list and watch options are 422", func(t *testing.T) {
		for _, q := range []map[string]string{
			{"sendInitialEvents": "true"},
			{"watch": "true", "sendInitialEvents": "true"},
			{"watch": "true", "resourceVersionMatch": "NotOlderThan", "resourceVersion": "1"},
			{"watch": "true", "sendInitialEvents": "true", "resourceVersionMatch": "Exact", "resourceVersion": "1"},
			{"resourceVersionMatch": "Exact", "resourceVersion": "0"},
			{"resourceVersionMatch": "Sometime", "resourceVersion": "1"},
		} {
			req := s.Client.CoreV1().RESTClient().Get().Namespace("default").Resource("configmaps")
			for k, v := range q {
				req = req.Param(k, v)
			}
			if err := req.Do(ctx).Error(); !apierrors.IsInvalid(err) {
				t.Errorf("%v: %v, want 422 Invalid", q, err)
			}
		}
	})

	t.Run("a bookmark arrives before the watch times out", func(t *testing.T) {
		list, err := cms.List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		w, err := cms.Watch(ctx, metav1.ListOptions{ResourceVersion: list.ResourceVersion, AllowWatchBookmarks: true, TimeoutSeconds: ptr.To[int64](3)})
		if err != nil {
			t.Fatal(err)
		}
		defer w.Stop()
		var bookmark *corev1.ConfigMap
		for ev := range w.ResultChan() {
			if ev.Type == watch.Bookmark {
				bookmark = ev.Object.(*corev1.ConfigMap)
			}
		}
		if bookmark == nil {
			t.Fatal("no BOOKMARK before the watch ended")
		}
		if mustRV(t, bookmark.ResourceVersion) < mustRV(t, list.ResourceVersion) || bookmark.Name != "" {
			t.Errorf("bookmark %+v, want only a resourceVersion ≥ %s", bookmark.ObjectMeta, list.ResourceVersion)
		}
	})

	t.Run("timeoutSeconds ends a watch", func(t *testing.T) {
		begin := time.Now()
		w, err := cms.Watch(ctx, metav1.ListOptions{ResourceVersion: first.ResourceVersion, TimeoutSeconds: ptr.To[int64](1)})
		if err != nil {
			t.Fatal(err)
		}
		defer w.Stop()
		deadline := time.After(10 * time.Second)
		for open := true; open; {
			select {
			case ev, ok := <-w.ResultChan():
				open = ok
				if ok && ev.Type == watch.Bookmark {
					t.Errorf("bookmark without allowWatchBookmarks")
				}
			case <-deadline:
				t.Fatal("watch with timeoutSeconds=1 still open after 10s")
			}
		}
		if took := time.Since(begin); took < 900*time.Millisecond {
			t.Errorf("watch ended after %v, before its timeout", took)
		}
	})

	t.Run("a watch from a compacted resourceVersion gets a 410 ERROR event", func(t *testing.T) {
		old := first.ResourceVersion
		for i := 0; i < 5; i++ {
			if _, err := cms.Patch(ctx, "w-1", "application/merge-patch+json", []byte(fmt.Sprintf(`{"data":{"n":"%d"}}`, i)), metav1.PatchOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		cur, err := cms.Get(ctx, "w-1", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Etcd.Compact(ctx, mustRV(t, cur.ResourceVersion)); err != nil {
			t.Fatal(err)
		}
		// A restarted server's cache holds no history from before the compaction.
		s.Restart()
		cms := s.Client.CoreV1().ConfigMaps("default")
		w, err := cms.Watch(ctx, metav1.ListOptions{ResourceVersion: old})
		if err != nil {
			t.Fatal(err)
		}
		defer w.Stop()
		ev := nextEvent(t, w)
		if ev.Type != watch.Error {
			t.Fatalf("first event %s %v, want ERROR", ev.Type, ev.Object)
		}
		err = apierrors.FromObject(ev.Object)
		if code := statusCode(err); code != http.StatusGone || !apierrors.IsResourceExpired(err) && !apierrors.IsGone(err) {
			t.Errorf("error event %v (code %d), want 410 Expired", err, code)
		}
		// A fresh list's resourceVersion watches.
		list, err := cms.List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		w2, err := cms.Watch(ctx, metav1.ListOptions{ResourceVersion: list.ResourceVersion})
		if err != nil {
			t.Fatal(err)
		}
		defer w2.Stop()
		if err := cms.Delete(ctx, "w-2", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		if ev := nextEvent(t, w2); ev.Type != watch.Deleted || objName(ev.Object) != "w-2" {
			t.Errorf("watch from the current revision: %s %s, want DELETED w-2", ev.Type, objName(ev.Object))
		}
	})
}

// TestIntegrationSelectors checks label selectors with every operator and the supported
// field selectors, on lists and watches.
func TestIntegrationSelectors(t *testing.T) {
	t.Parallel()
	s := start(t)
	ctx := t.Context()
	c := s.Client
	for _, ns := range []string{"sel", "other"} {
		if _, err := c.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	capstantesting.WaitForDefaultServiceAccount(t, c, "sel")
	for name, labels := range map[string]map[string]string{
		"prod-web": {"env": "prod", "tier": "web"},
		"dev-db":   {"env": "dev", "tier": "db"},
		"staging":  {"env": "staging"},
		"bare":     nil,
	} {
		if _, err := c.CoreV1().ConfigMaps("sel").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.CoreV1().ConfigMaps("other").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "prod-web", Labels: map[string]string{"env": "prod"}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct{ selector, want string }{
		{"env=prod", "prod-web"},
		{"env==dev", "dev-db"},
		{"env!=prod", "bare dev-db staging"},
		{"env in (dev,staging)", "dev-db staging"},
		{"env notin (dev,staging)", "bare prod-web"},
		{"tier", "dev-db prod-web"},
		{"!tier", "bare staging"},
		{"env,tier!=db", "prod-web staging"}, // != also matches a missing key
	} {
		t.Run("label selector "+tc.selector+" on list and watch", func(t *testing.T) {
			list, err := c.CoreV1().ConfigMaps("sel").List(ctx, metav1.ListOptions{LabelSelector: tc.selector})
			if err != nil {
				t.Fatal(err)
			}
			got := cmNames(list.Items)
			sort.Strings(got)
			if strings.Join(got, " ") != tc.want {
				t.Errorf("list: %v, want %s", got, tc.want)
			}
			w := watchInitial(t, c, "sel", metav1.ListOptions{LabelSelector: tc.selector})
			if got := strings.Join(initialEvents(t, w), " "); got != tc.want {
				t.Errorf("watch: %s, want %s", got, tc.want)
			}
		})
	}

	t.Run("a watched object entering and leaving the selector is ADDED and DELETED", func(t *testing.T) {
		list, err := c.CoreV1().ConfigMaps("sel").List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		w, err := c.CoreV1().ConfigMaps("sel").Watch(ctx, metav1.ListOptions{ResourceVersion: list.ResourceVersion, LabelSelector: "env in (prod)"})
		if err != nil {
			t.Fatal(err)
		}
		defer w.Stop()
		for _, patch := range []string{`{"metadata":{"labels":{"env":"prod"}}}`, `{"metadata":{"labels":{"env":null}}}`} {
			if _, err := c.CoreV1().ConfigMaps("sel").Patch(ctx, "bare", "application/merge-patch+json", []byte(patch), metav1.PatchOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		for _, want := range []watch.EventType{watch.Added, watch.Deleted} {
			if ev := nextEvent(t, w); ev.Type != want || objName(ev.Object) != "bare" {
				t.Errorf("event %s %s, want %s bare", ev.Type, objName(ev.Object), want)
			}
		}
	})

	// Objects for the field selectors.
	for _, p := range []*corev1.Pod{
		{ObjectMeta: metav1.ObjectMeta{Name: "on-n1"}, Spec: corev1.PodSpec{NodeName: "n1", Containers: []corev1.Container{{Name: "c", Image: "i"}}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "on-n2"}, Spec: corev1.PodSpec{NodeName: "n2", Containers: []corev1.Container{{Name: "c", Image: "i"}}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "pending"}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "i"}}}},
	} {
		if _, err := c.CoreV1().Pods("sel").Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	running, err := c.CoreV1().Pods("sel").Get(ctx, "on-n1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	running.Status.Phase = corev1.PodRunning
	if _, err := c.CoreV1().Pods("sel").UpdateStatus(ctx, running, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, e := range []*corev1.Event{
		{ObjectMeta: metav1.ObjectMeta{Name: "e1"}, InvolvedObject: corev1.ObjectReference{Kind: "Pod", Namespace: "sel", Name: "on-n1"}, Reason: "R", Type: "Normal"},
		{ObjectMeta: metav1.ObjectMeta{Name: "e2"}, InvolvedObject: corev1.ObjectReference{Kind: "Pod", Namespace: "sel", Name: "on-n2"}, Reason: "R", Type: "Normal"},
	} {
		if _, err := c.CoreV1().Events("sel").Create(ctx, e, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	for _, sec := range []*corev1.Secret{
		{ObjectMeta: metav1.ObjectMeta{Name: "opaque"}, StringData: map[string]string{"k": "v"}},
		{ObjectMeta: metav1.ObjectMeta{Name: "tls"}, Type: corev1.SecretTypeTLS, StringData: map[string]string{"tls.crt": "c", "tls.key": "k"}},
	} {
		if _, err := c.CoreV1().Secrets("sel").Create(ctx, sec, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}

	type lister func(metav1.ListOptions) ([]string, error)
	names := func(list runtime.Object, err error) ([]string, error) {
		if err != nil {
			return nil, err
		}
		items, err := meta.ExtractList(list)
		if err != nil {
			return nil, err
		}
		var out []string
		for _, it := range items {
			if name := objName(it); name != rootCAConfigMap {
				out = append(out, name)
			}
		}
		sort.Strings(out)
		return out, nil
	}
	watchNames := func(w watch.Interface, err error) ([]string, error) {
		if err != nil {
			return nil, err
		}
		defer w.Stop()
		var out []string
		for {
			ev := nextEvent(t, w)
			if ev.Type == watch.Bookmark {
				sort.Strings(out)
				return out, nil
			}
			if name := objName(ev.Object); name != rootCAConfigMap {
				out = append(out, name)
			}
		}
	}
	wl := func(o metav1.ListOptions) metav1.ListOptions {
		o.SendInitialEvents, o.ResourceVersionMatch, o.AllowWatchBookmarks = ptr.To(true), metav1.ResourceVersionMatchNotOlderThan, true
		return o
	}
	resources := map[string][2]lister{
		"configmaps": {
			func(o metav1.ListOptions) ([]string, error) { return names(c.CoreV1().ConfigMaps("").List(ctx, o)) },
			func(o metav1.ListOptions) ([]string, error) {
				return watchNames(c.CoreV1().ConfigMaps("").Watch(ctx, wl(o)))
			},
		},
		"pods": {
			func(o metav1.ListOptions) ([]string, error) { return names(c.CoreV1().Pods("sel").List(ctx, o)) },
			func(o metav1.ListOptions) ([]string, error) {
				return watchNames(c.CoreV1().Pods("sel").Watch(ctx, wl(o)))
			},
		},
		"events": {
			func(o metav1.ListOptions) ([]string, error) { return names(c.CoreV1().Events("sel").List(ctx, o)) },
			func(o metav1.ListOptions) ([]string, error) {
				return watchNames(c.CoreV1().Events("sel").Watch(ctx, wl(o)))
			},
		},
		"secrets": {
			func(o metav1.ListOptions) ([]string, error) { return names(c.CoreV1().Secrets("sel").List(ctx, o)) },
			func(o metav1.ListOptions) ([]string, error) {
				return watchNames(c.CoreV1().Secrets("sel").Watch(ctx, wl(o)))
			},
		},
	}
	for _, tc := range []struct{ resource, selector, want string }{
		{"configmaps", "metadata.name=prod-web", "prod-web prod-web"},
		{"configmaps", "metadata.namespace=other", "prod-web"},
		{"configmaps", "metadata.namespace=sel,metadata.name!=bare", "dev-db prod-web staging"},
		{"pods", "spec.nodeName=n1", "on-n1"},
		{"pods", "spec.nodeName=", "pending"},
		{"pods", "status.phase=Running", "on-n1"},
		{"pods", "status.phase!=Running", "on-n2 pending"},
		{"events", "involvedObject.name=on-n2", "e2"},
		{"secrets", "type=kubernetes.io/tls", "tls"},
		{"secrets", "type=Opaque", "opaque"},
	} {
		t.Run("field selector "+tc.selector+" on "+tc.resource+" list and watch", func(t *testing.T) {
			fns := resources[tc.resource]
			for i, verb := range []string{"list", "watch"} {
				got, err := fns[i](metav1.ListOptions{FieldSelector: tc.selector})
				if err != nil {
					t.Fatalf("%s: %v", verb, err)
				}
				if strings.Join(got, " ") != tc.want {
					t.Errorf("%s: %v, want %s", verb, got, tc.want)
				}
			}
		})
	}
}

// TestIntegrationInformer runs a shared informer, as every controller does, through the
// WatchList protocol client-go uses by default.
func TestIntegrationInformer(t *testing.T) {
	t.Parallel()
	s := start(t)
	ctx := t.Context()
	if _, err := s.Client.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "before"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var requests []string
	cfg := rest.CopyConfig(s.Config)
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper {
		return roundTripFunc(func(r *http.Request) (*http.Response, error) {
			mu.Lock()
			requests = append(requests, r.URL.Path+"?"+r.URL.RawQuery)
			mu.Unlock()
			return rt.RoundTrip(r)
		})
	})
	factory := informers.NewSharedInformerFactory(kubernetes.NewForConfigOrDie(cfg), 0)
	inf := factory.Core().V1().ConfigMaps()
	events := make(chan string, 100)
	if _, err := inf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { events <- "add " + objName(obj) },
		UpdateFunc: func(_, obj any) { events <- "update " + objName(obj) },
		DeleteFunc: func(obj any) {
			if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = d.Obj
			}
			events <- "delete " + objName(obj)
		},
	}); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	factory.Start(stop)
	defer func() { close(stop); factory.Shutdown() }()
	for typ, ok := range factory.WaitForCacheSync(stop) {
		if !ok {
			t.Fatalf("informer for %v did not sync", typ)
		}
	}
	if _, err := inf.Lister().ConfigMaps("default").Get("before"); err != nil {
		t.Errorf("lister after sync: %v", err)
	}
	mu.Lock()
	for _, r := range requests {
		if !strings.Contains(r, "watch=true") {
			t.Errorf("informer fell back to a plain list (%s): the WatchList protocol failed", r)
		}
	}
	mu.Unlock()

	cms := s.Client.CoreV1().ConfigMaps("default")
	if _, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "after"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cms.Patch(ctx, "after", "application/merge-patch+json", []byte(`{"data":{"k":"v"}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := cms.Delete(ctx, "after", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	want := []string{"add after", "update after", "delete after"}
	var got []string
	deadline := time.After(10 * time.Second)
	for len(got) < len(want) {
		select {
		case e := <-events:
			if strings.HasSuffix(e, " after") {
				got = append(got, e)
			}
		case <-deadline:
			t.Fatalf("informer events %v, want %v", got, want)
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("informer events %v, want %v", got, want)
	}
}
