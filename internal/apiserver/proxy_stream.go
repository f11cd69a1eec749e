package apiserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"

	gwebsocket "github.com/gorilla/websocket"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/remotecommand"
	clientremote "k8s.io/client-go/tools/remotecommand"
	clientspdy "k8s.io/client-go/transport/spdy"
	"k8s.io/client-go/util/exec"
	"k8s.io/streaming/pkg/httpstream"
	"k8s.io/streaming/pkg/httpstream/spdy"
	"k8s.io/streaming/pkg/httpstream/wsstream"
)

// streamOptions are the streams a pods/exec or pods/attach request asks for.
type streamOptions struct {
	command                    []string
	stdin, stdout, stderr, tty bool
}

func parseStreamOptions(q url.Values, withCommand bool) streamOptions {
	flag := func(name string) bool {
		b, _ := strconv.ParseBool(q.Get(name))
		return b
	}
	o := streamOptions{stdin: flag("stdin"), stdout: flag("stdout"), stderr: flag("stderr"), tty: flag("tty")}
	if withCommand {
		o.command = q["command"]
	}
	return o
}

// query renders the options for the kubelet, as upstream's API server does.
func (o streamOptions) query() url.Values {
	q := url.Values{}
	for name, on := range map[string]bool{"stdin": o.stdin, "stdout": o.stdout, "stderr": o.stderr, "tty": o.tty} {
		if on {
			q.Set(name, "1")
		}
	}
	for _, c := range o.command {
		q.Add("command", c)
	}
	return q
}

// v5Channels are the websocket channels of the v5 remote command protocol, in order:
// stdin, stdout, stderr, the error channel and the terminal resize channel. Streams the
// request did not ask for are ignored.
func (o streamOptions) v5Channels() []wsstream.ChannelType {
	pick := func(on bool, t wsstream.ChannelType) wsstream.ChannelType {
		if on {
			return t
		}
		return wsstream.IgnoreChannel
	}
	return []wsstream.ChannelType{
		pick(o.stdin, wsstream.ReadChannel),
		pick(o.stdout, wsstream.WriteChannel),
		pick(o.stderr && !o.tty, wsstream.WriteChannel),
		wsstream.WriteChannel,
		pick(o.tty, wsstream.ReadChannel),
	}
}

// translateRemoteCommand serves a websocket client of the v5 remote command protocol (what
// kubectl speaks first) by running the command on the kubelet over SPDY and carrying the
// streams, the resize events and the final status between the two.
func (s *Server) translateRemoteCommand(w http.ResponseWriter, r *http.Request, kc *kubeletClient, target *url.URL, opts streamOptions) {
	conn := wsstream.NewConn(map[string]wsstream.ChannelProtocolConfig{
		remotecommand.StreamProtocolV5Name: {Binary: true, Channels: opts.v5Channels()},
	})
	_, channels, err := conn.Open(w, r)
	if err != nil {
		s.logger.Debug("websocket handshake for a remote command failed", "err", err)
		return
	}
	defer conn.Close()

	ctx, cancel := context.WithCancel(context.WithoutCancel(r.Context()))
	defer cancel()
	streamOpts := clientremote.StreamOptions{Tty: opts.tty}
	if opts.stdin {
		streamOpts.Stdin = channels[remotecommand.StreamStdIn]
	}
	// A client that went away fails our writes: then the command's streams are dropped.
	if opts.stdout {
		streamOpts.Stdout = &cancelOnError{w: channels[remotecommand.StreamStdOut], cancel: cancel}
	}
	if opts.stderr && !opts.tty {
		streamOpts.Stderr = &cancelOnError{w: channels[remotecommand.StreamStdErr], cancel: cancel}
	}
	if opts.tty {
		q := newResizeQueue(ctx, channels[remotecommand.StreamResize])
		streamOpts.TerminalSizeQueue = q
	}
	err = s.streamToKubelet(ctx, kc, target, streamOpts)
	status := remoteCommandStatus(err)
	data, _ := json.Marshal(status)
	_, _ = channels[remotecommand.StreamErr].Write(data)
}

// streamToKubelet runs the remote command of target on the kubelet over SPDY.
func (s *Server) streamToKubelet(ctx context.Context, kc *kubeletClient, target *url.URL, opts clientremote.StreamOptions) error {
	rt, err := spdy.NewRoundTripperWithConfig(spdy.RoundTripperConfig{TLS: kc.tls.Clone()})
	if err != nil {
		return err
	}
	executor, err := clientremote.NewSPDYExecutorForTransports(rt, clientspdy.NewUpgraderForStreaming(rt), http.MethodPost, target)
	if err != nil {
		return err
	}
	return executor.StreamWithContext(ctx, opts)
}

// remoteCommandStatus is the Status the v4 and v5 protocols end with: success, the exit
// code of a command that failed, or the error.
func remoteCommandStatus(err error) metav1.Status {
	if err == nil {
		return metav1.Status{Status: metav1.StatusSuccess}
	}
	var exit exec.CodeExitError
	if errors.As(err, &exit) {
		return metav1.Status{
			Status:  metav1.StatusFailure,
			Reason:  remotecommand.NonZeroExitCodeReason,
			Message: fmt.Sprintf("command terminated with non-zero exit code: %v", exit.Err),
			Details: &metav1.StatusDetails{Causes: []metav1.StatusCause{
				{Type: remotecommand.ExitCodeCauseType, Message: strconv.Itoa(exit.Code)},
			}},
		}
	}
	return metav1.Status{Status: metav1.StatusFailure, Message: err.Error()}
}

