// Package kubectl runs upstream kubectl (k8s.io/kubectl) inside the capstan binary, as
// `capstan kubectl ...` or through a link named kubectl, pointed at this cluster's admin
// kubeconfig unless the user chose another one.
//
// It owns only that defaulting and the hand-over. It must not change kubectl's behaviour in any
// other way: flags, output, errors and exit codes are upstream's. kubectl is a process-level
// program (its commands print errors and exit the process themselves), so Run takes the process
// over; it is the last thing a caller does.
package kubectl

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/component-base/cli"
	kubectlcmd "k8s.io/kubectl/pkg/cmd"
	"k8s.io/kubectl/pkg/cmd/plugin"
	cmdutil "k8s.io/kubectl/pkg/cmd/util"
)

// DefaultKubeconfig is the admin kubeconfig `capstan server` writes.
const DefaultKubeconfig = "/etc/capstan/capstan.yaml"

// KubeconfigEnv names the environment variable that, when set, replaces Options.Kubeconfig.
const KubeconfigEnv = "CAPSTAN_KUBECONFIG"

// Options configure Run.
type Options struct {
	// Kubeconfig is the kubeconfig kubectl uses when KUBECONFIG is unset or empty, no
	// --kubeconfig flag is given and the file is readable; otherwise kubectl follows its own
	// rules (~/.kube/config). Empty means DefaultKubeconfig. $CAPSTAN_KUBECONFIG overrides it.
	Kubeconfig string

	// IOStreams are kubectl's standard streams. Nil fields mean os.Stdin, os.Stdout, os.Stderr.
	IOStreams genericiooptions.IOStreams
}

// InvokedAs reports whether argv0 (os.Args[0]) names kubectl, as a link to capstan named
// kubectl does; main then hands the process to Run with os.Args[1:].
func InvokedAs(argv0 string) bool {
	return filepath.Base(argv0) == "kubectl"
}

// NewCobraCommand returns `capstan kubectl`: every argument after it, flags included, goes to
// kubectl unparsed, so `capstan kubectl get ns -o wide` behaves as `kubectl get ns -o wide`.
// defaultKubeconfig is Options.Kubeconfig.
func NewCobraCommand(defaultKubeconfig string) *cobra.Command {
	return &cobra.Command{
		Use:   "kubectl [kubectl arguments]",
		Short: "Run kubectl against this cluster",
		Long: fmt.Sprintf(`Run upstream kubectl, built into capstan.

Unless KUBECONFIG or --kubeconfig says otherwise, kubectl uses the admin kubeconfig
%s (or $%s) when it is readable.
A link to capstan named kubectl does the same.`, defaultOr(defaultKubeconfig), KubeconfigEnv),
		DisableFlagParsing: true,
		SilenceUsage:       true,
		RunE: func(cmd *cobra.Command, args []string) error {
			return Run(cmd.Context(), Options{
				Kubeconfig: defaultKubeconfig,
				IOStreams: genericiooptions.IOStreams{
					In:     cmd.InOrStdin(),
					Out:    cmd.OutOrStdout(),
					ErrOut: cmd.ErrOrStderr(),
				},
			}, args)
		},
	}
}

// Run runs kubectl with args (without the program name), as upstream's kubectl main does.
//
// It takes the process over: it may set KUBECONFIG (see Options.Kubeconfig), it sets os.Args
// to what kubectl's own main would see, because kubectl reads them (kuberc aliases, plugin
// lookup, `edit` temporary file names), and it restores the default handling of SIGINT and
// SIGTERM so that Ctrl-C ends `kubectl get -w` as it does upstream. When kubectl fails, Run
// prints the error as kubectl does and exits with kubectl's exit code, like kubectl's own
// commands; it returns an error only when it could not start kubectl.
func Run(ctx context.Context, opts Options, args []string) error {
	if path := kubeconfigToUse(os.Getenv, args, defaultOr(opts.Kubeconfig), isReadableFile); path != "" {
		if err := os.Setenv("KUBECONFIG", path); err != nil {
			return fmt.Errorf("setting KUBECONFIG: %w", err)
		}
	}
	streams := withStdio(opts.IOStreams)
	os.Args = append([]string{"kubectl"}, args...)
	signal.Reset(os.Interrupt, syscall.SIGTERM)

	// The same construction as kubectlcmd.NewDefaultKubectlCommand, with our streams.
	cmd := kubectlcmd.NewDefaultKubectlCommandWithArgs(kubectlcmd.KubectlOptions{
		PluginHandler: kubectlcmd.NewDefaultPluginHandler(plugin.ValidPluginFilenamePrefixes),
		Arguments:     os.Args,
		ConfigFlags: genericclioptions.NewConfigFlags(true).
			WithDeprecatedPasswordFlag().
			WithDiscoveryBurst(300).
			WithDiscoveryQPS(50.0).
			WithWarningPrinter(streams),
		IOStreams: streams,
	})
	cmd.SetContext(ctx)
	if err := cli.RunNoErrOutput(cmd); err != nil {
		cmdutil.CheckErr(err) // prints and exits, as upstream kubectl's main does
	}
	return nil
}

// kubeconfigToUse returns the kubeconfig to export as KUBECONFIG before kubectl starts, or ""
// to leave kubectl's own choice alone. The user's choice wins: a non-empty KUBECONFIG or a
// --kubeconfig flag before any "--" (what follows "--" belongs to a command kubectl runs, as in
// `kubectl exec pod -- cmd`). Otherwise it is $CAPSTAN_KUBECONFIG or else fallback, if readable.
func kubeconfigToUse(getenv func(string) string, args []string, fallback string, readable func(string) bool) string {
	if getenv("KUBECONFIG") != "" {
		return ""
	}
	for _, arg := range args {
		if arg == "--" {
			break
		}
		if arg == "--kubeconfig" || strings.HasPrefix(arg, "--kubeconfig=") {
			return ""
		}
	}
	path := getenv(KubeconfigEnv)
	if path == "" {
		path = fallback
	}
	if !readable(path) {
		return ""
	}
	return path
}

func isReadableFile(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	info, err := f.Stat()
	return err == nil && info.Mode().IsRegular()
}

func defaultOr(kubeconfig string) string {
	if kubeconfig == "" {
		return DefaultKubeconfig
	}
	return kubeconfig
}

func withStdio(s genericiooptions.IOStreams) genericiooptions.IOStreams {
	if s.In == nil {
		s.In = os.Stdin
	}
	if s.Out == nil {
		s.Out = os.Stdout
	}
	if s.ErrOut == nil {
		s.ErrOut = os.Stderr
	}
	return s
}
