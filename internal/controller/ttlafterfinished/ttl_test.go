package ttlafterfinished

import (
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	clocktesting "k8s.io/utils/clock/testing"
)

var t0 = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

func job(name string, ttl *int32, cond batchv1.JobConditionType, finishedAgo time.Duration) *batchv1.Job {
	j := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", ResourceVersion: "1"}}
	j.Spec.TTLSecondsAfterFinished = ttl
	if cond != "" {
		j.Status.Conditions = []batchv1.JobCondition{{Type: cond, Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(t0.Add(-finishedAgo))}}
	}
	return j
}

func ttl(s int32) *int32 { return &s }

func TestTimeLeft(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		job    *batchv1.Job
		ok     bool
		left   time.Duration
		hasErr bool
	}{
		{"a running job needs no cleanup", job("a", ttl(10), "", 0), false, 0, false},
		{"a finished job without a TTL stays", job("b", nil, batchv1.JobComplete, time.Hour), false, 0, false},
		{"a completed job waits out its TTL", job("c", ttl(100), batchv1.JobComplete, 40*time.Second), true, 60 * time.Second, false},
		{"a failed job past its TTL is due", job("d", ttl(10), batchv1.JobFailed, time.Minute), true, -50 * time.Second, false},
		{"a zero TTL is due at once", job("e", ttl(0), batchv1.JobComplete, 0), true, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			left, ok, err := timeLeft(tc.job, t0)
			if ok != tc.ok || left != tc.left || (err != nil) != tc.hasErr {
				t.Errorf("timeLeft = %v, %v, %v; want %v, %v, err %v", left, ok, err, tc.left, tc.ok, tc.hasErr)
			}
		})
	}
	noTime := job("f", ttl(1), batchv1.JobComplete, 0)
	noTime.Status.Conditions[0].LastTransitionTime = metav1.Time{}
	if _, _, err := timeLeft(noTime, t0); err == nil {
		t.Error("a finish condition without a time is not an error")
	}
}

func TestSyncDeletesOnlyExpiredJobs(t *testing.T) {
	t.Parallel()
	client := fake.NewClientset(job("expired", ttl(5), batchv1.JobComplete, time.Minute), job("young", ttl(300), batchv1.JobComplete, time.Minute))
	f := informers.NewSharedInformerFactory(client, 0)
	c, err := New(Options{Client: client, Informers: f, Clock: clocktesting.NewFakeClock(t0)})
	if err != nil {
		t.Fatal(err)
	}
	f.Start(t.Context().Done())
	f.WaitForCacheSync(t.Context().Done())
	if err := c.sync(t.Context(), "ns/expired"); err != nil {
		t.Fatal(err)
	}
	if _, err := client.BatchV1().Jobs("ns").Get(t.Context(), "expired", metav1.GetOptions{}); err == nil {
		t.Error("expired job not deleted")
	}
	err = c.sync(t.Context(), "ns/young")
	if err == nil || !strings.Contains(err.Error(), "requeue after 4m0s") {
		t.Errorf("young job: %v, want a requeue after 4m", err)
	}
	if _, err := client.BatchV1().Jobs("ns").Get(t.Context(), "young", metav1.GetOptions{}); err != nil {
		t.Errorf("young job deleted: %v", err)
	}
}
