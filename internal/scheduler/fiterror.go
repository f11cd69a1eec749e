package scheduler

import (
	"errors"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/sets"

	"capstan/internal/scheduler/framework"
)

// ErrNoNodesAvailable is upstream's error when the cluster has no nodes.
var ErrNoNodesAvailable = errors.New("no nodes available to schedule pods")

// Diagnosis records why a pod fit nowhere.
type Diagnosis struct {
	NodeToStatus *framework.NodeToStatus
	// UnschedulablePlugins and PendingPlugins rejected the pod on some node.
	UnschedulablePlugins sets.Set[string]
	PendingPlugins       sets.Set[string]
	// PreFilterMsg is set when PreFilter rejected the pod for all nodes; PostFilterMsg is
	// preemption's account.
	PreFilterMsg, PostFilterMsg string
}

// FitError is the error of a pod that fits no node; its message is upstream's
// FailedScheduling summary.
type FitError struct {
	Pod         *corev1.Pod
	NumAllNodes int
	Diagnosis   Diagnosis
}

// Error renders "0/N nodes are available: <count> <reason>, .... <preemption>" like
// upstream.
func (e *FitError) Error() string {
	msg := fmt.Sprintf("0/%v nodes are available:", e.NumAllNodes)
	if e.Diagnosis.PreFilterMsg != "" {
		msg += " " + withPeriod(e.Diagnosis.PreFilterMsg)
	} else if hist := framework.Histogram(e.NumAllNodes, e.Diagnosis.NodeToStatus); len(hist) > 0 {
		msg += " " + strings.Join(hist, ", ") + "."
	}
	if e.Diagnosis.PostFilterMsg != "" {
		msg += " " + withPeriod(e.Diagnosis.PostFilterMsg)
	}
	return msg
}

func withPeriod(s string) string {
	if strings.HasSuffix(s, ".") {
		return s
	}
	return s + "."
}
