package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
)

const (
	watchers    = 1000
	watchEvents = 100
	// watchDeadline bounds the whole delivery; a watcher still short of events then fails
	// the benchmark.
	watchDeadline = 3 * time.Minute
)

// BenchmarkWatchFanout opens 1,000 concurrent watches on the pods of one namespace, then
// creates 100 pods one after another and waits until every watcher has seen every ADDED
// event (100,000 deliveries). It reports the delivery latency of every (watcher, event)
// pair, counted from just before the create request was sent, the time until the last
// watcher had each event, and the total from the first create to the last delivery.
//
// Sub-benchmarks: "raw" reads each JSON watch stream and picks out only the pod name, so
// the client spends little CPU on the shared cores; "client-go" uses the typed Watch, which
// decodes every event into a Pod, as informers do.
func BenchmarkWatchFanout(b *testing.B) {
	b.Run("raw", func(b *testing.B) { benchWatchFanout(b, rawWatch) })
	b.Run("client-go", func(b *testing.B) { benchWatchFanout(b, typedWatch) })
}

// watchFunc starts one watch from rv and calls seen with the index of each pod added. It
// returns once the watch is established; the stream is read in the background until ctx
// ends.
type watchFunc func(ctx context.Context, c kubernetes.Interface, ns, rv string, seen func(i int)) error

func benchWatchFanout(b *testing.B, start watchFunc) {
	for range b.N {
		p := startServer(b, startOptions{})
		ctx, cancel := context.WithTimeout(b.Context(), watchDeadline+time.Minute)
		defer cancel()
		c := p.client("")
		ns := createNamespace(ctx, b, c, "fanout")
		list, err := c.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			b.Fatal(err)
		}
		rssBefore, _ := p.rssMiB()

		var sent [watchEvents]atomic.Int64 // unix nanoseconds just before each create
		var lastSeen [watchEvents]atomic.Int64
		var remaining [watchEvents]atomic.Int32
		for i := range remaining {
			remaining[i].Store(watchers)
		}
		var all latencies
		all.d = make([]time.Duration, 0, watchers*watchEvents)
		var done sync.WaitGroup
		watchCtx, stopWatches := context.WithCancel(ctx)
		defer stopWatches()

		t0 := time.Now()
		var established sync.WaitGroup
		var startErr atomic.Pointer[error]
		sem := make(chan struct{}, 50) // open watches 50 at a time
		for range watchers {
			done.Add(1)
			established.Add(1)
			sem <- struct{}{}
			go func() {
				defer func() { <-sem }()
				defer established.Done()
				count := 0
				err := start(watchCtx, c, ns, list.ResourceVersion, func(i int) {
					if i < 0 || i >= watchEvents {
						return
					}
					now := time.Now()
					all.add(now.Sub(time.Unix(0, sent[i].Load())))
					if remaining[i].Add(-1) == 0 {
						lastSeen[i].Store(now.UnixNano())
					}
					if count++; count == watchEvents {
						done.Done()
					}
				})
				if err != nil {
					startErr.CompareAndSwap(nil, &err)
					done.Done()
				}
			}()
		}
		established.Wait()
		if err := startErr.Load(); err != nil {
			b.Fatalf("starting watches: %v", *err)
		}
		setup := time.Since(t0)
		rssWatching, _ := p.rssMiB()

		first := time.Now()
		for i := range watchEvents {
			sent[i].Store(time.Now().UnixNano())
			if _, err := c.CoreV1().Pods(ns).Create(ctx, smallPod(fmt.Sprintf("pod-%05d", i)), metav1.CreateOptions{}); err != nil {
				b.Fatalf("create: %v", err)
			}
		}
		createsDone := time.Since(first)
		finished := make(chan struct{})
		go func() { done.Wait(); close(finished) }()
		select {
		case <-finished:
		case <-time.After(watchDeadline):
			b.Fatalf("after %v only %d of %d deliveries", watchDeadline, all.count(), watchers*watchEvents)
		}
		total := time.Since(first)
		rssAfter, _ := p.rssMiB()
		stopWatches()

		var fanout []time.Duration
		for i := range watchEvents {
			fanout = append(fanout, time.Duration(lastSeen[i].Load()-sent[i].Load()))
		}
		hideNsPerOp(b)
		all.report(b, "delivery-")
		b.ReportMetric(percentileMs(fanout, 50), "all-seen-p50-ms")
		b.ReportMetric(percentileMs(fanout, 99), "all-seen-p99-ms")
		b.ReportMetric(ms(total), "total-ms")
		b.ReportMetric(ms(createsDone), "creates-ms")
		b.ReportMetric(float64(all.count())/total.Seconds(), "deliveries/s")
		b.ReportMetric(ms(setup), "watch-setup-ms")
		b.ReportMetric(rssBefore, "rss-before-MiB")
		b.ReportMetric(rssWatching, "rss-watching-MiB")
		b.ReportMetric(rssAfter, "rss-after-MiB")
		p.stop()
	}
}

