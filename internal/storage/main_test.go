package storage

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/runtime/serializer/protobuf"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apimachinery/pkg/watch"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"

	"capstan/internal/etcd"
)

// sharedEndpoints is the package's etcd member. Tests that compact etcd start their own,
// since compaction would break other tests' reads of old revisions.
var sharedEndpoints []string

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "storage-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	srv, err := etcd.Start(context.Background(), etcd.Options{
		DataDir: dir, ClientURL: "http://127.0.0.1:0", PeerURL: "http://127.0.0.1:0", Logger: quietLogger(),
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer srv.Close()
	sharedEndpoints = srv.Endpoints()
	return m.Run()
}

func quietLogger() *slog.Logger {
	if os.Getenv("STORAGE_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// startEtcd starts a member for one test.
func startEtcd(t testing.TB) []string {
	t.Helper()
	srv, err := etcd.Start(t.Context(), etcd.Options{
		DataDir: t.TempDir(), ClientURL: "http://127.0.0.1:0", PeerURL: "http://127.0.0.1:0", Logger: quietLogger(),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	return srv.Endpoints()
}

func newClient(t testing.TB, endpoints []string) *clientv3.Client {
	t.Helper()
	c, err := etcd.NewClient(etcd.ClientOptions{Endpoints: endpoints})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// podCodec is the storage codec the API server uses: protobuf with the k8s\x00 envelope.
func podCodec() runtime.Codec {
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		panic(err)
	}
	pb := protobuf.NewSerializer(scheme, scheme)
	return serializer.NewCodecFactory(scheme).CodecForVersions(pb, pb, corev1.SchemeGroupVersion, corev1.SchemeGroupVersion)
}

func podAttrs(obj runtime.Object) (labels.Set, fields.Set, error) {
	p, ok := obj.(*corev1.Pod)
	if !ok {
		return nil, nil, fmt.Errorf("not a pod: %T", obj)
	}
	return labels.Set(p.Labels), fields.Set{
		"metadata.name":      p.Name,
		"metadata.namespace": p.Namespace,
		"spec.nodeName":      p.Spec.NodeName,
	}, nil
}

// podOptions are Options for a pod store with a prefix of its own in etcd at endpoints.
func podOptions(t testing.TB, endpoints []string) Options {
	name := strings.NewReplacer("/", "-", " ", "_").Replace(t.Name())
	return Options{
		Client:      newClient(t, endpoints),
		Codec:       podCodec(),
		Resource:    schema.GroupResource{Resource: "pods"},
		Prefix:      fmt.Sprintf("/registry/%s-%d/pods", name, rand.Int64()),
		NewFunc:     func() runtime.Object { return &corev1.Pod{} },
		NewListFunc: func() runtime.Object { return &corev1.PodList{} },
		AttrFunc:    podAttrs,
		Logger:      quietLogger(),
	}
}

func startStore(t testing.TB, opts Options) *Store {
	t.Helper()
	s, err := New(t.Context(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return s
}

// newPodStore is a pod store on the shared etcd member.
func newPodStore(t testing.TB, mutate ...func(*Options)) *Store {
	t.Helper()
	opts := podOptions(t, sharedEndpoints)
	for _, m := range mutate {
		m(&opts)
	}
	return startStore(t, opts)
}

func newPod(ns, name string, lbls map[string]string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: lbls, UID: types.UID("uid-" + ns + "-" + name)},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}},
	}
}

func mustCreate(t testing.TB, s *Store, p *corev1.Pod) *corev1.Pod {
	t.Helper()
	out, err := s.Create(t.Context(), s.Key(p.Namespace, p.Name), p, 0)
	if err != nil {
		t.Fatalf("create %s/%s: %v", p.Namespace, p.Name, err)
	}
	return out.(*corev1.Pod)
}

// setLabel updates one label of a pod.
func setLabel(t testing.TB, s *Store, ns, name, k, v string) *corev1.Pod {
	t.Helper()
	out, err := s.GuaranteedUpdate(t.Context(), s.Key(ns, name), nil, false, func(obj runtime.Object) (runtime.Object, error) {
		p := obj.(*corev1.Pod)
		if p.Labels == nil {
			p.Labels = map[string]string{}
		}
		p.Labels[k] = v
		return p, nil
	})
	if err != nil {
		t.Fatalf("update %s/%s: %v", ns, name, err)
	}
	return out.(*corev1.Pod)
}

func mustDelete(t testing.TB, s *Store, ns, name string) *corev1.Pod {
	t.Helper()
	out, err := s.Delete(t.Context(), s.Key(ns, name), nil, nil)
	if err != nil {
		t.Fatalf("delete %s/%s: %v", ns, name, err)
	}
	return out.(*corev1.Pod)
}

func listPods(t testing.TB, s *Store, opts ListOptions) *corev1.PodList {
	t.Helper()
	out, err := s.List(t.Context(), opts)
	if err != nil {
		t.Fatalf("list %+v: %v", opts, err)
	}
	return out.(*corev1.PodList)
}

func names(l *corev1.PodList) []string {
	var out []string
	for _, p := range l.Items {
		out = append(out, p.Namespace+"/"+p.Name)
	}
	return out
}

// eventually polls cond until it holds or 10s pass.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	err := wait.PollUntilContextTimeout(t.Context(), 5*time.Millisecond, 10*time.Second, true,
		func(context.Context) (bool, error) { return cond(), nil })
	if err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
}

// next returns the next event of w, failing after 10s.
func next(t testing.TB, w watch.Interface) watch.Event {
	t.Helper()
	select {
	case ev, ok := <-w.ResultChan():
		if !ok {
			t.Fatal("watch closed, want an event")
		}
		return ev
	case <-time.After(10 * time.Second):
		t.Fatal("no event within 10s")
	}
	return watch.Event{}
}

// podEvent describes an event as "TYPE ns/name rv".
func podEvent(ev watch.Event) string {
	if p, ok := ev.Object.(*corev1.Pod); ok {
		return fmt.Sprintf("%s %s/%s %s", ev.Type, p.Namespace, p.Name, p.ResourceVersion)
	}
	return fmt.Sprintf("%s %T", ev.Type, ev.Object)
}

// waitClosed fails unless w's channel closes within 10s; it returns the events drained.
func waitClosed(t testing.TB, w watch.Interface) int {
	t.Helper()
	n := 0
	timeout := time.After(10 * time.Second)
	for {
		select {
		case _, ok := <-w.ResultChan():
			if !ok {
				return n
			}
			n++
		case <-timeout:
			t.Fatal("watch not closed within 10s")
		}
	}
}