// cancelOnError is a writer that cancels the stream when a write fails.
type cancelOnError struct {
	w      io.Writer
	cancel context.CancelFunc
}

func (c *cancelOnError) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	if err != nil {
		c.cancel()
	}
	return n, err
}

// resizeQueue feeds the terminal sizes the client sends on the resize channel (JSON
// objects {"Width":..,"Height":..}) to the SPDY executor.
type resizeQueue struct {
	ctx   context.Context
	sizes chan clientremote.TerminalSize
}

func newResizeQueue(ctx context.Context, r io.Reader) *resizeQueue {
	q := &resizeQueue{ctx: ctx, sizes: make(chan clientremote.TerminalSize, 1)}
	go func() {
		dec := json.NewDecoder(r)
		for {
			var size clientremote.TerminalSize
			if err := dec.Decode(&size); err != nil {
				return
			}
			select {
			case q.sizes <- size:
			case <-ctx.Done():
				return
			}
		}
	}()
	return q
}

// Next returns the next size, or nil once the stream is over.
func (q *resizeQueue) Next() *clientremote.TerminalSize {
	select {
	case size := <-q.sizes:
		return &size
	case <-q.ctx.Done():
		return nil
	}
}

// tunnelPrefix marks a websocket subprotocol that tunnels a SPDY protocol.
const tunnelPrefix = "SPDY/3.1+"

// tunnelPortForward serves a websocket client that tunnels SPDY port forwarding (kubectl
// port-forward's first choice): the kubelet is asked for a plain SPDY upgrade, and the
// bytes of that connection travel in binary websocket messages.
func (s *Server) tunnelPortForward(w http.ResponseWriter, r *http.Request, kc *kubeletClient, target *url.URL) {
	var protocols []string
	for _, p := range gwebsocket.Subprotocols(r) {
		if strings.HasPrefix(p, tunnelPrefix) {
			protocols = append(protocols, strings.TrimPrefix(p, tunnelPrefix))
		}
	}
	req, err := http.NewRequestWithContext(r.Context(), http.MethodPost, target.String(), nil)
	if err != nil {
		writeStatusJSON(w, statusOf(http.StatusInternalServerError, err.Error()))
		return
	}
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "SPDY/3.1")
	for _, p := range protocols {
		req.Header.Add(httpstream.HeaderProtocolVersion, p)
	}
	resp, err := kc.transport.RoundTrip(req)
	if err != nil {
		writeStatusJSON(w, statusOf(http.StatusServiceUnavailable, fmt.Sprintf("error trying to reach the kubelet: %v", err)))
		return
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		defer resp.Body.Close()
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(resp.StatusCode)
		_, _ = w.Write(body)
		return
	}
	backend, ok := resp.Body.(io.ReadWriteCloser)
	if !ok {
		resp.Body.Close()
		writeStatusJSON(w, statusOf(http.StatusInternalServerError, "the kubelet's upgraded connection is not writable"))
		return
	}
	defer backend.Close()
	chosen := tunnelPrefix + resp.Header.Get(httpstream.HeaderProtocolVersion)
	up := gwebsocket.Upgrader{
		Subprotocols:    []string{chosen},
		CheckOrigin:     func(*http.Request) bool { return true },
		ReadBufferSize:  32 << 10,
		WriteBufferSize: 32 << 10,
	}
	ws, err := up.Upgrade(w, r, nil)
	if err != nil {
		s.logger.Debug("websocket upgrade for port forwarding failed", "err", err)
		return
	}
	defer ws.Close()
	spliceTunnel(ws, backend)
}

// spliceTunnel copies binary websocket messages to conn and conn's bytes back as binary
// messages, until either side ends.
func spliceTunnel(ws *gwebsocket.Conn, conn io.ReadWriteCloser) {
	var once sync.Once
	done := make(chan struct{})
	stop := func() { once.Do(func() { close(done) }) }
	go func() {
		defer stop()
		for {
			kind, rd, err := ws.NextReader()
			if err != nil {
				return
			}
			if kind != gwebsocket.BinaryMessage {
				continue
			}
			if _, err := io.Copy(conn, rd); err != nil {
				return
			}
		}
	}()
	go func() {
		defer stop()
		buf := make([]byte, 32<<10)
		for {
			n, err := conn.Read(buf)
			if n > 0 {
				if werr := ws.WriteMessage(gwebsocket.BinaryMessage, buf[:n]); werr != nil {
					return
				}
			}
			if err != nil {
				return
			}
		}
	}()
	<-done
	_ = ws.WriteMessage(gwebsocket.CloseMessage, gwebsocket.FormatCloseMessage(gwebsocket.CloseNormalClosure, ""))
	conn.Close()
	ws.Close()
}

func statusOf(code int, msg string) metav1.Status {
	reason := metav1.StatusReasonInternalError
	if code == http.StatusServiceUnavailable {
		reason = metav1.StatusReasonServiceUnavailable
	}
	return metav1.Status{Status: metav1.StatusFailure, Code: int32(code), Reason: reason, Message: msg}
}
