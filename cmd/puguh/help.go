package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// helpCommand is `puguh help [COMMAND [SUBCOMMAND]]`.
var helpCommand = &command{
	name:    "help",
	summary: "show every command, or one command's usage and flags",
	usage:   "[COMMAND [SUBCOMMAND]]",
	anyArgs: true,
	about:   "Without a command, lists every command. `puguh CMD --help` (or -h) shows the same page as `puguh help CMD`.",
	setup: func(*flag.FlagSet) action {
		return func(_ context.Context, in *invocation, args []string) error {
			if len(args) == 0 {
				writeOverview(in.stdout)
				return nil
			}
			cmd, path, rest, err := find(args)
			if err == nil && len(rest) > 0 {
				err = usagef("unknown command %q", rest[0])
			}
			if err != nil {
				// Reported as the command line it names would be.
				in.path = strings.Join(path, " ")
				return err
			}
			writeHelp(in.stdout, cmd, strings.Join(path, " "))
			return nil
		}
	},
}

// helpTail closes `puguh help`.
const helpTail = `Run 'puguh help COMMAND' (or 'puguh COMMAND --help') for a command's usage and flags.
Configuration comes from PUGUH_* environment variables; see README.md.
`

// writeOverview lists every runnable command, one line each.
func writeOverview(w io.Writer) {
	fmt.Fprint(w, "usage: puguh COMMAND [ARGUMENTS] [FLAGS]   (no command: serve)\n\ncommands:\n")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	var walk func(prefix string, cmds []*command)
	walk = func(prefix string, cmds []*command) {
		for _, c := range cmds {
			if c.subs != nil {
				walk(prefix+c.name+" ", c.subs)
				continue
			}
			fmt.Fprintf(tw, "  %s%s\t%s\n", prefix, c.name, c.summary)
		}
	}
	walk("", commands)
	tw.Flush()
	fmt.Fprint(w, "\n"+helpTail)
}

// writeHelp writes the help page of cmd, found at path.
func writeHelp(w io.Writer, cmd *command, path string) {
	if cmd.subs != nil {
		fmt.Fprintf(w, "usage: puguh %s COMMAND ...\n\n%s.\n", path, capitalize(cmd.summary))
		if cmd.about != "" {
			fmt.Fprintf(w, "\n%s\n", cmd.about)
		}
		fmt.Fprint(w, "\ncommands:\n")
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		for _, c := range cmd.subs {
			fmt.Fprintf(tw, "  %s %s\t%s\n", path, c.name, c.summary)
		}
		tw.Flush()
		fmt.Fprintf(w, "\nRun 'puguh help %s COMMAND' for a command's usage and flags.\n", path)
		return
	}
	fmt.Fprintf(w, "usage: %s\n\n%s.\n", strings.TrimSpace("puguh "+path+" "+cmd.usage), capitalize(cmd.summary))
	if cmd.about != "" {
		fmt.Fprintf(w, "\n%s\n", cmd.about)
	}
	fs := newFlagSet(path)
	cmd.setup(fs)
	var lines []string
	fs.VisitAll(func(f *flag.Flag) {
		name, usage := flag.UnquoteUsage(f)
		left := "  --" + f.Name
		if len(f.Name) == 1 {
			left = "  -" + f.Name
		}
		if name != "" {
			left += " " + strings.ToUpper(name)
		}
		if d := f.DefValue; d != "" && d != "false" && d != "0" && d != "[]" {
			usage += " (default " + d + ")"
		}
		lines = append(lines, left+"\t"+usage)
	})
	if len(lines) > 0 {
		fmt.Fprint(w, "\nflags:\n")
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		for _, l := range lines {
			fmt.Fprintln(tw, l)
		}
		tw.Flush()
	}
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
