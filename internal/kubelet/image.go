package kubelet

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// ensureImage makes the container's image present by its pull policy, with upstream's
// events and waiting reasons (ErrImagePull, then ImagePullBackOff while backing off).
func (k *Kubelet) ensureImage(ctx context.Context, pod *corev1.Pod, c *corev1.Container) error {
	spec := &runtimeapi.ImageSpec{Image: c.Image, UserSpecifiedImage: c.Image}
	present := false
	if st, err := k.images.ImageStatus(ctx, &runtimeapi.ImageStatusRequest{Image: spec}); err == nil && st.GetImage() != nil {
		present = true
	}
	policy := c.ImagePullPolicy
	if policy == "" {
		policy = corev1.PullIfNotPresent
	}
	switch {
	case policy == corev1.PullNever && !present:
		msg := fmt.Sprintf("Container image %q is not present with pull policy of Never", c.Image)
		k.recorder.Event(pod, corev1.EventTypeWarning, "ErrImageNeverPull", msg)
		return &startError{reason: "ErrImageNeverPull", message: msg}
	case present && policy != corev1.PullAlways:
		k.recorder.Eventf(pod, corev1.EventTypeNormal, "Pulled", "Container image %q already present on machine", c.Image)
		return nil
	}
	key := string(pod.UID) + "/" + c.Image
	now := k.clock.Now()
	k.mu.Lock()
	failedAt := k.pullFailures[key]
	k.mu.Unlock()
	if !failedAt.IsZero() {
		if wait, _ := k.pulls.Wait(key, failedAt, now); wait > 0 {
			msg := fmt.Sprintf("Back-off pulling image %q", c.Image)
			k.recorder.Event(pod, corev1.EventTypeNormal, "BackOff", msg)
			return &startError{reason: "ImagePullBackOff", message: msg, retry: wait}
		}
	}
	k.recorder.Eventf(pod, corev1.EventTypeNormal, "Pulling", "Pulling image %q", c.Image)
	start := k.clock.Now()
	resp, err := k.images.PullImage(ctx, &runtimeapi.PullImageRequest{Image: spec, Auth: k.pullAuth(ctx, pod, c.Image), SandboxConfig: nil})
	if err != nil {
		msg := criMessage(err)
		k.mu.Lock()
		k.pullFailures[key] = k.clock.Now()
		k.mu.Unlock()
		k.pulls.Next(key, k.clock.Now())
		k.recorder.Eventf(pod, corev1.EventTypeWarning, "Failed", "Failed to pull image %q: %s", c.Image, msg)
		k.recorder.Event(pod, corev1.EventTypeWarning, "Failed", "Error: ErrImagePull")
		return &startError{reason: "ErrImagePull", message: msg}
	}
	k.mu.Lock()
	delete(k.pullFailures, key)
	k.mu.Unlock()
	took := k.clock.Since(start).Round(time.Millisecond)
	k.recorder.Eventf(pod, corev1.EventTypeNormal, "Pulled", "Successfully pulled image %q in %s (%s including waiting). Image ref: %s", c.Image, took, took, resp.ImageRef)
	return nil
}

// pullAuth finds credentials for the image's registry in the pod's imagePullSecrets
// (kubernetes.io/dockerconfigjson or dockercfg).
func (k *Kubelet) pullAuth(ctx context.Context, pod *corev1.Pod, image string) *runtimeapi.AuthConfig {
	registry := registryOf(image)
	for _, ref := range pod.Spec.ImagePullSecrets {
		s, err := k.client.CoreV1().Secrets(pod.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
		if err != nil {
			continue
		}
		auths := map[string]dockerAuth{}
		switch s.Type {
		case corev1.SecretTypeDockerConfigJson:
			var cfg struct {
				Auths map[string]dockerAuth `json:"auths"`
			}
			if json.Unmarshal(s.Data[corev1.DockerConfigJsonKey], &cfg) == nil {
				auths = cfg.Auths
			}
		case corev1.SecretTypeDockercfg:
			_ = json.Unmarshal(s.Data[corev1.DockerConfigKey], &auths)
		}
		for host, a := range auths {
			if registryOf(strings.TrimPrefix(strings.TrimPrefix(host, "https://"), "http://")+"/x") != registry {
				continue
			}
			out := &runtimeapi.AuthConfig{Username: a.Username, Password: a.Password, Auth: a.Auth, ServerAddress: host}
			if out.Username == "" && a.Auth != "" {
				if raw, err := base64.StdEncoding.DecodeString(a.Auth); err == nil {
					out.Username, out.Password, _ = strings.Cut(string(raw), ":")
				}
			}
			return out
		}
	}
	return nil
}

type dockerAuth struct {
	Username string `json:"username"`
	Password string `json:"password"`
	Auth     string `json:"auth"`
}

// registryOf is the registry host of an image reference; docker.io for short names.
func registryOf(image string) string {
	first, rest, ok := strings.Cut(image, "/")
	if !ok || (!strings.ContainsAny(first, ".:") && first != "localhost") || rest == "" {
		return "docker.io"
	}
	if first == "index.docker.io" || first == "registry-1.docker.io" {
		return "docker.io"
	}
	return first
}
