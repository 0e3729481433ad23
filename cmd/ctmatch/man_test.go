//go:build genman

package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// make man writes one man page per command that a user can run, each with
// the command's name and its short help, in section 8; no hidden command
// and no generation stamp (the pages are reproducible).
func TestGenMan(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "man")
	t.Setenv("SOURCE_DATE_EPOCH", "0")
	if r := runCLI(t, []string{"gen-man", dir}, ""); r.code != 0 {
		t.Fatalf("gen-man: exit %d: %s", r.code, r.stderr)
	}
	var want []string
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if !c.IsAvailableCommand() && c.HasParent() {
			return
		}
		want = append(want, strings.ReplaceAll(c.CommandPath(), " ", "-")+".8")
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	root := newRootCmd(strings.NewReader(""))
	root.InitDefaultCompletionCmd()
	walk(root)
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("man pages:\n got %v\nwant %v", got, want)
	}
	for _, name := range []string{"ctmatch.8", "ctmatch-translate.8", "ctmatch-apply.8"} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		page := string(b)
		for _, s := range []string{`.TH "CTMATCH" "8" "Jan 1970"`, ".SH NAME", ".SH SYNOPSIS", ".SH DESCRIPTION"} {
			if !strings.Contains(page, s) {
				t.Errorf("%s lacks %q", name, s)
			}
		}
		if strings.Contains(page, "Auto generated") || strings.Contains(page, "gen-man") {
			t.Errorf("%s names its generation or the hidden command", name)
		}
	}
}

// make completion writes the shells' completion scripts with cobra's
// completion command; each completes ctmatch's commands.
func TestCompletion(t *testing.T) {
	for shell, marker := range map[string]string{"bash": "__start_ctmatch", "zsh": "#compdef ctmatch", "fish": "complete -c ctmatch"} {
		r := runCLI(t, []string{"completion", shell}, "")
		if r.code != 0 || !strings.Contains(r.stdout, marker) {
			t.Errorf("completion %s: exit %d, %d bytes without %q: %s", shell, r.code, len(r.stdout), marker, r.stderr)
		}
	}
	r := runCLI(t, []string{"__complete", "tr"}, "")
	if !strings.Contains(r.stdout, "translate") {
		t.Errorf("completing \"tr\": %q, want translate", r.stdout)
	}
}
