package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"capstan/internal/kubelet"
)

// streamRequest is what an /exec or /attach query asks for.
type streamRequest struct {
	command                    []string
	stdin, stdout, stderr, tty bool
}

// parseStreamQuery reads an /exec or /attach query. As upstream, a TTY merges stderr into
// stdout, and at least one stream must be asked for.
func parseStreamQuery(q url.Values, exec bool) (streamRequest, error) {
	var req streamRequest
	flag := func(name string) bool {
		b, _ := strconv.ParseBool(q.Get(name))
		return b
	}
	req.stdin, req.stdout, req.stderr, req.tty = flag("stdin"), flag("stdout"), flag("stderr"), flag("tty")
	if req.tty {
		req.stderr = false
	}
	if !req.stdin && !req.stdout && !req.stderr {
		return req, errorf(http.StatusBadRequest, "you must specify at least 1 of stdin, stdout, stderr")
	}
	if exec {
		req.command = q["command"]
		if len(req.command) == 0 {
			return req, errorf(http.StatusBadRequest, "you must specify a command")
		}
	}
	return req, nil
}

// parsePorts reads the "port" values of a /portForward query (websocket clients name their
// ports there; SPDY clients name them per stream).
func parsePorts(q url.Values) ([]int32, error) {
	var out []int32
	for _, v := range q["port"] {
		p, err := strconv.ParseUint(v, 10, 16)
		if err != nil || p == 0 {
			return nil, errorf(http.StatusBadRequest, "invalid port %q", v)
		}
		out = append(out, int32(p))
	}
	return out, nil
}

