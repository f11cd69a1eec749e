// Package scheduling holds the strategies of scheduling.k8s.io/v1: priorityclasses.
//
// The one rule that needs other objects, "only one global default", cannot live in a
// strategy: CheckGlobalDefault takes the existing classes and the generic layer calls it
// on create and update. SystemPriorityClasses lists the built-in classes the API server
// creates at start.
package scheduling
