package server

import (
	"net/url"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestParseProcStat(t *testing.T) {
	t.Parallel()
	data := []byte("cpu  100 5 50 9000 40 3 2 1 7 0\ncpu0 50 2 25 4500 20 1 1 0 0 0\nintr 1 2\nbtime 1700000000\n")
	busy, boot, err := parseProcStat(data)
	if err != nil {
		t.Fatal(err)
	}
	// user+nice+system+irq+softirq+steal = 161 ticks of 10 ms.
	if busy != 161*10_000_000 || !boot.Equal(time.Unix(1700000000, 0)) {
		t.Errorf("got %d, %v", busy, boot)
	}
	if _, _, err := parseProcStat([]byte("intr 1\n")); err == nil {
		t.Error("a stat without a cpu line parsed")
	}
}

func TestParseMeminfo(t *testing.T) {
	t.Parallel()
	m := parseMeminfo([]byte("MemTotal:       2048 kB\nMemFree:  1024 kB\nInactive(file):   10 kB\nHugePages_Total:       3\nbad line\n"))
	if m["MemTotal"] != 2048*1024 || m["MemFree"] != 1024*1024 || m["Inactive(file)"] != 10*1024 || m["HugePages_Total"] != 3 {
		t.Errorf("got %v", m)
	}
}

func TestParseNetDev(t *testing.T) {
	t.Parallel()
	data := []byte(`Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:  100  1    0    0    0     0          0         0   100  1    0    0    0     0       0          0
  eth0: 2000  20   3    0    0     0          0         0  4000  40   5    0    0     0       0          0
`)
	got := parseNetDev(data)
	if len(got) != 1 || got[0] != (InterfaceCounters{Name: "eth0", RxBytes: 2000, RxErrors: 3, TxBytes: 4000, TxErrors: 5}) {
		t.Errorf("got %+v", got)
	}
}

func TestParseLogQuery(t *testing.T) {
	t.Parallel()
	now := time.Date(2024, 1, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name     string
		query    string
		want     LogOptions
		previous bool
		wantErr  string
	}{
		{name: "no options reads everything", query: "", want: LogOptions{TailLines: -1}},
		{name: "every option", query: "follow=true&timestamps=1&previous=true&tailLines=10&limitBytes=500&sinceSeconds=60",
			want: LogOptions{Follow: true, Timestamps: true, TailLines: 10, LimitBytes: 500, Since: now.Add(-time.Minute)}, previous: true},
		{name: "since a time", query: "sinceTime=2024-01-01T11:00:00Z",
			want: LogOptions{TailLines: -1, Since: now.Add(-time.Hour)}},
		{name: "one stream", query: "stream=Stdout", want: LogOptions{TailLines: -1, Stream: "stdout"}},
		{name: "both since options", query: "sinceSeconds=5&sinceTime=2024-01-01T11:00:00Z", wantErr: "at most one of sinceTime or sinceSeconds may be specified"},
		{name: "zero limit", query: "limitBytes=0", wantErr: `limitBytes: "0" must be an integer of at least 1`},
		{name: "bad boolean", query: "follow=maybe", wantErr: `follow: "maybe" is not a boolean`},
		{name: "unknown stream", query: "stream=stdin", wantErr: `stream: "stdin" must be All, Stdout or Stderr`},
		{name: "tail of one stream", query: "stream=Stderr&tailLines=1", wantErr: "tailLines cannot be used with a single stream"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, _ := url.ParseQuery(tt.query)
			got, previous, err := parseLogQuery(q, now)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want || previous != tt.previous {
				t.Errorf("got %+v previous=%v, want %+v previous=%v", got, previous, tt.want, tt.previous)
			}
		})
	}
}

func TestLogContainerID(t *testing.T) {
	t.Parallel()
	terminated := func(id string) *corev1.ContainerStateTerminated {
		return &corev1.ContainerStateTerminated{ContainerID: id, FinishedAt: metav1.Now()}
	}
	tests := []struct {
		name     string
		status   *corev1.ContainerStatus
		previous bool
		want     string
		wantErr  string
	}{
		{name: "no status yet", wantErr: `container "c" in pod "p" is not available`},
		{name: "running", status: &corev1.ContainerStatus{ContainerID: "containerd://a",
			State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}, want: "a"},
		{name: "terminated", status: &corev1.ContainerStatus{ContainerID: "containerd://a",
			State: corev1.ContainerState{Terminated: terminated("containerd://a")}}, want: "a"},
		{name: "crash looping shows the last run", status: &corev1.ContainerStatus{
			State:                corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}},
			LastTerminationState: corev1.ContainerState{Terminated: terminated("containerd://old")}}, want: "old"},
		{name: "previous of a restarted container", previous: true, status: &corev1.ContainerStatus{ContainerID: "containerd://new",
			State:                corev1.ContainerState{Running: &corev1.ContainerStateRunning{}},
			LastTerminationState: corev1.ContainerState{Terminated: terminated("containerd://old")}}, want: "old"},
		{name: "previous of a first run", previous: true, status: &corev1.ContainerStatus{ContainerID: "containerd://new",
			State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}},
			wantErr: `previous terminated container "c" in pod "p" not found`},
		{name: "image pull failure", status: &corev1.ContainerStatus{
			State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ImagePullBackOff"}}},
			wantErr: `container "c" in pod "p" is waiting to start: image can't be pulled`},
		{name: "creating", status: &corev1.ContainerStatus{
			State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "PodInitializing"}}},
			wantErr: `container "c" in pod "p" is waiting to start: PodInitializing`},
		{name: "terminated without an ID", status: &corev1.ContainerStatus{
			State: corev1.ContainerState{Terminated: terminated("")}},
			wantErr: `container "c" in pod "p" is terminated`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"}}
			if tt.status != nil {
				st := *tt.status
				st.Name = "c"
				pod.Status.InitContainerStatuses = []corev1.ContainerStatus{st}
			}
			got, err := logContainerID(pod, "c", tt.previous)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("got %q, %v, want %q", got, err, tt.want)
			}
		})
	}
}
