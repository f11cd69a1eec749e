package cronjob

import (
	"fmt"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"

	"capstan/internal/apiserver/registry/batch"
)

// nextScheduleDelta is added to requeues so the sync lands just after the scheduled time.
const nextScheduleDelta = 100 * time.Millisecond

// tooManyMissed is how many missed start times upstream tolerates silently.
const tooManyMissed = 100

// scheduleSpec is the schedule to parse: spec.timeZone becomes a TZ= prefix.
func scheduleSpec(cj *batchv1.CronJob) string {
	if cj.Spec.TimeZone != nil && !strings.Contains(cj.Spec.Schedule, "TZ") {
		return fmt.Sprintf("TZ=%s %s", *cj.Spec.TimeZone, cj.Spec.Schedule)
	}
	return cj.Spec.Schedule
}

// earliest is the time after which start times count: the last one scheduled (or the
// creation), but no earlier than startingDeadlineSeconds before now.
func earliest(cj *batchv1.CronJob, now time.Time) time.Time {
	t := cj.CreationTimestamp.Time
	if cj.Status.LastScheduleTime != nil {
		t = cj.Status.LastScheduleTime.Time
	}
	if d := cj.Spec.StartingDeadlineSeconds; d != nil {
		if deadline := now.Add(-time.Duration(*d) * time.Second); deadline.After(t) {
			t = deadline
		}
	}
	return t
}

// mostRecent returns the latest start time in (from, now] and how many start times there
// were (an estimate past tooManyMissed: far behind, whole intervals are skipped instead of
// walked one by one). It returns nil when there is none.
func mostRecent(s batch.Schedule, from, now time.Time) (*time.Time, int) {
	t := s.Next(from)
	if t.IsZero() || t.After(now) {
		return nil, 0
	}
	missed := 0
	for {
		missed++
		next := s.Next(t)
		if next.IsZero() || next.After(now) {
			return &t, missed
		}
		if missed == tooManyMissed {
			if gap := next.Sub(t); gap > 0 {
				if k := int(now.Sub(next)/gap) - 1; k > 0 {
					// Land just before an interval boundary and let the schedule find the
					// real start time from there.
					if jumped := s.Next(next.Add(time.Duration(k)*gap - time.Second)); !jumped.IsZero() && !jumped.After(now) {
						next, missed = jumped, missed+k
					}
				}
			}
		}
		t = next
	}
}

// untilNext is how long until the sync after now should run: just after the next start
// time following the most recent one.
func untilNext(cj *batchv1.CronJob, s batch.Schedule, now time.Time) (time.Duration, bool) {
	from := earliest(cj, now)
	if recent, _ := mostRecent(s, from, now); recent != nil {
		from = *recent
	}
	next := s.Next(from)
	if next.IsZero() {
		return 0, false
	}
	return next.Add(nextScheduleDelta).Sub(now), true
}

// jobName is the name of the Job for the start time t: the CronJob's name and t in
// minutes since the epoch, so each start time yields one name.
func jobName(cj *batchv1.CronJob, t time.Time) string {
	return fmt.Sprintf("%s-%d", cj.Name, t.Unix()/60)
}

// containsTZ reports a schedule with its own TZ= or CRON_TZ= prefix.
func containsTZ(schedule string) bool { return strings.Contains(schedule, "TZ") }
