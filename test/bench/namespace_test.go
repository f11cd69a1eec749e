package bench

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// BenchmarkNamespaceDeletion100x50 fills 100 namespaces with 50 objects each (25 configmaps
// and 25 secrets) and deletes them all at once: the time until the namespace controller has
// emptied and removed every one, and the server's CPU time over it.
func BenchmarkNamespaceDeletion100x50(b *testing.B) {
	const namespaces, perKind = 100, 25
	for range b.N {
		p := startServer(b, startOptions{})
		ctx, cancel := context.WithTimeout(b.Context(), 10*time.Minute)
		defer cancel()
		c := p.client(mediaPB)
		var names []string
		for range namespaces {
			names = append(names, createNamespace(ctx, b, c, "nsdel"))
		}
		parallel(ctx, b, namespaces*perKind, 16, func(ctx context.Context, i int) error {
			ns, j := names[i/perKind], i%perKind
			meta := metav1.ObjectMeta{Name: fmt.Sprintf("obj-%02d", j)}
			if _, err := c.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: meta}, metav1.CreateOptions{}); err != nil {
				return err
			}
			_, err := c.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{ObjectMeta: meta}, metav1.CreateOptions{})
			return err
		})
		cpu0, start := deployCPUSeconds(b, p), time.Now()
		parallel(ctx, b, namespaces, 16, func(ctx context.Context, i int) error {
			return c.CoreV1().Namespaces().Delete(ctx, names[i], metav1.DeleteOptions{})
		})
		for {
			list, err := c.CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
			if err != nil {
				b.Fatal(err)
			}
			left := 0
			for _, ns := range list.Items {
				for _, n := range names {
					if ns.Name == n {
						left++
					}
				}
			}
			if left == 0 {
				break
			}
			if ctx.Err() != nil {
				b.Fatalf("%d namespaces still there after 10 minutes", left)
			}
			time.Sleep(100 * time.Millisecond)
		}
		b.ReportMetric(time.Since(start).Seconds(), "delete-s")
		b.ReportMetric(deployCPUSeconds(b, p)-cpu0, "server-cpu-s")
		p.stop()
	}
}
