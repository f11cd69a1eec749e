package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"capstan/internal/kubelet"
)

// httpError is an error with the status code the API answers it with.
type httpError struct {
	code int
	msg  string
}

func (e *httpError) Error() string { return e.msg }

func errorf(code int, format string, args ...any) error {
	return &httpError{code: code, msg: fmt.Sprintf(format, args...)}
}

// writeError answers err as plain text with its code (500 when it has none), as the
// upstream kubelet does; the API server turns the text into a Status message.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	code := http.StatusInternalServerError
	var he *httpError
	if errors.As(err, &he) {
		code = he.code
	} else {
		s.log.Error("request failed", "path", r.URL.Path, "err", err)
	}
	http.Error(w, err.Error(), code)
}

// parseLogQuery reads the PodLogOptions of a /containerLogs query. now is for sinceSeconds.
func parseLogQuery(q url.Values, now time.Time) (LogOptions, bool, error) {
	opts := LogOptions{TailLines: -1}
	var err error
	boolean := func(name string) bool {
		v := q.Get(name)
		if v == "" {
			return false
		}
		b, perr := strconv.ParseBool(v)
		if perr != nil && err == nil {
			err = fmt.Errorf("%s: %q is not a boolean", name, v)
		}
		return b
	}
	integer := func(name string, min int64) (int64, bool) {
		v := q.Get(name)
		if v == "" {
			return 0, false
		}
		n, perr := strconv.ParseInt(v, 10, 64)
		if perr != nil || n < min {
			if err == nil {
				err = fmt.Errorf("%s: %q must be an integer of at least %d", name, v, min)
			}
			return 0, false
		}
		return n, true
	}
	opts.Follow = boolean("follow")
	opts.Timestamps = boolean("timestamps")
	previous := boolean("previous")
	if n, ok := integer("tailLines", 0); ok {
		opts.TailLines = n
	}
	if n, ok := integer("limitBytes", 1); ok {
		opts.LimitBytes = n
	}
	if n, ok := integer("sinceSeconds", 1); ok {
		opts.Since = now.Add(-time.Duration(n) * time.Second)
	}
	if v := q.Get("sinceTime"); v != "" {
		if q.Get("sinceSeconds") != "" && err == nil {
			err = errors.New("at most one of sinceTime or sinceSeconds may be specified")
		}
		t, perr := time.Parse(time.RFC3339, v)
		if perr != nil && err == nil {
			err = fmt.Errorf("sinceTime: %q is not an RFC 3339 time", v)
		}
		opts.Since = t
	}
	switch v := q.Get("stream"); strings.ToLower(v) {
	case "", "all":
	case "stdout", "stderr":
		opts.Stream = strings.ToLower(v)
		if opts.TailLines >= 0 && err == nil {
			// Upstream refuses to tail one stream: lines of the two interleave in the file.
			err = errors.New("tailLines cannot be used with a single stream")
		}
	default:
		if err == nil {
			err = fmt.Errorf("stream: %q must be All, Stdout or Stderr", v)
		}
	}
	return opts, previous, err
}

func (s *Server) serveContainerLogs(w http.ResponseWriter, r *http.Request) {
	ns, name, container := r.PathValue("namespace"), r.PathValue("pod"), r.PathValue("container")
	opts, previous, err := parseLogQuery(r.URL.Query(), s.opts.Clock.Now())
	if err != nil {
		s.writeError(w, r, errorf(http.StatusBadRequest, "%v", err))
		return
	}
	pod, ok := s.opts.Kubelet.Pod(ns, name)
	if !ok {
		s.writeError(w, r, errorf(http.StatusNotFound, "pod %q does not exist", name))
		return
	}
	if !hasContainer(pod, container) {
		s.writeError(w, r, errorf(http.StatusNotFound, "container %q not found in pod %q", container, name))
		return
	}
	// The status the kubelet computed says whether there is a log to read, in upstream's
	// words; the runtime then names the file.
	if _, err := logContainerID(pod, container, previous); err != nil {
		s.writeError(w, r, errorf(http.StatusBadRequest, "%v", err))
		return
	}
	ctx := r.Context()
	ref, err := s.opts.Kubelet.Container(ctx, ns, name, container, previous)
	switch {
	case errors.Is(err, kubelet.ErrNotFound) && previous:
		s.writeError(w, r, errorf(http.StatusBadRequest, "previous terminated container %q in pod %q not found", container, name))
		return
	case errors.Is(err, kubelet.ErrNotFound):
		s.writeError(w, r, errorf(http.StatusBadRequest, "container %q in pod %q is not available", container, name))
		return
	case err != nil:
		s.writeError(w, r, errorf(http.StatusBadRequest, "failed to find container %q in pod %q: %v", container, name, err))
		return
	case ref.LogPath == "":
		s.writeError(w, r, errorf(http.StatusBadRequest, "container %q in pod %q has no log file", container, name))
		return
	}
	f := follower{
		wait:    pollWait(s.opts.LogPollInterval),
		running: s.runningCheck(ref),
	}
	w.Header().Set("Content-Type", "text/plain")
	if opts.Follow {
		w.Header().Set("Cache-Control", "no-cache")
	}
	err = copyLogs(ctx, &flushWriter{w: w}, ref.LogPath, opts, f)
	if err != nil && ctx.Err() == nil {
		if errors.Is(err, os.ErrNotExist) {
			// Nothing written yet: the log file appears with the first line.
			return
		}
		s.log.Debug("copying container logs", "pod", ns+"/"+name, "container", container, "err", err)
	}
}

