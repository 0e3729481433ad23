//go:build genman

// The man pages are written by a build of ctmatch with the genman tag (make
// man), so that the ctmatch users run does not link cobra/doc and its
// Markdown and YAML packages, whose initialisation every start would pay.

package main

import (
	"os"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"
)

func init() { extraCommands = append(extraCommands, newManCmd) }

// newManCmd is the hidden command make man runs: it writes a man page per
// command (section 8, with nft(8) and iptables(8)) into a directory. (Shell
// completion is cobra's own completion command.)
func newManCmd() *cobra.Command {
	return &cobra.Command{
		Use:    "gen-man DIR",
		Short:  "Write ctmatch's man pages into DIR",
		Hidden: true,
		Args:   cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return genMan(cmd.Root(), args[0])
		},
	}
}

// genMan writes the man pages of root and its commands into dir, which it
// creates. The pages carry no generation stamp, and their date is
// SOURCE_DATE_EPOCH's when it is set, so that a build can reproduce them.
func genMan(root *cobra.Command, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	root.DisableAutoGenTag = true
	hdr := &doc.GenManHeader{Title: "CTMATCH", Section: "8", Source: "ctmatch " + version(), Manual: "ctmatch manual"}
	return doc.GenManTree(root, hdr, dir)
}
