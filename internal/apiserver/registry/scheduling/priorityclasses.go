package scheduling

import (
	"context"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"capstan/internal/apiserver/registry"
)

const (
	// HighestUserDefinablePriority is the largest value a class not reserved for the
	// system may have.
	HighestUserDefinablePriority = int32(1000000000)
	// SystemCriticalPriority is the value of system-cluster-critical.
	SystemCriticalPriority = 2 * HighestUserDefinablePriority
	// SystemPriorityClassPrefix starts the names reserved for the built-in classes.
	SystemPriorityClassPrefix = "system-"
	// SystemClusterCritical and SystemNodeCritical are the built-in classes.
	SystemClusterCritical = "system-cluster-critical"
	SystemNodeCritical    = "system-node-critical"
)

var preemptionPolicies = []corev1.PreemptionPolicy{corev1.PreemptLowerPriority, corev1.PreemptNever}

// SystemPriorityClasses returns the built-in classes every cluster has, as the API server
// creates them at start.
func SystemPriorityClasses() []*schedulingv1.PriorityClass {
	return []*schedulingv1.PriorityClass{
		{
			ObjectMeta:  metav1.ObjectMeta{Name: SystemNodeCritical},
			Value:       SystemCriticalPriority + 1000,
			Description: "Used for system critical pods that must not be moved from their current node.",
		},
		{
			ObjectMeta:  metav1.ObjectMeta{Name: SystemClusterCritical},
			Value:       SystemCriticalPriority,
			Description: "Used for system critical pods that must run in the cluster, but can be moved to another node if necessary.",
		},
	}
}

// CheckGlobalDefault enforces that at most one class is the global default. existing are
// the stored classes; create is true for a create, false for an update of pc. The error
// reads like upstream's admission plugin's and is meant to become a Forbidden status.
func CheckGlobalDefault(pc *schedulingv1.PriorityClass, existing []*schedulingv1.PriorityClass, create bool) error {
	if !pc.GlobalDefault {
		return nil
	}
	// Should a race ever have stored two defaults, the lowest value wins, as upstream.
	var def *schedulingv1.PriorityClass
	for _, e := range existing {
		if e.GlobalDefault && (def == nil || e.Value < def.Value) {
			def = e
		}
	}
	if def == nil || (!create && def.Name == pc.Name) {
		return nil
	}
	return fmt.Errorf("PriorityClass %v is already marked as default. Only one default can exist", def.Name)
}

func priorityClassResource() registry.Resource {
	doc := schedulingv1.PriorityClass{}.SwaggerDoc()
	return registry.Resource{
		GVK:        schedulingv1.SchemeGroupVersion.WithKind("PriorityClass"),
		Plural:     "priorityclasses",
		Singular:   "priorityclass",
		ShortNames: []string{"pc"},
		Strategy:   priorityClassStrategy{},
		Table: &registry.Table{
			Columns: []metav1.TableColumnDefinition{
				registry.NameColumn,
				{Name: "Value", Type: "integer", Description: doc["value"]},
				{Name: "Global-Default", Type: "boolean", Description: doc["globalDefault"]},
				registry.AgeColumn,
				{Name: "PreemptionPolicy", Type: "string", Description: doc["preemptionPolicy"]},
			},
			Row: func(obj runtime.Object, now time.Time) []any {
				pc := obj.(*schedulingv1.PriorityClass)
				policy := ""
				if pc.PreemptionPolicy != nil {
					policy = string(*pc.PreemptionPolicy)
				}
				return []any{pc.Name, int64(pc.Value), pc.GlobalDefault, registry.Age(pc.CreationTimestamp, now), policy}
			},
		},
	}
}

type priorityClassStrategy struct{ registry.DefaultStrategy }

// Default sets preemptionPolicy PreemptLowerPriority.
func (priorityClassStrategy) Default(obj runtime.Object) {
	pc := obj.(*schedulingv1.PriorityClass)
	if pc.PreemptionPolicy == nil {
		p := corev1.PreemptLowerPriority
		pc.PreemptionPolicy = &p
	}
}

// Validate reserves "system-" names for the built-in classes with their exact values and
// caps the value of all other classes.
func (priorityClassStrategy) Validate(_ context.Context, obj runtime.Object) field.ErrorList {
	pc := obj.(*schedulingv1.PriorityClass)
	var errs field.ErrorList
	if strings.HasPrefix(pc.Name, SystemPriorityClassPrefix) {
		if err := checkSystemClass(pc); err != nil {
			errs = append(errs, field.Forbidden(field.NewPath("metadata", "name"),
				"priority class names with '"+SystemPriorityClassPrefix+"' prefix are reserved for system use only. error: "+err.Error()))
		}
	} else if pc.Value > HighestUserDefinablePriority {
		errs = append(errs, field.Forbidden(field.NewPath("value"),
			fmt.Sprintf("maximum allowed value of a user defined priority is %v", HighestUserDefinablePriority)))
	}
	if p := pc.PreemptionPolicy; p != nil {
		switch *p {
		case corev1.PreemptLowerPriority, corev1.PreemptNever:
		case "":
			errs = append(errs, field.Required(field.NewPath("preemptionPolicy"), ""))
		default:
			errs = append(errs, field.NotSupported(field.NewPath("preemptionPolicy"), *p, preemptionPolicies))
		}
	}
	return errs
}

// ValidateUpdate checks the new class; value and preemptionPolicy are fixed at creation.
func (s priorityClassStrategy) ValidateUpdate(ctx context.Context, obj, old runtime.Object) field.ErrorList {
	pc, oldPC := obj.(*schedulingv1.PriorityClass), old.(*schedulingv1.PriorityClass)
	errs := s.Validate(ctx, obj)
	if pc.Value != oldPC.Value {
		errs = append(errs, field.Forbidden(field.NewPath("value"), "may not be changed in an update."))
	}
	return append(errs, apimachineryvalidation.ValidateImmutableField(pc.PreemptionPolicy, oldPC.PreemptionPolicy, field.NewPath("preemptionPolicy"))...)
}

// checkSystemClass accepts a "system-" class only as one of the built-ins, unchanged.
func checkSystemClass(pc *schedulingv1.PriorityClass) error {
	for _, sys := range SystemPriorityClasses() {
		if sys.Name != pc.Name {
			continue
		}
		if sys.Value != pc.Value {
			return fmt.Errorf("value of %v PriorityClass must be %v", sys.Name, sys.Value)
		}
		if sys.GlobalDefault != pc.GlobalDefault {
			return fmt.Errorf("globalDefault of %v PriorityClass must be %v", sys.Name, sys.GlobalDefault)
		}
		return nil
	}
	return fmt.Errorf("%v is not a known system priority class", pc.Name)
}