// runningCheck tells a log follower whether the container still runs. The runtime is
// asked at most once a second however often the follower polls the file.
func (s *Server) runningCheck(ref kubelet.ContainerRef) func(context.Context) bool {
	running := ref.Running
	var checked time.Time
	return func(ctx context.Context) bool {
		if !running {
			return false
		}
		now := s.opts.Clock.Now()
		if !checked.IsZero() && now.Sub(checked) < time.Second {
			return true
		}
		checked = now
		st, err := s.containerStatus(ctx, ref.ContainerID)
		running = err == nil && st.GetState() == runtimeapi.ContainerState_CONTAINER_RUNNING
		return running
	}
}

// flushWriter flushes every write, so a followed log reaches the client at once. It writes
// the header on the first write, so errors before it can still set a status.
type flushWriter struct {
	w http.ResponseWriter
}

func (f *flushWriter) Write(p []byte) (int, error) {
	n, err := f.w.Write(p)
	if fl, ok := f.w.(http.Flusher); ok {
		fl.Flush()
	}
	return n, err
}

func (f *flushWriter) Flush() {
	if fl, ok := f.w.(http.Flusher); ok {
		fl.Flush()
	}
}

// logContainerID picks the runtime container whose log is asked for, from the pod status
// the kubelet computed, with upstream's answers when there is none.
func logContainerID(pod *corev1.Pod, container string, previous bool) (string, error) {
	st, ok := findContainerStatus(pod, container)
	if !ok {
		return "", fmt.Errorf("container %q in pod %q is not available", container, pod.Name)
	}
	last, cur := st.LastTerminationState, st.State
	switch {
	case previous:
		if last.Terminated == nil || last.Terminated.ContainerID == "" {
			return "", fmt.Errorf("previous terminated container %q in pod %q not found", container, pod.Name)
		}
		return trimRuntime(last.Terminated.ContainerID), nil
	case cur.Running != nil && st.ContainerID != "":
		return trimRuntime(st.ContainerID), nil
	case cur.Terminated != nil:
		id := cur.Terminated.ContainerID
		if id == "" {
			id = st.ContainerID
		}
		if id == "" {
			return "", fmt.Errorf("container %q in pod %q is terminated", container, pod.Name)
		}
		return trimRuntime(id), nil
	case last.Terminated != nil && last.Terminated.ContainerID != "":
		// Waiting to restart: the last run's log is the current one.
		return trimRuntime(last.Terminated.ContainerID), nil
	case cur.Waiting != nil:
		switch cur.Waiting.Reason {
		case "ErrImagePull", "ImagePullBackOff", "ErrImageNeverPull", "InvalidImageName":
			return "", fmt.Errorf("container %q in pod %q is waiting to start: image can't be pulled", container, pod.Name)
		}
		return "", fmt.Errorf("container %q in pod %q is waiting to start: %s", container, pod.Name, cur.Waiting.Reason)
	case st.ContainerID != "":
		return trimRuntime(st.ContainerID), nil
	}
	return "", fmt.Errorf("container %q in pod %q is not available", container, pod.Name)
}

// trimRuntime drops the "<runtime>://" prefix of a status's container ID.
func trimRuntime(id string) string {
	if _, after, ok := strings.Cut(id, "://"); ok {
		return after
	}
	return id
}

func findContainerStatus(pod *corev1.Pod, name string) (corev1.ContainerStatus, bool) {
	for _, list := range [][]corev1.ContainerStatus{pod.Status.ContainerStatuses, pod.Status.InitContainerStatuses, pod.Status.EphemeralContainerStatuses} {
		for _, st := range list {
			if st.Name == name {
				return st, true
			}
		}
	}
	return corev1.ContainerStatus{}, false
}

func hasContainer(pod *corev1.Pod, name string) bool {
	for _, c := range pod.Spec.Containers {
		if c.Name == name {
			return true
		}
	}
	for _, c := range pod.Spec.InitContainers {
		if c.Name == name {
			return true
		}
	}
	for _, c := range pod.Spec.EphemeralContainers {
		if c.Name == name {
			return true
		}
	}
	return false
}

// findPod is the kubelet's pod of that namespace and name (and UID, when given).
func (s *Server) findPod(ns, name, uid string) *corev1.Pod {
	p, ok := s.opts.Kubelet.Pod(ns, name)
	if !ok || (uid != "" && string(p.UID) != uid) {
		return nil
	}
	return p
}

func (s *Server) containerStatus(ctx context.Context, id string) (*runtimeapi.ContainerStatus, error) {
	resp, err := s.opts.Runtime.ContainerStatus(ctx, &runtimeapi.ContainerStatusRequest{ContainerId: id})
	if err != nil {
		return nil, err
	}
	if resp.GetStatus() == nil {
		return nil, errors.New("the runtime returned no status")
	}
	return resp.GetStatus(), nil
}