func (s *Server) serveExec(w http.ResponseWriter, r *http.Request) {
	req, err := parseStreamQuery(r.URL.Query(), true)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	id, err := s.runningContainer(r.Context(), r.PathValue("namespace"), r.PathValue("pod"), r.PathValue("uid"), r.PathValue("container"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	resp, err := s.opts.Runtime.Exec(r.Context(), &runtimeapi.ExecRequest{
		ContainerId: id, Cmd: req.command, Tty: req.tty, Stdin: req.stdin, Stdout: req.stdout, Stderr: req.stderr,
	})
	if err != nil {
		s.writeError(w, r, fmt.Errorf("exec in container %s: %w", id, err))
		return
	}
	s.proxyStream(w, r, resp.GetUrl())
}

func (s *Server) serveAttach(w http.ResponseWriter, r *http.Request) {
	req, err := parseStreamQuery(r.URL.Query(), false)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	id, err := s.runningContainer(r.Context(), r.PathValue("namespace"), r.PathValue("pod"), r.PathValue("uid"), r.PathValue("container"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	resp, err := s.opts.Runtime.Attach(r.Context(), &runtimeapi.AttachRequest{
		ContainerId: id, Tty: req.tty, Stdin: req.stdin, Stdout: req.stdout, Stderr: req.stderr,
	})
	if err != nil {
		s.writeError(w, r, fmt.Errorf("attach to container %s: %w", id, err))
		return
	}
	s.proxyStream(w, r, resp.GetUrl())
}

func (s *Server) servePortForward(w http.ResponseWriter, r *http.Request) {
	ports, err := parsePorts(r.URL.Query())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	ns, name := r.PathValue("namespace"), r.PathValue("pod")
	pod := s.findPod(ns, name, r.PathValue("uid"))
	if pod == nil {
		s.writeError(w, r, errorf(http.StatusNotFound, "pod does not exist"))
		return
	}
	sandbox, err := s.podSandbox(r.Context(), pod)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	resp, err := s.opts.Runtime.PortForward(r.Context(), &runtimeapi.PortForwardRequest{PodSandboxId: sandbox, Port: ports})
	if err != nil {
		s.writeError(w, r, fmt.Errorf("port forward to pod sandbox %s: %w", sandbox, err))
		return
	}
	s.proxyStream(w, r, resp.GetUrl())
}

// proxyStream hands the client's request to the runtime's streaming server at rawURL and,
// once the server switches protocols (SPDY or websocket, as the client asked), splices the
// two connections. The runtime's one-time URL carries the whole request, so the client's
// path and query are dropped.
func (s *Server) proxyStream(w http.ResponseWriter, r *http.Request, rawURL string) {
	target, err := url.Parse(rawURL)
	if err != nil || target.Host == "" {
		s.writeError(w, r, fmt.Errorf("the runtime returned a bad streaming URL %q", rawURL))
		return
	}
	p := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			u := *target
			pr.Out.URL = &u
			pr.Out.Host = target.Host
			pr.Out.RequestURI = ""
		},
		Transport:     s.stream,
		FlushInterval: -1,
		ErrorLog:      nil,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if r.Context().Err() != nil {
				return
			}
			s.log.Debug("streaming proxy", "path", r.URL.Path, "err", err)
			http.Error(w, "error proxying to the container runtime: "+err.Error(), http.StatusBadGateway)
		},
	}
	p.ServeHTTP(w, r)
}

// runningContainer is the runtime ID of the running container of that name in the pod.
func (s *Server) runningContainer(ctx context.Context, ns, name, uid, container string) (string, error) {
	if s.findPod(ns, name, uid) == nil {
		return "", errorf(http.StatusNotFound, "pod does not exist")
	}
	ref, err := s.opts.Kubelet.Container(ctx, ns, name, container, false)
	if errors.Is(err, kubelet.ErrNotFound) || (err == nil && !ref.Running) {
		return "", errorf(http.StatusNotFound, "container not found (%q)", container)
	}
	if err != nil {
		return "", fmt.Errorf("finding container %q: %w", container, err)
	}
	return ref.ContainerID, nil
}

// podSandbox is the pod's running sandbox: the one its running containers are in, else the
// newest ready sandbox of its UID.
func (s *Server) podSandbox(ctx context.Context, pod *corev1.Pod) (string, error) {
	uid := string(pod.UID)
	for _, c := range pod.Spec.Containers {
		ref, err := s.opts.Kubelet.Container(ctx, pod.Namespace, pod.Name, c.Name, false)
		if err != nil {
			continue
		}
		if ref.Running && ref.PodSandboxID != "" {
			return ref.PodSandboxID, nil
		}
		// A static pod's sandbox carries the UID of the manifest's pod, not the mirror's.
		uid = string(ref.PodUID)
	}
	return s.readySandbox(ctx, uid, pod)
}

// podSandboxes are the runtime's sandboxes of the pod UID.
func (s *Server) podSandboxes(ctx context.Context, uid string) ([]*runtimeapi.PodSandbox, error) {
	resp, err := s.opts.Runtime.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{})
	if err != nil {
		return nil, fmt.Errorf("listing pod sandboxes: %w", err)
	}
	var out []*runtimeapi.PodSandbox
	for _, sb := range resp.GetItems() {
		if sb.GetMetadata().GetUid() == uid {
			out = append(out, sb)
		}
	}
	return out, nil
}

// readySandbox is the ready sandbox of the pod UID, the newest if the runtime has several.
func (s *Server) readySandbox(ctx context.Context, uid string, pod *corev1.Pod) (string, error) {
	sandboxes, err := s.podSandboxes(ctx, uid)
	if err != nil {
		return "", err
	}
	var best *runtimeapi.PodSandbox
	for _, sb := range sandboxes {
		if sb.GetState() != runtimeapi.PodSandboxState_SANDBOX_READY {
			continue
		}
		if best == nil || sb.GetCreatedAt() > best.GetCreatedAt() {
			best = sb
		}
	}
	if best == nil {
		return "", errorf(http.StatusNotFound, "pod %s/%s has no running sandbox", pod.Namespace, pod.Name)
	}
	return best.GetId(), nil
}
