package bench

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// idleWait is how long the server idles after ready (or after the configmaps) before its
// RSS is read, so start-up garbage has been collected.
const idleWait = 10 * time.Second

// BenchmarkServerRSS reads the resident set size of `capstan server --disable-agent` (etcd
// and the API server, no agent) idle 10 s after ready, then again 10 s after creating 1,000
// configmaps. Target: idle < 80 MiB.
func BenchmarkServerRSS(b *testing.B) {
	for range b.N {
		p := startServer(b, startOptions{})
		time.Sleep(idleWait)
		idle, idlePeak := p.rssMiB()

		ctx, cancel := context.WithTimeout(b.Context(), 2*time.Minute)
		defer cancel()
		c := p.client("")
		ns := createNamespace(ctx, b, c, "rss")
		createConfigMaps(ctx, b, c, ns, 1000)
		time.Sleep(idleWait)
		after, afterPeak := p.rssMiB()

		hideNsPerOp(b)
		b.ReportMetric(idle, "idle-MiB")
		b.ReportMetric(idlePeak, "idle-peak-MiB")
		b.ReportMetric(after, "1k-cm-MiB")
		b.ReportMetric(afterPeak, "1k-cm-peak-MiB")
		p.stop()
	}
}

func createConfigMaps(ctx context.Context, b *testing.B, c kubernetes.Interface, ns string, n int) {
	b.Helper()
	parallel(ctx, b, n, 16, func(ctx context.Context, i int) error {
		cm := &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("cm-%05d", i), Labels: map[string]string{"app": "bench"}},
			Data:       map[string]string{"key": fmt.Sprintf("value-%d", i), "config.yaml": "a: 1\nb: two\nc: [3, 4]\n"},
		}
		_, err := c.CoreV1().ConfigMaps(ns).Create(ctx, cm, metav1.CreateOptions{})
		return err
	})
}

// createNamespace creates a namespace named prefix-<random suffix> and returns its name.
func createNamespace(ctx context.Context, b *testing.B, c kubernetes.Interface, prefix string) string {
	b.Helper()
	ns, err := c.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{
		ObjectMeta: metav1.ObjectMeta{GenerateName: prefix + "-"},
	}, metav1.CreateOptions{})
	if err != nil {
		b.Fatalf("creating namespace: %v", err)
	}
	return ns.Name
}

// parallel runs fn(i) for i in [0, n) on workers goroutines and fails b on the first error.
func parallel(ctx context.Context, b *testing.B, n, workers int, fn func(ctx context.Context, i int) error) {
	b.Helper()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	next := make(chan int)
	var (
		wg       sync.WaitGroup
		once     sync.Once
		firstErr error
	)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := fn(ctx, i); err != nil {
					once.Do(func() { firstErr = fmt.Errorf("item %d: %w", i, err); cancel() })
				}
			}
		}()
	}
feed:
	for i := range n {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if firstErr != nil {
		b.Fatal(firstErr)
	}
	if err := ctx.Err(); err != nil && err != context.Canceled {
		b.Fatal(err)
	}
}
