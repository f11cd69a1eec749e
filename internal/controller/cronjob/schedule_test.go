package cronjob

import (
	"slices"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"capstan/internal/apiserver/registry/batch"
)

var t0 = time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC)

func mustParse(t *testing.T, s string) batch.Schedule {
	t.Helper()
	sched, err := batch.ParseSchedule(s)
	if err != nil {
		t.Fatal(err)
	}
	return sched
}

func TestMostRecent(t *testing.T) {
	t.Parallel()
	everyMinute := mustParse(t, "* * * * *")
	hourly := mustParse(t, "@hourly")
	for _, tc := range []struct {
		name       string
		sched      batch.Schedule
		from, now  time.Time
		want       time.Time // zero: none
		wantMissed int
		moreThan   bool // wantMissed is a lower bound
	}{
		{"nothing due before the first start time", everyMinute, t0, t0.Add(59 * time.Second), time.Time{}, 0, false},
		{"one start time passed", everyMinute, t0, t0.Add(61 * time.Second), t0.Add(time.Minute), 1, false},
		{"several passed: the latest counts", everyMinute, t0, t0.Add(5*time.Minute + 10*time.Second), t0.Add(5 * time.Minute), 5, false},
		{"exactly at the start time", hourly, t0, t0.Add(time.Hour), t0.Add(time.Hour), 1, false},
		{"far behind: the latest is still exact", everyMinute, t0, t0.Add(1000*time.Minute + 30*time.Second), t0.Add(1000 * time.Minute), 101, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, missed := mostRecent(tc.sched, tc.from, tc.now)
			switch {
			case tc.want.IsZero() && got != nil:
				t.Fatalf("got %v, want none", got)
			case !tc.want.IsZero() && (got == nil || !got.Equal(tc.want)):
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			if (tc.moreThan && missed < tc.wantMissed) || (!tc.moreThan && missed != tc.wantMissed) {
				t.Errorf("missed %d, want %d (at least: %v)", missed, tc.wantMissed, tc.moreThan)
			}
		})
	}
}

func TestEarliestHonoursTheStartingDeadline(t *testing.T) {
	t.Parallel()
	cj := &batchv1.CronJob{ObjectMeta: metav1.ObjectMeta{CreationTimestamp: metav1.NewTime(t0)}}
	now := t0.Add(time.Hour)
	if got := earliest(cj, now); !got.Equal(t0) {
		t.Errorf("without history or deadline: %v, want the creation time", got)
	}
	last := metav1.NewTime(t0.Add(30 * time.Minute))
	cj.Status.LastScheduleTime = &last
	if got := earliest(cj, now); !got.Equal(last.Time) {
		t.Errorf("after a run: %v, want the last schedule time", got)
	}
	deadline := int64(60)
	cj.Spec.StartingDeadlineSeconds = &deadline
	if got := earliest(cj, now); !got.Equal(now.Add(-time.Minute)) {
		t.Errorf("with a deadline: %v, want a minute ago", got)
	}
}

func TestUntilNextLandsJustAfterTheNextStartTime(t *testing.T) {
	t.Parallel()
	cj := &batchv1.CronJob{ObjectMeta: metav1.ObjectMeta{CreationTimestamp: metav1.NewTime(t0)}}
	d, ok := untilNext(cj, mustParse(t, "*/5 * * * *"), t0.Add(7*time.Minute))
	if !ok || d != 3*time.Minute+nextScheduleDelta {
		t.Errorf("untilNext = %v, %v; want 3m0.1s", d, ok)
	}
}

func TestJobNameAndScheduleSpec(t *testing.T) {
	t.Parallel()
	cj := &batchv1.CronJob{ObjectMeta: metav1.ObjectMeta{Name: "nightly"}, Spec: batchv1.CronJobSpec{Schedule: "0 1 * * *"}}
	if got := jobName(cj, t0); got != "nightly-28488120" {
		t.Errorf("job name %s", got)
	}
	tz := "Europe/Paris"
	cj.Spec.TimeZone = &tz
	if got := scheduleSpec(cj); got != "TZ=Europe/Paris 0 1 * * *" {
		t.Errorf("schedule spec %q", got)
	}
}

func TestBeyondLimitPicksTheOldest(t *testing.T) {
	t.Parallel()
	job := func(name string, started int) *batchv1.Job {
		j := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: name}}
		if started >= 0 {
			ts := metav1.NewTime(t0.Add(time.Duration(started) * time.Minute))
			j.Status.StartTime = &ts
		}
		return j
	}
	jobs := []*batchv1.Job{job("c", 3), job("never", -1), job("a", 1), job("b", 2)}
	names := func(js []*batchv1.Job) []string {
		var out []string
		for _, j := range js {
			out = append(out, j.Name)
		}
		return out
	}
	if got := names(beyondLimit(jobs, 2)); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("limit 2 deletes %v", got)
	}
	if got := names(beyondLimit(jobs, 0)); !slices.Equal(got, []string{"a", "b", "c", "never"}) {
		t.Errorf("limit 0 deletes %v", got)
	}
	if got := beyondLimit(jobs, 4); got != nil {
		t.Errorf("limit 4 deletes %v", got)
	}
}

func TestTimeZoneShiftsTheStartTimes(t *testing.T) {
	t.Parallel()
	tz := "Asia/Tokyo" // UTC+9, no daylight saving
	cj := &batchv1.CronJob{Spec: batchv1.CronJobSpec{Schedule: "0 1 * * *", TimeZone: &tz}}
	sched := mustParse(t, scheduleSpec(cj))
	// 01:00 in Tokyo is 16:00 UTC the day before.
	got, _ := mostRecent(sched, t0, t0.Add(24*time.Hour))
	want := time.Date(2024, 3, 1, 16, 0, 0, 0, time.UTC)
	if got == nil || !got.Equal(want) {
		t.Errorf("most recent start %v, want %v", got, want)
	}
}
