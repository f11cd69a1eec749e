package bench

import (
	"context"
	"fmt"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

const (
	listPods  = 10000
	listCalls = 10
	// acceptTable is what kubectl get sends.
	acceptTable = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"
)

// BenchmarkPodList10k creates 10,000 pods in one namespace (16 clients in parallel), then
// times 10 full list calls (no limit) per way of asking: typed client-go with JSON and with
// protobuf (request and decode), and raw requests that only read the bytes, for JSON,
// protobuf and as=Table (what kubectl get asks for). Target: < 150 ms.
func BenchmarkPodList10k(b *testing.B) {
	for range b.N {
		p := startServer(b, startOptions{})
		ctx, cancel := context.WithTimeout(b.Context(), 10*time.Minute)
		defer cancel()
		jsonClient := p.client("")
		pbClient := p.client(mediaPB)
		ns := createNamespace(ctx, b, jsonClient, "list")
		t0 := time.Now()
		parallel(ctx, b, listPods, 16, func(ctx context.Context, i int) error {
			_, err := pbClient.CoreV1().Pods(ns).Create(ctx, smallPod(fmt.Sprintf("pod-%05d", i)), metav1.CreateOptions{})
			return err
		})
		fillRate := listPods / time.Since(t0).Seconds()

		hideNsPerOp(b)
		b.ReportMetric(fillRate, "fill-creates/s")
		typed := func(c kubernetes.Interface) func() (int, error) {
			return func() (int, error) {
				l, err := c.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
				if err != nil {
					return 0, err
				}
				return len(l.Items), nil
			}
		}
		raw := func(accept string) func() (int, error) {
			return func() (int, error) {
				data, err := jsonClient.CoreV1().RESTClient().Get().Namespace(ns).Resource("pods").
					SetHeader("Accept", accept).DoRaw(ctx)
				return len(data), err
			}
		}
		for _, tc := range []struct {
			name string
			call func() (int, error)
			// items says whether call returns the item count (else the body size).
			items bool
		}{
			{"json-", typed(jsonClient), true},
			{"protobuf-", typed(pbClient), true},
			{"json-raw-", raw("application/json"), false},
			{"protobuf-raw-", raw(mediaPB), false},
			{"table-raw-", raw(acceptTable), false},
		} {
			var lat latencies
			size := 0
			for i := range listCalls + 1 {
				start := time.Now()
				n, err := tc.call()
				if err != nil {
					b.Fatalf("list %s: %v", tc.name, err)
				}
				if tc.items && n != listPods {
					b.Fatalf("list %s: %d pods, want %d", tc.name, n, listPods)
				}
				if i == 0 {
					size = n // the first call warms up and is not timed
					continue
				}
				lat.add(time.Since(start))
			}
			b.ReportMetric(lat.percentile(50), tc.name+"p50-ms")
			b.ReportMetric(lat.percentile(100), tc.name+"max-ms")
			if !tc.items {
				b.ReportMetric(float64(size)/(1<<20), tc.name+"MiB")
			}
		}
		rss, _ := p.rssMiB()
		b.ReportMetric(rss, "server-rss-MiB")
		p.stop()
	}
}
