// Package cronjob is the cronjob-controller: it creates a Job from a CronJob's template at
// each scheduled time (named <cronjob>-<scheduled minutes since the epoch>), honours
// timeZone, suspend, startingDeadlineSeconds and the concurrency policy (Allow, Forbid,
// Replace), keeps status.active, lastScheduleTime and lastSuccessfulTime, and deletes
// finished Jobs beyond the history limits. Schedule arithmetic is pure (schedule.go) and
// the clock is injected, so tests step a fake one instead of waiting for minutes. It
// never touches pods: the job-controller runs the Jobs.
package cronjob
