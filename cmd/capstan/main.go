// Command capstan is Kubernetes in one binary. main only builds the command tree; each
// command's work lives in internal/.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"capstan/internal/agent"
	"capstan/internal/controllermanager"
	"capstan/internal/dns"
	"capstan/internal/kubectl"
	"capstan/internal/kubelet/images"
	"capstan/internal/logging"
	"capstan/internal/proxy"
	"capstan/internal/scheduler"
	"capstan/internal/server"
	"capstan/internal/version"
)

func main() {
	if err := run(context.Background(), os.Args); err != nil {
		fmt.Fprintf(os.Stderr, "Error: %v\n", err)
		os.Exit(1)
	}
}

// run dispatches on the program name: a link named kubectl is kubectl, anything else is the
// capstan command tree.
func run(ctx context.Context, args []string) error {
	if kubectl.InvokedAs(args[0]) {
		return kubectl.Run(ctx, kubectl.Options{}, args[1:])
	}
	root := newRootCommand()
	root.SetArgs(args[1:])
	return root.ExecuteContext(ctx)
}

func newRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "capstan",
		Short:         "Kubernetes in one binary",
		Version:       version.Get().GitVersion,
		SilenceUsage:  true,
		SilenceErrors: true, // main prints the error once
	}
	root.SetVersionTemplate("capstan version {{.Version}}\n")
	verbosity := root.PersistentFlags().IntP("v", "v", 0, fmt.Sprintf("Log verbosity, as upstream's -v: %d and up logs at debug level", logging.DebugVerbosity))
	root.PersistentPreRunE = func(*cobra.Command, []string) error { return logging.SetVerbosity(*verbosity) }
	root.AddCommand(kubectl.NewCobraCommand(kubectl.DefaultKubeconfig))
	root.AddCommand(server.NewCommand())
	root.AddCommand(controllermanager.NewCommand())
	root.AddCommand(scheduler.NewCommand())
	root.AddCommand(dns.NewCommand())
	root.AddCommand(images.NewCommand())
	root.AddCommand(agent.NewCommand())
	root.AddCommand(proxy.NewCommand())
	return root
}
