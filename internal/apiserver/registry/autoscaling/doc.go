// Package autoscaling holds the strategies of the autoscaling/v2 group: the
// horizontalpodautoscalers resource.
//
// Like every registry package it is pure: it defaults, validates and renders objects and
// never performs I/O.
package autoscaling
