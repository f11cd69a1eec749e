package core

import (
	"path"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

var (
	pvAccessModes = []corev1.PersistentVolumeAccessMode{corev1.ReadOnlyMany, corev1.ReadWriteMany,
		corev1.ReadWriteOnce, corev1.ReadWriteOncePod}
	pvReclaimPolicies = []corev1.PersistentVolumeReclaimPolicy{corev1.PersistentVolumeReclaimDelete,
		corev1.PersistentVolumeReclaimRecycle, corev1.PersistentVolumeReclaimRetain}
	pvVolumeModes   = []corev1.PersistentVolumeMode{corev1.PersistentVolumeBlock, corev1.PersistentVolumeFilesystem}
	pvHostPathTypes = []corev1.HostPathType{corev1.HostPathUnset, corev1.HostPathBlockDev, corev1.HostPathCharDev,
		corev1.HostPathDirectory, corev1.HostPathDirectoryOrCreate, corev1.HostPathFile,
		corev1.HostPathFileOrCreate, corev1.HostPathSocket}
)

// accessModesErrs checks each access mode; ReadWriteOncePod excludes the others.
func accessModesErrs(modes []corev1.PersistentVolumeAccessMode, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	rwop, other := false, false
	for _, m := range modes {
		switch {
		case !slices.Contains(pvAccessModes, m):
			errs = append(errs, field.NotSupported(p, m, pvAccessModes))
		case m == corev1.ReadWriteOncePod:
			rwop = true
		default:
			other = true
		}
	}
	if rwop && other {
		errs = append(errs, field.Forbidden(p, "may not use ReadWriteOncePod with other access modes"))
	}
	return errs
}

// classNameErrs checks a storage or volume attributes class name (a DNS subdomain).
func classNameErrs(name string, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range apimachineryvalidation.NameIsDNSSubdomain(name, false) {
		errs = append(errs, field.Invalid(p, name, msg))
	}
	return errs
}

// pvSource is one of the volume types a persistent volume may use.
type pvSource struct {
	name     string
	set      bool
	validate func(p *field.Path) field.ErrorList
}

// volumeSourceErrs requires exactly one volume source and checks the common ones (hostPath,
// nfs, local, csi) in depth.
func volumeSourceErrs(spec *corev1.PersistentVolumeSpec, hasNodeAffinity bool, p *field.Path) field.ErrorList {
	s := &spec.PersistentVolumeSource
	sources := []pvSource{
		{"hostPath", s.HostPath != nil, func(p *field.Path) field.ErrorList { return hostPathErrs(s.HostPath, p) }},
		{"gcePersistentDisk", s.GCEPersistentDisk != nil, nil},
		{"awsElasticBlockStore", s.AWSElasticBlockStore != nil, nil},
		{"glusterfs", s.Glusterfs != nil, nil},
		{"flocker", s.Flocker != nil, nil},
		{"nfs", s.NFS != nil, func(p *field.Path) field.ErrorList { return nfsErrs(s.NFS, p) }},
		{"rbd", s.RBD != nil, nil},
		{"quobyte", s.Quobyte != nil, nil},
		{"cephFS", s.CephFS != nil, nil},
		{"iscsi", s.ISCSI != nil, nil},
		{"cinder", s.Cinder != nil, nil},
		{"fc", s.FC != nil, nil},
		{"flexVolume", s.FlexVolume != nil, nil},
		{"azureFile", s.AzureFile != nil, nil},
		{"vsphereVolume", s.VsphereVolume != nil, nil},
		{"photonPersistentDisk", s.PhotonPersistentDisk != nil, nil},
		{"portworxVolume", s.PortworxVolume != nil, nil},
		{"azureDisk", s.AzureDisk != nil, nil},
		{"scaleIO", s.ScaleIO != nil, nil},
		{"local", s.Local != nil, func(p *field.Path) field.ErrorList { return localVolumeErrs(s.Local, hasNodeAffinity, p) }},
		{"storageos", s.StorageOS != nil, nil},
		{"csi", s.CSI != nil, func(p *field.Path) field.ErrorList { return csiVolumeErrs(s.CSI, p) }},
	}
	var errs field.ErrorList
	count := 0
	for _, src := range sources {
		if !src.set {
			continue
		}
		// Upstream lets flexVolume join another source without complaint.
		if count > 0 && src.name != "flexVolume" {
			errs = append(errs, field.Forbidden(p.Child(src.name), "may not specify more than 1 volume type"))
			continue
		}
		count++
		if src.validate != nil {
			errs = append(errs, src.validate(p.Child(src.name))...)
		}
	}
	if count == 0 {
		errs = append(errs, field.Required(p, "must specify a volume type"))
	}
	return errs
}

func hostPathErrs(hp *corev1.HostPathVolumeSource, p *field.Path) field.ErrorList {
	if hp.Path == "" {
		return field.ErrorList{field.Required(p.Child("path"), "")}
	}
	errs := noBackstepsErrs(hp.Path, p.Child("path"))
	if hp.Type != nil && !slices.Contains(pvHostPathTypes, *hp.Type) {
		errs = append(errs, field.NotSupported(p.Child("type"), *hp.Type, pvHostPathTypes))
	}
	return errs
}

func nfsErrs(nfs *corev1.NFSVolumeSource, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if nfs.Server == "" {
		errs = append(errs, field.Required(p.Child("server"), ""))
	}
	if nfs.Path == "" {
		errs = append(errs, field.Required(p.Child("path"), ""))
	}
	if !path.IsAbs(nfs.Path) {
		errs = append(errs, field.Invalid(p.Child("path"), nfs.Path, "must be an absolute path"))
	}
	return errs
}

func localVolumeErrs(local *corev1.LocalVolumeSource, hasNodeAffinity bool, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if local.Path == "" {
		errs = append(errs, field.Required(p.Child("path"), ""))
	} else {
		errs = append(errs, noBackstepsErrs(local.Path, p.Child("path"))...)
	}
	if !hasNodeAffinity {
		// p is spec.local; the requirement is on spec.nodeAffinity.
		errs = append(errs, field.Required(field.NewPath("spec", "nodeAffinity"), "Local volume requires node affinity"))
	}
	return errs
}

func csiVolumeErrs(csi *corev1.CSIPersistentVolumeSource, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	driver := p.Child("driver")
	switch {
	case csi.Driver == "":
		errs = append(errs, field.Required(driver, ""))
	case len(csi.Driver) > 63:
		errs = append(errs, field.TooLong(driver, csi.Driver, 63))
	default:
		for _, msg := range validation.IsDNS1123Subdomain(strings.ToLower(csi.Driver)) {
			errs = append(errs, field.Invalid(driver, csi.Driver, msg))
		}
	}
	if csi.VolumeHandle == "" {
		errs = append(errs, field.Required(p.Child("volumeHandle"), ""))
	}
	return errs
}

// isRootPath reports whether s names the root directory.
func isRootPath(s string) bool { return path.Clean(s) == "/" }

// noBackstepsErrs rejects a path with a ".." element.
func noBackstepsErrs(target string, p *field.Path) field.ErrorList {
	for _, part := range strings.Split(target, "/") {
		if part == ".." {
			return field.ErrorList{field.Invalid(p, target, "must not contain '..'")}
		}
	}
	return nil
}

// volumeNodeAffinityErrs checks spec.nodeAffinity: a required node selector with at least
// one well-formed term.
func volumeNodeAffinityErrs(na *corev1.VolumeNodeAffinity, p *field.Path) field.ErrorList {
	if na.Required == nil {
		return field.ErrorList{field.Required(p.Child("required"), "must specify required node constraints")}
	}
	req := p.Child("required")
	if len(na.Required.NodeSelectorTerms) == 0 {
		return field.ErrorList{field.Required(req.Child("nodeSelectorTerms"), "must have at least one node selector term")}
	}
	var errs field.ErrorList
	for i, term := range na.Required.NodeSelectorTerms {
		tp := req.Child("nodeSelectorTerms").Index(i)
		for j, r := range term.MatchExpressions {
			errs = append(errs, nodeSelectorRequirementErrs(r, tp.Child("matchExpressions").Index(j))...)
		}
		for j, r := range term.MatchFields {
			errs = append(errs, nodeFieldRequirementErrs(r, tp.Child("matchFields").Index(j))...)
		}
	}
	return errs
}

func nodeSelectorRequirementErrs(r corev1.NodeSelectorRequirement, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	switch r.Operator {
	case corev1.NodeSelectorOpIn, corev1.NodeSelectorOpNotIn:
		if len(r.Values) == 0 {
			errs = append(errs, field.Required(p.Child("values"), "must be specified when `operator` is 'In' or 'NotIn'"))
		}
	case corev1.NodeSelectorOpExists, corev1.NodeSelectorOpDoesNotExist:
		if len(r.Values) > 0 {
			errs = append(errs, field.Forbidden(p.Child("values"), "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"))
		}
	case corev1.NodeSelectorOpGt, corev1.NodeSelectorOpLt:
		if len(r.Values) != 1 {
			errs = append(errs, field.Required(p.Child("values"), "must be specified single value when `operator` is 'Lt' or 'Gt'"))
		}
	default:
		errs = append(errs, field.Invalid(p.Child("operator"), r.Operator, "not a valid selector operator"))
	}
	errs = append(errs, metav1validation.ValidateLabelName(r.Key, p.Child("key"))...)
	for i, v := range r.Values {
		for _, msg := range validation.IsValidLabelValue(v) {
			errs = append(errs, field.Invalid(p.Child("values").Index(i), v, msg))
		}
	}
	return errs
}

func nodeFieldRequirementErrs(r corev1.NodeSelectorRequirement, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	switch r.Operator {
	case corev1.NodeSelectorOpIn, corev1.NodeSelectorOpNotIn:
		if len(r.Values) != 1 {
			errs = append(errs, field.Required(p.Child("values"), "must be only one value when `operator` is 'In' or 'NotIn' for node field selector"))
		}
	default:
		errs = append(errs, field.Invalid(p.Child("operator"), r.Operator, "not a valid selector operator"))
	}
	if r.Key != "metadata.name" {
		return append(errs, field.Invalid(p.Child("key"), r.Key, "not a valid field selector key"))
	}
	for i, v := range r.Values {
		for _, msg := range apimachineryvalidation.NameIsDNSSubdomain(v, false) {
			errs = append(errs, field.Invalid(p.Child("values").Index(i), v, msg))
		}
	}
	return errs
}
