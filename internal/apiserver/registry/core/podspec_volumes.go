package core

import (
	"path"
	"reflect"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// defaultVolume sets upstream's volume source defaults: a volume without a source is an
// emptyDir, and file-projecting sources get mode 0644.
func defaultVolume(v *corev1.Volume) {
	src := &v.VolumeSource
	if volumeSourceCount(src) == 0 {
		src.EmptyDir = &corev1.EmptyDirVolumeSource{}
	}
	defaultMode := func(m **int32, value int32) {
		if *m == nil {
			*m = &value
		}
	}
	if src.HostPath != nil && src.HostPath.Type == nil {
		unset := corev1.HostPathUnset
		src.HostPath.Type = &unset
	}
	if src.Secret != nil {
		defaultMode(&src.Secret.DefaultMode, corev1.SecretVolumeSourceDefaultMode)
	}
	if src.ConfigMap != nil {
		defaultMode(&src.ConfigMap.DefaultMode, corev1.ConfigMapVolumeSourceDefaultMode)
	}
	if src.DownwardAPI != nil {
		defaultMode(&src.DownwardAPI.DefaultMode, corev1.DownwardAPIVolumeSourceDefaultMode)
		defaultDownwardAPIItems(src.DownwardAPI.Items)
	}
	if src.Projected != nil {
		defaultMode(&src.Projected.DefaultMode, corev1.ProjectedVolumeSourceDefaultMode)
		for i := range src.Projected.Sources {
			s := &src.Projected.Sources[i]
			if s.DownwardAPI != nil {
				defaultDownwardAPIItems(s.DownwardAPI.Items)
			}
			if s.ServiceAccountToken != nil && s.ServiceAccountToken.ExpirationSeconds == nil {
				hour := int64(3600)
				s.ServiceAccountToken.ExpirationSeconds = &hour
			}
		}
	}
	if src.ISCSI != nil && src.ISCSI.ISCSIInterface == "" {
		src.ISCSI.ISCSIInterface = "default"
	}
	if e := src.Ephemeral; e != nil && e.VolumeClaimTemplate != nil {
		spec := &e.VolumeClaimTemplate.Spec
		if spec.VolumeMode == nil {
			mode := corev1.PersistentVolumeFilesystem
			spec.VolumeMode = &mode
		}
		roundUpResources(spec.Resources.Limits)
		roundUpResources(spec.Resources.Requests)
	}
}

func defaultDownwardAPIItems(items []corev1.DownwardAPIVolumeFile) {
	for i := range items {
		if ref := items[i].FieldRef; ref != nil && ref.APIVersion == "" {
			ref.APIVersion = "v1"
		}
	}
}

// volumeSourceFields lists the JSON names of the set sources of a volume, in field order.
func volumeSourceFields(src *corev1.VolumeSource) []string {
	var names []string
	v := reflect.ValueOf(src).Elem()
	for i := 0; i < v.NumField(); i++ {
		if f := v.Field(i); f.Kind() == reflect.Pointer && !f.IsNil() {
			tag := v.Type().Field(i).Tag.Get("json")
			names = append(names, strings.Split(tag, ",")[0])
		}
	}
	return names
}

func volumeSourceCount(src *corev1.VolumeSource) int { return len(volumeSourceFields(src)) }

// validateVolumes validates the pod's volumes and returns the valid ones by name, for
// the volume mounts to refer to.
func validateVolumes(volumes []corev1.Volume, path *field.Path, forPod bool) (map[string]corev1.VolumeSource, field.ErrorList) {
	var errs field.ErrorList
	valid := map[string]corev1.VolumeSource{}
	names := sets.New[string]()
	for i := range volumes {
		v, p := &volumes[i], path.Index(i)
		vErrs := validateVolumeSource(&v.VolumeSource, p, forPod)
		if v.Name == "" {
			vErrs = append(vErrs, field.Required(p.Child("name"), ""))
		} else {
			vErrs = append(vErrs, dnsLabelErrors(v.Name, p.Child("name"))...)
		}
		if names.Has(v.Name) {
			vErrs = append(vErrs, field.Duplicate(p.Child("name"), v.Name))
		}
		if len(vErrs) == 0 {
			names.Insert(v.Name)
			valid[v.Name] = v.VolumeSource
		}
		errs = append(errs, vErrs...)
	}
	return valid, errs
}

// validateVolumeSource requires exactly one source and checks the common ones.
func validateVolumeSource(src *corev1.VolumeSource, p *field.Path, forPod bool) field.ErrorList {
	set := volumeSourceFields(src)
	if len(set) == 0 {
		return field.ErrorList{field.Required(p, "must specify a volume type")}
	}
	var errs field.ErrorList
	for _, name := range set[1:] {
		errs = append(errs, field.Forbidden(p.Child(name), "may not specify more than 1 volume type"))
	}
	switch set[0] {
	case "emptyDir":
		if lim := src.EmptyDir.SizeLimit; lim != nil && lim.Sign() < 0 {
			errs = append(errs, field.Forbidden(p.Child("emptyDir", "sizeLimit"), "SizeLimit field must be a valid resource quantity"))
		}
	case "hostPath":
		errs = append(errs, validateHostPath(src.HostPath, p.Child("hostPath"))...)
	case "secret":
		sp := p.Child("secret")
		if src.Secret.SecretName == "" {
			errs = append(errs, field.Required(sp.Child("secretName"), ""))
		}
		errs = append(errs, fileModeErrors(src.Secret.DefaultMode, sp.Child("defaultMode"))...)
		errs = append(errs, keyToPathErrors(src.Secret.Items, sp.Child("items"))...)
	case "configMap":
		cp := p.Child("configMap")
		if src.ConfigMap.Name == "" {
			errs = append(errs, field.Required(cp.Child("name"), ""))
		}
		errs = append(errs, fileModeErrors(src.ConfigMap.DefaultMode, cp.Child("defaultMode"))...)
		errs = append(errs, keyToPathErrors(src.ConfigMap.Items, cp.Child("items"))...)
	case "persistentVolumeClaim":
		if src.PersistentVolumeClaim.ClaimName == "" {
			errs = append(errs, field.Required(p.Child("persistentVolumeClaim", "claimName"), ""))
		}
	case "nfs":
		errs = append(errs, validateNFS(src.NFS, p.Child("nfs"))...)
	case "downwardAPI":
		dp := p.Child("downwardAPI")
		errs = append(errs, fileModeErrors(src.DownwardAPI.DefaultMode, dp.Child("defaultMode"))...)
		errs = append(errs, downwardAPIFileErrors(src.DownwardAPI.Items, dp)...)
	case "projected":
		errs = append(errs, validateProjected(src.Projected, p.Child("projected"))...)
	case "ephemeral":
		if src.Ephemeral.VolumeClaimTemplate == nil {
			errs = append(errs, field.Required(p.Child("ephemeral", "volumeClaimTemplate"), ""))
		}
	case "image":
		if forPod && src.Image.Reference == "" {
			errs = append(errs, field.Required(p.Child("image", "reference"), ""))
		}
	}
	return errs
}

var hostPathTypes = []corev1.HostPathType{corev1.HostPathUnset, corev1.HostPathBlockDev, corev1.HostPathCharDev,
	corev1.HostPathDirectory, corev1.HostPathDirectoryOrCreate, corev1.HostPathFile,
	corev1.HostPathFileOrCreate, corev1.HostPathSocket}

func validateHostPath(hp *corev1.HostPathVolumeSource, p *field.Path) field.ErrorList {
	if hp.Path == "" {
		return field.ErrorList{field.Required(p.Child("path"), "")}
	}
	errs := noBackstepsErrors(hp.Path, p.Child("path"))
	if hp.Type != nil {
		known := false
		for _, t := range hostPathTypes {
			known = known || t == *hp.Type
		}
		if !known {
			errs = append(errs, field.NotSupported(p.Child("type"), *hp.Type, hostPathTypes))
		}
	}
	return errs
}

func validateNFS(nfs *corev1.NFSVolumeSource, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if nfs.Server == "" {
		errs = append(errs, field.Required(p.Child("server"), ""))
	}
	if nfs.Path == "" {
		errs = append(errs, field.Required(p.Child("path"), ""))
	} else if !path.IsAbs(nfs.Path) {
		errs = append(errs, field.Invalid(p.Child("path"), nfs.Path, "must be an absolute path"))
	}
	return errs
}

const fileModeMessage = "must be a number between 0 and 0777 (octal), both inclusive"

func fileModeErrors(mode *int32, p *field.Path) field.ErrorList {
	if mode != nil && (*mode > 0777 || *mode < 0) {
		return field.ErrorList{field.Invalid(p, *mode, fileModeMessage)}
	}
	return nil
}

func keyToPathErrors(items []corev1.KeyToPath, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, item := range items {
		p := path.Index(i)
		if item.Key == "" {
			errs = append(errs, field.Required(p.Child("key"), ""))
		}
		if item.Path == "" {
			errs = append(errs, field.Required(p.Child("path"), ""))
		}
		errs = append(errs, localNonReservedPathErrors(item.Path, p.Child("path"))...)
		errs = append(errs, fileModeErrors(item.Mode, p.Child("mode"))...)
	}
	return errs
}

// localNonReservedPathErrors requires a relative path that does not start with "..",
// which the kubelet reserves for its own files.
func localNonReservedPathErrors(target string, p *field.Path) field.ErrorList {
	errs := localDescendingPathErrors(target, p)
	if strings.HasPrefix(target, "..") && !strings.HasPrefix(target, "../") {
		errs = append(errs, field.Invalid(p, target, "must not start with '..'"))
	}
	return errs
}

func downwardAPIFileErrors(items []corev1.DownwardAPIVolumeFile, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, item := range items {
		if item.Path == "" {
			errs = append(errs, field.Required(p.Child("path"), ""))
		}
		errs = append(errs, localNonReservedPathErrors(item.Path, p.Child("path"))...)
		if item.FieldRef != nil {
			errs = append(errs, validateObjectFieldSelector(item.FieldRef, volumeFieldPaths, p.Child("fieldRef"))...)
			if item.ResourceFieldRef != nil {
				errs = append(errs, field.Invalid(p, "resource", "fieldRef and resourceFieldRef can not be specified simultaneously"))
			}
		} else if item.ResourceFieldRef != nil {
			errs = append(errs, validateResourceFieldSelector(item.ResourceFieldRef, true, p.Child("resourceFieldRef"))...)
		} else {
			errs = append(errs, field.Required(p, "one of fieldRef and resourceFieldRef is required"))
		}
		errs = append(errs, fileModeErrors(item.Mode, p.Child("mode"))...)
	}
	return errs
}

// validateProjected checks each source of a projected volume; the file paths of all
// sources share one directory, so they must not collide.
func validateProjected(proj *corev1.ProjectedVolumeSource, p *field.Path) field.ErrorList {
	errs := fileModeErrors(proj.DefaultMode, p.Child("defaultMode"))
	paths := sets.New[string]()
	claim := func(path, owner string) {
		if path == "" {
			return
		}
		if paths.Has(path) {
			errs = append(errs, field.Invalid(p, owner, "conflicting duplicate paths"))
		}
		paths.Insert(path)
	}
	for i, s := range proj.Sources {
		sp := p.Child("sources").Index(i)
		n := 0
		if s.Secret != nil {
			n++
			errs = append(errs, projectedItemsErrors(s.Secret.Name, s.Secret.Items, sp.Child("secret"))...)
			for _, item := range s.Secret.Items {
				claim(item.Path, s.Secret.Name)
			}
		}
		if s.ConfigMap != nil {
			n++
			errs = append(errs, projectedItemsErrors(s.ConfigMap.Name, s.ConfigMap.Items, sp.Child("configMap"))...)
			for _, item := range s.ConfigMap.Items {
				claim(item.Path, s.ConfigMap.Name)
			}
		}
		if s.DownwardAPI != nil {
			n++
			errs = append(errs, downwardAPIFileErrors(s.DownwardAPI.Items, sp.Child("downwardAPI"))...)
			for _, item := range s.DownwardAPI.Items {
				claim(item.Path, "")
			}
		}
		if t := s.ServiceAccountToken; t != nil {
			n++
			errs = append(errs, validateTokenProjection(t, sp.Child("serviceAccountToken"), p)...)
			claim(t.Path, "")
		}
		if s.ClusterTrustBundle != nil {
			n++
			claim(s.ClusterTrustBundle.Path, "")
		}
		if n > 1 {
			errs = append(errs, field.Forbidden(sp, "may not specify more than 1 volume type per source"))
		}
	}
	return errs
}

func projectedItemsErrors(name string, items []corev1.KeyToPath, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if name == "" {
		errs = append(errs, field.Required(p.Child("name"), ""))
	}
	return append(errs, keyToPathErrors(items, p.Child("items"))...)
}

func validateTokenProjection(t *corev1.ServiceAccountTokenProjection, p, projected *field.Path) field.ErrorList {
	var errs field.ErrorList
	if e := t.ExpirationSeconds; e != nil {
		if *e < 10*60 {
			errs = append(errs, field.Invalid(p.Child("expirationSeconds"), *e, "may not specify a duration less than 10 minutes"))
		}
		if *e > 1<<32 {
			errs = append(errs, field.Invalid(p.Child("expirationSeconds"), *e, "may not specify a duration larger than 2^32 seconds"))
		}
	}
	// Upstream reports the token path at the projected volume.
	if t.Path == "" {
		errs = append(errs, field.Required(projected.Child("path"), ""))
	} else {
		errs = append(errs, localNonReservedPathErrors(t.Path, projected.Child("path"))...)
	}
	return errs
}
