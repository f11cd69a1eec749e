package storage

import (
	"encoding/base64"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
)

func TestListResourceVersions(t *testing.T) {
	t.Parallel()
	s := newPodStore(t, func(o *Options) { o.ResourceVersionTimeout = 300 * time.Millisecond })
	a := mustCreate(t, s, newPod("ns", "a", nil))
	b := mustCreate(t, s, newPod("ns", "b", nil))
	bRV, _ := strconv.ParseInt(b.ResourceVersion, 10, 64)

	t.Run("unset sees a write made just before", func(t *testing.T) {
		for i := range 20 {
			p := mustCreate(t, s, newPod("other", fmt.Sprint("p", i), nil))
			l := listPods(t, s, ListOptions{Prefix: s.Key("other", "")})
			lrv, _ := strconv.ParseInt(l.ResourceVersion, 10, 64)
			prv, _ := strconv.ParseInt(p.ResourceVersion, 10, 64)
			if len(l.Items) != i+1 || lrv < prv {
				t.Fatalf("list after creating %s: %v at %s", p.Name, names(l), l.ResourceVersion)
			}
		}
	})
	t.Run("unset sees writes to other resources through progress notifications", func(t *testing.T) {
		// Without progress notifications the cache would not reach the revision of the other
		// resource's write until the minute-long timeout made it fall back to etcd.
		quiet := newPodStore(t, func(o *Options) { o.ResourceVersionTimeout = time.Minute })
		other := newPodStore(t)
		start := time.Now()
		for range 3 {
			mustCreate(t, other, newPod("ns", fmt.Sprint("x", time.Now().UnixNano()), nil))
			listPods(t, quiet, ListOptions{})
		}
		if d := time.Since(start); d > 20*time.Second {
			t.Fatalf("three consistent lists took %s", d)
		}
	})
	t.Run("exact returns the old state", func(t *testing.T) {
		l := listPods(t, s, ListOptions{Prefix: s.Key("ns", ""), ResourceVersion: a.ResourceVersion, ResourceVersionMatch: metav1.ResourceVersionMatchExact})
		if got := names(l); !slices.Equal(got, []string{"ns/a"}) || l.ResourceVersion != a.ResourceVersion {
			t.Errorf("exact list at %s = %v at %s, want [ns/a]", a.ResourceVersion, got, l.ResourceVersion)
		}
	})
	t.Run("not older than returns at least that state", func(t *testing.T) {
		for _, match := range []metav1.ResourceVersionMatch{"", metav1.ResourceVersionMatchNotOlderThan} {
			l := listPods(t, s, ListOptions{Prefix: s.Key("ns", ""), ResourceVersion: b.ResourceVersion, ResourceVersionMatch: match})
			rv, _ := strconv.ParseInt(l.ResourceVersion, 10, 64)
			if got := names(l); !slices.Equal(got, []string{"ns/a", "ns/b"}) || rv < bRV {
				t.Errorf("match %q: %v at %d, want [ns/a ns/b] at >= %d", match, got, rv, bRV)
			}
		}
	})
	t.Run("0 serves the cache", func(t *testing.T) {
		eventually(t, "the cache to hold both pods", func() bool {
			return len(listPods(t, s, ListOptions{Prefix: s.Key("ns", ""), ResourceVersion: "0"}).Items) == 2
		})
	})
	t.Run("a future resource version times out with 504", func(t *testing.T) {
		start := time.Now()
		want := strconv.FormatInt(bRV+1000000, 10)
		for _, opts := range []ListOptions{
			{ResourceVersion: want},
			{ResourceVersion: want, ResourceVersionMatch: metav1.ResourceVersionMatchExact},
		} {
			_, err := s.List(t.Context(), opts)
			if !apierrors.IsTimeout(err) || !apierrors.HasStatusCause(err, metav1.CauseTypeResourceVersionTooLarge) ||
				!strings.Contains(err.Error(), "Too large resource version") {
				t.Errorf("list %+v: %v, want a 504 with a ResourceVersionTooLarge cause", opts, err)
			}
		}
		_, err := s.Get(t.Context(), s.Key("ns", "a"), GetOptions{ResourceVersion: want})
		if !apierrors.IsTimeout(err) {
			t.Errorf("get at %s: %v, want a 504", want, err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("three timeouts took %s", d)
		}
	})
	t.Run("bad parameters are 400", func(t *testing.T) {
		for _, opts := range []ListOptions{
			{ResourceVersion: "x"},
			{ResourceVersion: "-3"},
			{ResourceVersionMatch: metav1.ResourceVersionMatchExact},
			{ResourceVersionMatch: metav1.ResourceVersionMatchNotOlderThan},
			{ResourceVersion: "0", ResourceVersionMatch: metav1.ResourceVersionMatchExact},
			{ResourceVersion: "1", ResourceVersionMatch: "Newest"},
			{Continue: "!!!"},
			{Continue: continueOf(t, `{"v":"meta.k8s.io/v1","rv":5,"start":"../../secrets/x"}`)},
			{Continue: continueOf(t, `{"v":"meta.k8s.io/v1","rv":5,"start":""}`)},
			{Continue: continueOf(t, `{"v":"v9","rv":5,"start":"a"}`)},
			{Continue: continueOf(t, `{"v":"meta.k8s.io/v1","rv":5,"start":"a"}`), ResourceVersion: "7"},
		} {
			if _, err := s.List(t.Context(), opts); !apierrors.IsBadRequest(err) {
				t.Errorf("list %+v: %v, want a 400", opts, err)
			}
		}
	})
}

func continueOf(t *testing.T, token string) string {
	t.Helper()
	return base64.RawURLEncoding.EncodeToString([]byte(token))
}

// paginate lists every page of opts and returns the names, the pages' revisions and the
// first page's remainingItemCount.
func paginate(t *testing.T, s *Store, opts ListOptions, between func(page int)) (got []string, revs []string, remaining *int64) {
	t.Helper()
	for page := 0; ; page++ {
		l := listPods(t, s, opts)
		if int64(len(l.Items)) > opts.Limit {
			t.Fatalf("page %d has %d items, limit %d", page, len(l.Items), opts.Limit)
		}
		if page == 0 {
			remaining = l.RemainingItemCount
		}
		got = append(got, names(l)...)
		revs = append(revs, l.ResourceVersion)
		if l.Continue == "" {
			return got, revs, remaining
		}
		if page > 100 {
			t.Fatal("too many pages")
		}
		opts.Continue = l.Continue
		opts.ResourceVersion = ""
		if between != nil {
			between(page)
		}
	}
}

func TestPagination(t *testing.T) {
	t.Parallel()
	s := newPodStore(t)
	var all, even []string
	for i := range 25 {
		ns := []string{"ns1", "ns2"}[i%2]
		name := fmt.Sprintf("p%02d", i)
		mustCreate(t, s, newPod(ns, name, map[string]string{"even": strconv.FormatBool(i%2 == 0)}))
		all = append(all, ns+"/"+name)
		if i%2 == 0 {
			even = append(even, ns+"/"+name)
		}
	}
	slices.Sort(all)
	slices.Sort(even)
	var ns1 []string
	for _, n := range all {
		if strings.HasPrefix(n, "ns1/") {
			ns1 = append(ns1, n)
		}
	}
	evenSel := labels.SelectorFromSet(labels.Set{"even": "true"})

	t.Run("unpaginated lists", func(t *testing.T) {
		for opts, want := range map[*ListOptions][]string{
			{}:                         all,
			{Prefix: s.Key("ns1", "")}: ns1,
			{Label: evenSel}:           even,
			{Field: fields.OneTermEqualSelector("metadata.namespace", "ns1")}: ns1,
		} {
			if got := names(listPods(t, s, *opts)); !slices.Equal(got, want) {
				t.Errorf("list %+v = %v, want %v", *opts, got, want)
			}
		}
	})

	tests := []struct {
		name string
		opts ListOptions
	}{
		{"all namespaces", ListOptions{Limit: 7}},
		{"one namespace", ListOptions{Prefix: s.Key("ns1", ""), Limit: 4}},
		{"with a label selector", ListOptions{Limit: 4, Label: evenSel}},
		{"with a field selector", ListOptions{Limit: 3, Field: fields.OneTermEqualSelector("metadata.namespace", "ns1")}},
		{"from the cache at any version", ListOptions{Limit: 6, ResourceVersion: "0"}},
		{"a limit larger than the list", ListOptions{Limit: 100}},
	}
	for _, tt := range tests {
		for _, source := range []string{"cache snapshots", "etcd"} {
			t.Run(tt.name+" from "+source, func(t *testing.T) {
				// Earlier subtests add pods: the pages must match an unpaginated list.
				whole := tt.opts
				whole.Limit = 0
				want := names(listPods(t, s, whole))
				n := 0
				between := func(int) {
					// Writes between pages must not show up: the pages reflect one revision.
					n++
					mustCreate(t, s, newPod("ns1", fmt.Sprintf("p%02d-new-%d", n, time.Now().UnixNano()), map[string]string{"even": "true"}))
					if source == "etcd" {
						s.cache.mu.Lock()
						clear(s.cache.snapshots)
						s.cache.mu.Unlock()
					}
				}
				got, revs, remaining := paginate(t, s, tt.opts, between)
				if !slices.Equal(got, want) {
					t.Errorf("pages gave %v\nwant %v", got, want)
				}
				for _, rv := range revs {
					if rv != revs[0] {
						t.Errorf("page revisions %v, want one revision", revs)
						break
					}
				}
				unfiltered := tt.opts.Label == nil && tt.opts.Field == nil
				switch {
				case len(revs) > 1 && unfiltered && (remaining == nil || *remaining != int64(len(want))-tt.opts.Limit):
					t.Errorf("remainingItemCount %v, want %d", remaining, int64(len(want))-tt.opts.Limit)
				case !unfiltered && remaining != nil:
					t.Errorf("remainingItemCount %d with a selector, want none", *remaining)
				}
			})
		}
	}
	t.Run("deletes between pages do not show", func(t *testing.T) {
		first := listPods(t, s, ListOptions{Prefix: s.Key("ns2", ""), Limit: 3})
		before := len(listPods(t, s, ListOptions{Prefix: s.Key("ns2", "")}).Items)
		for _, p := range listPods(t, s, ListOptions{Prefix: s.Key("ns2", "")}).Items[5:] {
			mustDelete(t, s, p.Namespace, p.Name)
		}
		rest, _, _ := paginate(t, s, ListOptions{Prefix: s.Key("ns2", ""), Limit: 3, Continue: first.Continue}, nil)
		if n := len(first.Items) + len(rest); n != before {
			t.Errorf("pages held %d pods, want the %d present at the first page", n, before)
		}
	})
}

func TestContinueAfterCompaction(t *testing.T) {
	t.Parallel()
	s := startStore(t, podOptions(t, startEtcd(t)))
	for i := range 5 {
		mustCreate(t, s, newPod("ns", fmt.Sprint("p", i), nil))
	}
	first := listPods(t, s, ListOptions{Limit: 2})
	if first.Continue == "" {
		t.Fatal("no continue token")
	}
	p := mustCreate(t, s, newPod("ns", "later", nil))
	rev, _ := strconv.ParseInt(p.ResourceVersion, 10, 64)
	if _, err := s.client.Compact(t.Context(), rev); err != nil {
		t.Fatal(err)
	}
	s.cache.mu.Lock()
	clear(s.cache.snapshots) // as on another server, or after the snapshot expired
	s.cache.mu.Unlock()

	_, err := s.List(t.Context(), ListOptions{Limit: 2, Continue: first.Continue})
	if !apierrors.IsResourceExpired(err) || !strings.HasPrefix(err.Error(), "The provided continue parameter is too old") {
		t.Fatalf("continue after compaction: %v, want 410 Expired", err)
	}
	// The error offers an inconsistent continuation at the latest state.
	token := err.(apierrors.APIStatus).Status().ListMeta.Continue
	if token == "" {
		t.Fatal("no inconsistent continue token in the 410")
	}
	rest, _, _ := paginate(t, s, ListOptions{Limit: 2, Continue: token}, nil)
	if want := []string{"ns/p2", "ns/p3", "ns/p4"}; !slices.Equal(rest, want) {
		t.Errorf("inconsistent continuation = %v, want %v", rest, want)
	}

	_, err = s.List(t.Context(), ListOptions{ResourceVersion: first.ResourceVersion, ResourceVersionMatch: metav1.ResourceVersionMatchExact})
	if !apierrors.IsResourceExpired(err) {
		t.Errorf("exact list of a compacted revision: %v, want 410", err)
	}
}

// TestReadsDoNotExposeTheCache changes what reads return within their documented limits and
// checks that the cache is unchanged.
func TestReadsDoNotExposeTheCache(t *testing.T) {
	t.Parallel()
	s := newPodStore(t)
	p := mustCreate(t, s, newPod("ns", "a", map[string]string{"k": "v"}))
	l := listPods(t, s, ListOptions{ResourceVersion: p.ResourceVersion})
	l.Items[0].Name, l.Items[0].ResourceVersion, l.Items[0].ManagedFields = "changed", "1", nil
	got, err := s.Get(t.Context(), s.Key("ns", "a"), GetOptions{ResourceVersion: "0"})
	if err != nil {
		t.Fatal(err)
	}
	got.(*corev1.Pod).Labels["k"] = "changed" // Get returns a deep copy
	again := listPods(t, s, ListOptions{ResourceVersion: "0"})
	if q := again.Items[0]; q.Name != "a" || q.ResourceVersion != p.ResourceVersion || q.Labels["k"] != "v" {
		t.Errorf("cache changed by its readers: %s rv %s labels %v", q.Name, q.ResourceVersion, q.Labels)
	}
}
