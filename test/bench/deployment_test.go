package bench

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/ptr"
)

// deployReplicas is the size of the Deployment BenchmarkDeployment1000 drives.
const deployReplicas = 1000

// BenchmarkDeployment1000 drives one Deployment through the controllers of `capstan
// server`: scaled from 1 to 1,000 replicas, rolled to a new pod template (default 25%
// surge and unavailability) and scaled to zero. With no kubelet, the benchmark plays one:
// it marks every new pod Running and Ready as soon as it sees it. Each step is timed from
// the API write to the deployment reporting it done (all replicas updated and available;
// for zero, no pods left), with the server's CPU time over the step; the server's peak RSS
// is reported at the end.
func BenchmarkDeployment1000(b *testing.B) {
	for range b.N {
		p := startServer(b, startOptions{})
		ctx, cancel := context.WithTimeout(b.Context(), 10*time.Minute)
		defer cancel()
		c := p.client(mediaPB)
		ns := createNamespace(ctx, b, c, "deploy")
		stopKubelet := deployFakeKubelet(ctx, b, c, ns)
		defer stopKubelet()

		deployments := c.AppsV1().Deployments(ns)
		sel := map[string]string{"app": "bench"}
		_, err := deployments.Create(ctx, &appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{Name: "bench"},
			Spec: appsv1.DeploymentSpec{
				Replicas: ptr.To[int32](1),
				Selector: &metav1.LabelSelector{MatchLabels: sel},
				Template: corev1.PodTemplateSpec{
					ObjectMeta: metav1.ObjectMeta{Labels: sel},
					Spec:       smallPod("").Spec,
				},
			},
		}, metav1.CreateOptions{})
		if err != nil {
			b.Fatalf("creating the deployment: %v", err)
		}
		deployWaitDone(ctx, b, c, ns, 1)

		step := func(name string, change string, replicas int32) {
			cpu0, t0 := deployCPUSeconds(b, p), time.Now()
			if _, err := deployments.Patch(ctx, "bench", types.StrategicMergePatchType, []byte(change), metav1.PatchOptions{}); err != nil {
				b.Fatalf("%s: %v", name, err)
			}
			deployWaitDone(ctx, b, c, ns, replicas)
			d := time.Since(t0)
			b.ReportMetric(d.Seconds(), name+"-s")
			b.ReportMetric(deployCPUSeconds(b, p)-cpu0, name+"-server-cpu-s")
		}
		step("scale-up", fmt.Sprintf(`{"spec":{"replicas":%d}}`, deployReplicas), deployReplicas)
		step("rollout", `{"spec":{"template":{"spec":{"containers":[{"name":"pause","image":"pause:2"}]}}}}`, deployReplicas)
		step("scale-zero", `{"spec":{"replicas":0}}`, 0)
		_, hwm := p.rssMiB()
		b.ReportMetric(hwm, "server-peak-rss-MiB")
		hideNsPerOp(b)
	}
}

// deployWaitDone polls the deployment until it has observed its spec and runs replicas
// updated, available pods, and (for zero) until no pod is left.
func deployWaitDone(ctx context.Context, b *testing.B, c kubernetes.Interface, ns string, replicas int32) {
	b.Helper()
	for {
		d, err := c.AppsV1().Deployments(ns).Get(ctx, "bench", metav1.GetOptions{})
		if err != nil {
			b.Fatalf("getting the deployment: %v", err)
		}
		st := d.Status
		if st.ObservedGeneration >= d.Generation && st.Replicas == replicas && st.UpdatedReplicas == replicas && st.AvailableReplicas == replicas {
			if replicas > 0 {
				return
			}
			pods, err := c.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{Limit: 1})
			if err != nil {
				b.Fatalf("listing pods: %v", err)
			}
			if len(pods.Items) == 0 {
				return
			}
		}
		select {
		case <-ctx.Done():
			b.Fatalf("deployment not done (want %d replicas): status %+v", replicas, st)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// deployFakeKubelet marks every pod of ns Running and Ready as soon as it is seen, from 32
// workers, until the returned stop is called.
func deployFakeKubelet(ctx context.Context, b *testing.B, c kubernetes.Interface, ns string) (stop func()) {
	b.Helper()
	ctx, cancel := context.WithCancel(ctx)
	factory := informers.NewSharedInformerFactoryWithOptions(c, 0, informers.WithNamespace(ns))
	inf := factory.Core().V1().Pods().Informer()
	queue := workqueue.NewTyped[string]()
	enqueue := func(obj any) {
		if p, ok := obj.(*corev1.Pod); ok && p.DeletionTimestamp == nil && !deployPodReady(p) {
			queue.Add(p.Name)
		}
	}
	if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    enqueue,
		UpdateFunc: func(_, obj any) { enqueue(obj) },
	}); err != nil {
		b.Fatal(err)
	}
	factory.Start(ctx.Done())
	cache.WaitForCacheSync(ctx.Done(), inf.HasSynced)
	var wg sync.WaitGroup
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				name, quit := queue.Get()
				if quit {
					return
				}
				if err := deployMarkReady(ctx, c, ns, name); err != nil && ctx.Err() == nil {
					queue.Add(name) // retried; a conflict only means a newer version
				}
				queue.Done(name)
			}
		}()
	}
	return func() {
		cancel()
		queue.ShutDown()
		wg.Wait()
		factory.Shutdown()
	}
}

func deployPodReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func deployMarkReady(ctx context.Context, c kubernetes.Interface, ns, name string) error {
	p, err := c.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if p.DeletionTimestamp != nil || deployPodReady(p) {
		return nil
	}
	now := metav1.Now()
	p.Status.Phase = corev1.PodRunning
	p.Status.Conditions = []corev1.PodCondition{
		{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: now},
		{Type: corev1.ContainersReady, Status: corev1.ConditionTrue, LastTransitionTime: now},
	}
	_, err = c.CoreV1().Pods(ns).UpdateStatus(ctx, p, metav1.UpdateOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

// deployCPUSeconds is the server process's user+system CPU time.
func deployCPUSeconds(b *testing.B, p *serverProcess) float64 {
	b.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.cmd.Process.Pid))
	if err != nil {
		b.Fatalf("reading server cpu time: %v", err)
	}
	// The fields after the command name, which may hold spaces, start after ")".
	f := strings.Fields(string(data[bytes.LastIndexByte(data, ')')+2:]))
	utime, _ := strconv.ParseFloat(f[11], 64)
	stime, _ := strconv.ParseFloat(f[12], 64)
	return (utime + stime) / 100 // USER_HZ
}
