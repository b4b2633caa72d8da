package main

import (
	"context"
	"errors"
	"fmt"
	"github.com/gatehousehq/gatehouse/revocation"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
)

// Exit codes of every command.
const (
	exitOK      = 0 // success
	exitInvalid = 1 // the token is invalid or could not be checked
	exitUsage   = 2 // bad flags or arguments, unreadable files, bad values
)

// maxTokenBytes bounds a token read from stdin or given as an argument.
const maxTokenBytes = 1 << 20

// exitError ends a command with an exit code and a one-line message. A result
// that is not a usage error (an invalid token) is an exitError with code
// exitInvalid; every other error a command returns exits with exitUsage.
type exitError struct {
	code int
	msg  string // printed as is; empty when the command printed its own
}

func (e *exitError) Error() string { return e.msg }

// usagef reports a usage error (exit 2). Its message says what is wrong and
// what to do; it never quotes a token, a key or a secret.
func usagef(format string, args ...any) error {
	return &exitError{code: exitUsage, msg: fmt.Sprintf(format, args...)}
}

// invalidf reports a token that is invalid or could not be checked (exit 1).
func invalidf(format string, args ...any) error {
	return &exitError{code: exitInvalid, msg: fmt.Sprintf(format, args...)}
}

// env is what a command reads and writes instead of the process globals.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	// deny is the deny list that the parts of one 'gatehouse serve' share
	// in memory (see processDenyList in serve_shared.go).
	deny *revocation.List
	// ownProcess is set when the command is the whole process (main), not
	// a test calling run: 'gatehouse serve' then gives the kernel back the
	// pages of the binary that only its start touched (startpages.go),
	// which in a test would be the test binary's.
	ownProcess bool
}

// run executes the gatehouse command line args and returns the exit code.
// Tests call it directly; main passes the process's streams.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return runContext(context.Background(), args, stdin, stdout, stderr)
}

// runContext is run with a context that commands see as cmd.Context():
// main cancels it on SIGINT or SIGTERM, tests cancel it to stop
// 'gatehouse serve'.
func runContext(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return runEnv(ctx, &env{stdin: stdin, stdout: stdout, stderr: stderr}, args)
}

// runEnv executes the command line args with the streams of e.
func runEnv(ctx context.Context, e *env, args []string) int {
	stdin, stdout, stderr := e.stdin, e.stdout, e.stderr
	root := newRootCmd(e)
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return exitOK
	}
	var xe *exitError
	if errors.As(err, &xe) {
		if xe.msg != "" {
			fmt.Fprintln(stderr, oneLine(xe.msg))
		}
		return xe.code
	}
	// Errors from cobra and pflag: unknown flags, missing required flags,
	// wrong argument counts, unparsable flag values.
	path := root.Name()
	if cmd != nil {
		path = cmd.CommandPath()
	}
	fmt.Fprintf(stderr, "%s: %s; run '%s --help' for usage\n", path, oneLine(err.Error()), path)
	return exitUsage
}

// oneLine keeps an error message on one line.
func oneLine(s string) string {
	s = strings.TrimSpace(s)
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", " ")), " ")
}

func newRootCmd(e *env) *cobra.Command {
	root := &cobra.Command{
		Use:   "gatehouse",
		Short: "Secure the traffic between microservices with signed tokens",
		Long: `gatehouse issues and checks the signed JWT access tokens that services
send each other. This binary runs the auth server, manages its users, clients
and signing keys, and mints, verifies and decodes tokens.

Exit codes: 0 success, 1 the token is invalid or could not be checked,
2 usage error (bad flags or arguments, unreadable files, bad values) or
any other failure (store unreachable, address in use).`,
		Example: `  gatehouse serve --config gatehouse.yaml
  gatehouse keys generate --alg ES256 --out key.jwk
  gatehouse token mint --key key.jwk --iss https://auth.example --aud orders --sub alice --ttl 15m > token.jwt
  gatehouse token verify --jwks key.jwk --iss https://auth.example --aud orders < token.jwt`,
		SilenceErrors: true,
		SilenceUsage:  true,
		Args:          noSubcommand,
		RunE:          showHelp,
	}
	root.CompletionOptions.DisableDefaultCmd = true
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return usagef("%s: %s; run '%s --help' for usage", cmd.CommandPath(), oneLine(err.Error()), cmd.CommandPath())
	})
	root.AddCommand(newServeCmd(e), newUserCmd(e), newClientCmd(e), newKeysCmd(e), newTokenCmd(e), newCACmd(e), newDemoCmd(e), newVersionCmd(e))
	addTokenRevokeCmd(root, e) // token_revoke.go
	return root
}

