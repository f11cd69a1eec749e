package bench

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// encodings are the client-go content types the pod benchmarks run with.
var encodings = []struct{ name, contentType string }{
	{"json", ""},
	{"protobuf", mediaPB},
}

// smallPod is a minimal valid pod: one container, image "pause".
func smallPod(name string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app": "bench"}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "pause", Image: "pause"}}},
	}
}

// crudCount is how many pods BenchmarkPodCRUD creates, gets and updates, one at a time.
const crudCount = 1000

// BenchmarkPodCRUD creates, gets and updates 1,000 pods one request at a time from one
// client-go client, and reports p50/p99/max latency and requests per second of each verb.
func BenchmarkPodCRUD(b *testing.B) {
	for _, enc := range encodings {
		b.Run(enc.name, func(b *testing.B) {
			for range b.N {
				p := startServer(b, startOptions{})
				ctx, cancel := context.WithTimeout(b.Context(), 5*time.Minute)
				defer cancel()
				c := p.client(enc.contentType)
				ns := createNamespace(ctx, b, c, "crud")
				pods := c.CoreV1().Pods(ns)
				warmUp(ctx, b, func(i int) error {
					_, err := pods.Create(ctx, smallPod(fmt.Sprintf("warm-%d", i)), metav1.CreateOptions{})
					return err
				})

				var create, get, update latencies
				created := make([]*corev1.Pod, crudCount)
				t0 := time.Now()
				for i := range crudCount {
					start := time.Now()
					pod, err := pods.Create(ctx, smallPod(fmt.Sprintf("pod-%05d", i)), metav1.CreateOptions{})
					if err != nil {
						b.Fatalf("create: %v", err)
					}
					create.add(time.Since(start))
					created[i] = pod
				}
				createRate := crudCount / time.Since(t0).Seconds()

				t0 = time.Now()
				for i := range crudCount {
					start := time.Now()
					pod, err := pods.Get(ctx, created[i].Name, metav1.GetOptions{})
					if err != nil {
						b.Fatalf("get: %v", err)
					}
					get.add(time.Since(start))
					created[i] = pod
				}
				getRate := crudCount / time.Since(t0).Seconds()

				// Controllers in the server (the scheduler marking pods unschedulable) may
				// write a pod between our get and update: a conflict is retried from a
				// fresh get, and only the successful update is timed.
				conflicts := 0
				t0 = time.Now()
				for i := range crudCount {
					pod := created[i]
					for attempt := 0; ; attempt++ {
						pod.Labels["round"] = "1"
						start := time.Now()
						_, err := pods.Update(ctx, pod, metav1.UpdateOptions{})
						if err == nil {
							update.add(time.Since(start))
							break
						}
						if !apierrors.IsConflict(err) || attempt == 5 {
							b.Fatalf("update: %v", err)
						}
						conflicts++
						if pod, err = pods.Get(ctx, pod.Name, metav1.GetOptions{}); err != nil {
							b.Fatalf("get: %v", err)
						}
					}
				}
				updateRate := crudCount / time.Since(t0).Seconds()

				hideNsPerOp(b)
				create.report(b, "create-")
				get.report(b, "get-")
				update.report(b, "update-")
				b.ReportMetric(createRate, "creates/s")
				b.ReportMetric(getRate, "gets/s")
				b.ReportMetric(updateRate, "updates/s")
				b.ReportMetric(float64(conflicts), "update-conflicts")
				p.stop()
			}
		})
	}
}

// warmUp runs 50 requests so connection set-up and first-use costs are not measured.
func warmUp(ctx context.Context, b *testing.B, fn func(i int) error) {
	b.Helper()
	for i := range 50 {
		if err := fn(i); err != nil {
			b.Fatalf("warm-up: %v", err)
		}
	}
}

