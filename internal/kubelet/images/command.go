package images

import (
	"fmt"
	"log/slog"
	"strings"

	"github.com/spf13/cobra"

	"capstan/internal/kubelet/cri"
)

// DefaultEndpoint is the socket of the containerd the agent supervises.
const DefaultEndpoint = "unix:///run/capstan/containerd/containerd.sock"

// NewCommand returns `capstan images`, with `import FILE...`.
func NewCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "images",
		Short: "Manage the images of this node's container runtime",
		Args:  cobra.NoArgs,
	}
	var endpoint string
	imp := &cobra.Command{
		Use:   "import FILE...",
		Short: "Import image tarballs (docker-archive or OCI, optionally gzipped) into the node's containerd",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path, err := cri.SocketPath(endpoint)
			if err != nil {
				return err
			}
			im := &Importer{Address: path, Logger: slog.New(slog.DiscardHandler)}
			for _, file := range args {
				names, err := im.Import(cmd.Context(), file)
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s: %s\n", file, strings.Join(names, ", "))
			}
			return nil
		},
	}
	imp.Flags().StringVar(&endpoint, "container-runtime-endpoint", DefaultEndpoint, "containerd socket to import into")
	cmd.AddCommand(imp)
	return cmd
}
