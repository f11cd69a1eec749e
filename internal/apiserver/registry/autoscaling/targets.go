package autoscaling

import (
	"fmt"
	"strconv"
	"strings"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
)

// maxShownMetrics is how many metrics the TARGETS column lists before "+ N more...".
const maxShownMetrics = 2

// formatMetrics renders the TARGETS column: "<current>/<target>" per metric, with the
// resource name for (container) resource metrics and "(avg)" for per-pod object and
// external targets.
func formatMetrics(specs []autoscalingv2.MetricSpec, statuses []autoscalingv2.MetricStatus) string {
	if len(specs) == 0 {
		return "<none>"
	}
	list := make([]string, 0, len(specs))
	for i := range specs {
		var status *autoscalingv2.MetricStatus
		if i < len(statuses) {
			status = &statuses[i]
		}
		list = append(list, formatMetric(&specs[i], status))
	}
	if len(list) > maxShownMetrics {
		return fmt.Sprintf("%s + %d more...", strings.Join(list[:maxShownMetrics], ", "), len(list)-maxShownMetrics)
	}
	return strings.Join(list, ", ")
}

func formatMetric(spec *autoscalingv2.MetricSpec, status *autoscalingv2.MetricStatus) string {
	switch {
	case spec.Type == autoscalingv2.ExternalMetricSourceType && spec.External != nil:
		var current *autoscalingv2.MetricValueStatus
		if status != nil && status.External != nil {
			current = &status.External.Current
		}
		return formatValueTarget(&spec.External.Target, current)
	case spec.Type == autoscalingv2.ObjectMetricSourceType && spec.Object != nil:
		var current *autoscalingv2.MetricValueStatus
		if status != nil && status.Object != nil {
			current = &status.Object.Current
		}
		return formatValueTarget(&spec.Object.Target, current)
	case spec.Type == autoscalingv2.PodsMetricSourceType && spec.Pods != nil:
		current := "<unknown>"
		if status != nil && status.Pods != nil {
			current = status.Pods.Current.AverageValue.String()
		}
		return current + "/" + spec.Pods.Target.AverageValue.String()
	case spec.Type == autoscalingv2.ResourceMetricSourceType && spec.Resource != nil:
		var current *autoscalingv2.MetricValueStatus
		if status != nil && status.Resource != nil {
			current = &status.Resource.Current
		}
		return spec.Resource.Name.String() + ": " + formatResourceTarget(&spec.Resource.Target, current)
	case spec.Type == autoscalingv2.ContainerResourceMetricSourceType && spec.ContainerResource != nil:
		var current *autoscalingv2.MetricValueStatus
		if status != nil && status.ContainerResource != nil {
			current = &status.ContainerResource.Current
		}
		return spec.ContainerResource.Name.String() + ": " + formatResourceTarget(&spec.ContainerResource.Target, current)
	default:
		return "<unknown type>"
	}
}

// formatValueTarget renders object and external metrics: a per-pod average target when one
// is set, the total value otherwise.
func formatValueTarget(target *autoscalingv2.MetricTarget, current *autoscalingv2.MetricValueStatus) string {
	if target.AverageValue != nil {
		cur := "<unknown>"
		if current != nil && current.AverageValue != nil {
			cur = current.AverageValue.String()
		}
		return fmt.Sprintf("%s/%s (avg)", cur, target.AverageValue.String())
	}
	cur := "<unknown>"
	if current != nil {
		cur = current.Value.String()
	}
	return cur + "/" + target.Value.String()
}

// formatResourceTarget renders resource metrics: an average value, or a utilization in
// percent ("<auto>" when the target has neither).
func formatResourceTarget(target *autoscalingv2.MetricTarget, current *autoscalingv2.MetricValueStatus) string {
	if target.AverageValue != nil {
		cur := "<unknown>"
		if current != nil {
			cur = current.AverageValue.String()
		}
		return cur + "/" + target.AverageValue.String()
	}
	cur, want := "<unknown>", "<auto>"
	if current != nil && current.AverageUtilization != nil {
		cur = strconv.Itoa(int(*current.AverageUtilization)) + "%"
	}
	if target.AverageUtilization != nil {
		want = strconv.Itoa(int(*target.AverageUtilization)) + "%"
	}
	return cur + "/" + want
}

func fmtInt(v int32) string { return strconv.Itoa(int(v)) }
