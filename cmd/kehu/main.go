// Command kehu is the operator's CLI. It works against the local stack and
// against AWS with the usual AWS configuration (environment, profiles, SSO).
//
//	kehu setup                          create the blind-index secret (once, after deploying)
//	kehu forms put FILE                 store a form definition
//	kehu forms list                     list form definitions
//	kehu customer show ID               a profile, decrypting the tiers these credentials may read
//	kehu customer find --email E | --phone P
//	kehu review list                    submissions that matched two customers
//
// Configuration: TABLE_NAME (or --table), KMS_KEY_BLIND_INDEX for setup.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv))
}

const usage = `usage:
  kehu setup
  kehu forms put FILE
  kehu forms list
  kehu customer show ID [--json]
  kehu customer find (--email ADDRESS | --phone NUMBER)
  kehu review list
environment: TABLE_NAME (or --table), KMS_KEY_BLIND_INDEX (setup), and the usual AWS_* settings
`

var errUsage = errors.New("usage")

func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	fs := flag.NewFlagSet("kehu", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	table := fs.String("table", getenv("TABLE_NAME"), "table name")
	asJSON := fs.Bool("json", false, "print JSON")
	email := fs.String("email", "", "email address to find")
	phone := fs.String("phone", "", "phone number to find")
	var words []string
	for rest := args; len(rest) > 0; {
		if err := fs.Parse(rest); err != nil {
			fmt.Fprint(stderr, usage)
			return 2
		}
		rest = fs.Args()
		if len(rest) > 0 {
			words = append(words, rest[0])
			rest = rest[1:]
		}
	}
	if *table == "" && !(len(words) > 0 && words[0] == "help") {
		fmt.Fprintln(stderr, "kehu: set TABLE_NAME or --table")
		return 2
	}
	c, err := connect(ctx, *table, getenv)
	if err != nil {
		fmt.Fprintln(stderr, "kehu:", err)
		return 1
	}
	err = dispatch(ctx, c, words, *asJSON, *email, *phone, getenv, stdout)
	switch {
	case errors.Is(err, errUsage):
		fmt.Fprint(stderr, usage)
		return 2
	case err != nil:
		fmt.Fprintln(stderr, "kehu:", err)
		return 1
	}
	return 0
}

func dispatch(ctx context.Context, c *cli, words []string, asJSON bool, email, phone string, getenv func(string) string, out io.Writer) error {
	switch {
	case len(words) == 1 && words[0] == "setup":
		return c.setup(ctx, getenv("KMS_KEY_BLIND_INDEX"), out)
	case len(words) == 3 && words[0] == "forms" && words[1] == "put":
		return c.formsPut(ctx, words[2], out)
	case len(words) == 2 && words[0] == "forms" && words[1] == "list":
		return c.formsList(ctx, out)
	case len(words) == 3 && words[0] == "customer" && words[1] == "show":
		return c.customerShow(ctx, words[2], asJSON, out)
	case len(words) == 2 && words[0] == "review" && words[1] == "list":
		return c.reviewList(ctx, out)
	case len(words) == 2 && words[0] == "customer" && words[1] == "find" && (email == "") != (phone == ""):
		return c.customerFind(ctx, email, phone, out)
	}
	return errUsage
}
