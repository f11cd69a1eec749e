// Package batch holds the strategies of the batch/v1 group: jobs and cronjobs, one file per
// resource, plus jobspec.go (the job spec rules jobs and cronjob templates share) and
// cron.go, the schedule parser the CronJob controller reuses through ParseSchedule.
//
// Like every registry package it is pure: it defaults, validates and renders objects and
// never performs I/O. Pod template defaulting and validation are delegated to the core
// package; this package adds only the rules upstream applies on top for each kind.
package batch
