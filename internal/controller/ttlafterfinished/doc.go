// Package ttlafterfinished is the ttl-after-finished-controller: a Job that finished
// (Complete or Failed) and sets spec.ttlSecondsAfterFinished is deleted, with background
// propagation, once that many seconds have passed since it finished. It reads the finish
// time from the condition's lastTransitionTime and re-reads the Job from the API before
// deleting, so a TTL changed at the last moment is honoured. It deletes nothing else.
package ttlafterfinished