// podIndex parses the index out of a pod name "pod-NNNNN", or returns -1.
func podIndex(name []byte) int {
	rest, ok := bytes.CutPrefix(name, []byte("pod-"))
	if !ok {
		return -1
	}
	i, err := strconv.Atoi(string(rest))
	if err != nil {
		return -1
	}
	return i
}

var nameMarker = []byte(`"metadata":{"name":"`)

// rawWatch reads the newline-delimited JSON stream and finds each event's metadata.name
// with a byte search, falling back to a small JSON decode.
func rawWatch(ctx context.Context, c kubernetes.Interface, ns, rv string, seen func(int)) error {
	body, err := c.CoreV1().RESTClient().Get().Namespace(ns).Resource("pods").
		Param("watch", "true").Param("resourceVersion", rv).Param("timeoutSeconds", "600").
		SetHeader("Accept", "application/json").Stream(ctx)
	if err != nil {
		return err
	}
	go func() {
		defer body.Close()
		r := bufio.NewReaderSize(body, 64<<10)
		for {
			line, err := r.ReadBytes('\n')
			if err != nil {
				if err != io.EOF && ctx.Err() == nil {
					seen(-1)
				}
				return
			}
			if !bytes.Contains(line[:min(len(line), 40)], []byte(`"ADDED"`)) {
				continue
			}
			if j := bytes.Index(line, nameMarker); j >= 0 {
				name := line[j+len(nameMarker):]
				if k := bytes.IndexByte(name, '"'); k >= 0 {
					seen(podIndex(name[:k]))
					continue
				}
			}
			var ev struct {
				Object struct {
					Metadata struct{ Name string } `json:"metadata"`
				} `json:"object"`
			}
			if json.Unmarshal(line, &ev) == nil {
				seen(podIndex([]byte(ev.Object.Metadata.Name)))
			}
		}
	}()
	return nil
}

// typedWatch is client-go's typed watch: every event decoded into a *corev1.Pod.
func typedWatch(ctx context.Context, c kubernetes.Interface, ns, rv string, seen func(int)) error {
	timeout := int64(600)
	w, err := c.CoreV1().Pods(ns).Watch(ctx, metav1.ListOptions{ResourceVersion: rv, TimeoutSeconds: &timeout})
	if err != nil {
		return err
	}
	go func() {
		defer w.Stop()
		for ev := range w.ResultChan() {
			if ev.Type != watch.Added {
				continue
			}
			if m, err := metaOf(ev.Object); err == nil {
				seen(podIndex([]byte(m.GetName())))
			}
		}
	}()
	return nil
}

func metaOf(obj any) (metav1.Object, error) {
	m, ok := obj.(metav1.Object)
	if !ok {
		return nil, fmt.Errorf("%T has no object metadata", obj)
	}
	return m, nil
}