// BenchmarkPodCreateThroughput creates pods from 16 goroutines sharing one client for up to
// 10 s or 10,000 pods, and reports creates per second and the latency under that load.
func BenchmarkPodCreateThroughput(b *testing.B) {
	const (
		workers  = 16
		maxPods  = 10000
		duration = 10 * time.Second
	)
	for _, enc := range encodings {
		b.Run(enc.name, func(b *testing.B) {
			for range b.N {
				p := startServer(b, startOptions{})
				ctx, cancel := context.WithTimeout(b.Context(), 2*time.Minute)
				defer cancel()
				c := p.client(enc.contentType)
				ns := createNamespace(ctx, b, c, "tput")
				pods := c.CoreV1().Pods(ns)
				warmUp(ctx, b, func(i int) error {
					_, err := pods.Create(ctx, smallPod(fmt.Sprintf("warm-%d", i)), metav1.CreateOptions{})
					return err
				})

				var lat latencies
				var next atomic.Int64
				var failed atomic.Pointer[error]
				deadline := time.Now().Add(duration)
				t0 := time.Now()
				var wg sync.WaitGroup
				for range workers {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for time.Now().Before(deadline) && failed.Load() == nil {
							i := next.Add(1) - 1
							if i >= maxPods {
								return
							}
							start := time.Now()
							if _, err := pods.Create(ctx, smallPod(fmt.Sprintf("pod-%05d", i)), metav1.CreateOptions{}); err != nil {
								failed.CompareAndSwap(nil, &err)
								return
							}
							lat.add(time.Since(start))
						}
					}()
				}
				wg.Wait()
				elapsed := time.Since(t0)
				if err := failed.Load(); err != nil {
					b.Fatalf("create: %v", *err)
				}
				hideNsPerOp(b)
				b.ReportMetric(float64(lat.count())/elapsed.Seconds(), "creates/s")
				lat.report(b, "create-")
				p.stop()
			}
		})
	}
}

// BenchmarkPodCreatePaced200 creates pods at a steady 200 per second for 10 s (2,000 pods),
// open loop: each create starts on schedule in its own goroutine whether or not earlier ones
// have finished, and its latency is counted from its scheduled start, so a server that falls
// behind shows up as latency rather than as a lower rate. Target: create p99 < 20 ms.
func BenchmarkPodCreatePaced200(b *testing.B) {
	const (
		rate     = 200
		duration = 10 * time.Second
		total    = int(rate * duration / time.Second)
		interval = time.Second / rate
	)
	for _, enc := range encodings {
		b.Run(enc.name, func(b *testing.B) {
			for range b.N {
				p := startServer(b, startOptions{})
				ctx, cancel := context.WithTimeout(b.Context(), 2*time.Minute)
				defer cancel()
				c := p.client(enc.contentType)
				ns := createNamespace(ctx, b, c, "paced")
				pods := c.CoreV1().Pods(ns)
				warmUp(ctx, b, func(i int) error {
					_, err := pods.Create(ctx, smallPod(fmt.Sprintf("warm-%d", i)), metav1.CreateOptions{})
					return err
				})

				var lat latencies
				var failures atomic.Int64
				var firstErr atomic.Pointer[error]
				var wg sync.WaitGroup
				t0 := time.Now()
				for i := range total {
					due := t0.Add(time.Duration(i) * interval)
					time.Sleep(time.Until(due))
					if ctx.Err() != nil {
						break
					}
					wg.Add(1)
					go func() {
						defer wg.Done()
						if _, err := pods.Create(ctx, smallPod(fmt.Sprintf("pod-%05d", i)), metav1.CreateOptions{}); err != nil {
							failures.Add(1)
							firstErr.CompareAndSwap(nil, &err)
							return
						}
						lat.add(time.Since(due))
					}()
				}
				wg.Wait()
				elapsed := time.Since(t0)
				if err := firstErr.Load(); err != nil {
					b.Fatalf("%d creates failed, first: %v", failures.Load(), *err)
				}
				hideNsPerOp(b)
				b.ReportMetric(float64(lat.count())/elapsed.Seconds(), "creates/s")
				lat.report(b, "create-")
				p.stop()
			}
		})
	}
}