// showHelp is the action of a command that only groups subcommands.
func showHelp(cmd *cobra.Command, _ []string) error { return cmd.Help() }

// noSubcommand refuses an unknown subcommand of a group.
func noSubcommand(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	what := "unknown command"
	if a := showArg(args[0]); a != "" {
		what += " " + a
	}
	cmd.SuggestionsMinimumDistance = 2
	if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
		what += fmt.Sprintf(" (did you mean %q?)", s[0])
	}
	return usagef("%s: %s; run '%s --help' to list the commands", cmd.CommandPath(), what, cmd.CommandPath())
}

// noArgs refuses positional arguments of a command that takes none.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	got := fmt.Sprintf("%d", len(args))
	if a := showArg(args[0]); a != "" {
		got = a
	}
	return usagef("%s: takes no arguments, got %s; run '%s --help' for usage", cmd.CommandPath(), got, cmd.CommandPath())
}

// showArg quotes a positional argument for an error message, or returns ""
// when it may be a token, a secret or a path pasted in the wrong place.
func showArg(a string) string {
	if len(a) > 24 || strings.ContainsAny(a, ".=/") {
		return ""
	}
	return fmt.Sprintf("%q", a)
}

// quoteShort quotes a user-given value for an error message when it is short
// enough to be a plain value; a long one may be a token or a secret given to
// the wrong flag, and is not repeated.
func quoteShort(s string) string {
	if len(s) > 24 {
		return "(value not shown)"
	}
	return fmt.Sprintf("%q", s)
}

// readToken returns the token of a command: its one argument, or stdin when
// the argument is "-" or absent.
func readToken(e *env, cmd *cobra.Command, args []string) (string, error) {
	if len(args) == 1 && args[0] != "-" {
		return strings.TrimSpace(args[0]), nil
	}
	if len(args) == 0 {
		if f, ok := e.stdin.(*os.File); ok {
			if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
				return "", usagef("%s: no token given: pass it as an argument, or pipe it on stdin (see '%s --help')",
					cmd.CommandPath(), cmd.CommandPath())
			}
		}
	}
	if e.stdin == nil {
		return "", usagef("%s: no token given and no stdin to read it from", cmd.CommandPath())
	}
	data, err := io.ReadAll(io.LimitReader(e.stdin, maxTokenBytes+1))
	if err != nil {
		return "", usagef("%s: cannot read the token from stdin: %v", cmd.CommandPath(), err)
	}
	if len(data) > maxTokenBytes {
		return "", usagef("%s: stdin holds more than %d bytes, which is no token; pipe the token alone", cmd.CommandPath(), maxTokenBytes)
	}
	raw := strings.TrimSpace(string(data))
	if raw == "" {
		return "", usagef("%s: no token on stdin: pipe the token, or pass it as an argument", cmd.CommandPath())
	}
	return raw, nil
}

// tokenArg accepts at most one positional argument, the token or "-".
func tokenArg(cmd *cobra.Command, args []string) error {
	if len(args) > 1 {
		return usagef("%s: takes one token (or '-' for stdin), got %d arguments; run '%s --help' for usage",
			cmd.CommandPath(), len(args), cmd.CommandPath())
	}
	return nil
}
