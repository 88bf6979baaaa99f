// Command kehu is the operator's CLI. It works against the local stack and
// against AWS with the usual AWS configuration (environment, profiles, SSO).
//
//	kehu setup                          create the blind-index secret (once, after deploying)
//	kehu forms put FILE                 store a form definition
//	kehu forms list                     list form definitions
//	kehu customer show ID               a profile, decrypting the tiers these credentials may read
//	kehu customer history ID            every value each field had, with its source
//	kehu customer restore ID --field F --submission S
//	                                    make an earlier value current again (recorded)
//	kehu customer find --email E | --phone P
//	kehu review list                    submissions left for a person to decide
//	kehu surveys put FILE | list        update survey definitions
//	kehu surveys send [--dry-run]       run the survey sender once, now (SMTP: KEHU_SMTP_ADDR)
//	kehu customer request-review ID     make a customer due for the update survey now
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
	"regexp"
	"strings"
	"unicode/utf8"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv))
}

const usage = `usage:
  kehu setup
  kehu forms put FILE
  kehu forms list [--json]
  kehu customer show ID [--json]
  kehu customer history ID [--json]
  kehu customer restore ID --field FIELD --submission SUBMISSION_ID [--json]
  kehu customer find (--email ADDRESS | --phone NUMBER) [--json]
  kehu review list [--json]
  kehu sources put FILE | sources list | sources secret add ID (secret on stdin) | sources secret remove ID N
  kehu quarantine list | quarantine show ID | quarantine replay ID | quarantine drop ID
  kehu segments list | segments members NAME [--limit N]
  kehu report quality
  kehu surveys put FILE | surveys list | surveys send [--dry-run]
  kehu customer request-review ID
  kehu audit ID
  kehu customer export ID [--out FILE] [--html]
  kehu customer erase ID --reason TEXT | customer restrict ID | customer unrestrict ID
  kehu consent withdraw ID --purpose PURPOSE --channel phone|letter|email|in-person
  kehu requests list [--open | --since YYYY-MM-DD]
  every read of personal data is audited; --purpose TEXT says what it is for
environment: TABLE_NAME (or --table), KMS_KEY_BLIND_INDEX (setup), and the usual AWS_* settings
`

var errUsage = errors.New("usage")

// freeTextMax bounds what an operator writes into a record kept forever.
const freeTextMax = 200

var longDigits = regexp.MustCompile(`\p{Nd}{6,}`)

// isoDate is a date (2006-01-02): allowed, the rest is checked.
var isoDate = regexp.MustCompile(`\b\d{4}-\d{2}-\d{2}\b`)

// notDigits are what people put between a number's digits.
var notDigits = regexp.MustCompile(`[^\p{L}\p{Nd}]+`)

// freeText refuses, in text kept after an erasure, what looks like
// personal data: an address (@), a run of six or more digits (a phone, an
// id number), or more than freeTextMax characters.
func freeText(s string) error {
	switch {
	case utf8.RuneCountInString(s) > freeTextMax:
		return fmt.Errorf("is longer than %d characters (say why briefly, with a ticket number)", freeTextMax)
	case strings.Contains(s, "@"):
		return errors.New("must not hold an email address (it is kept after an erasure)")
	case longDigits.MatchString(notDigits.ReplaceAllString(isoDate.ReplaceAllString(s, ""), "")):
		return errors.New("must not hold six or more digits in a row (a phone or id number; it is kept after an erasure); a short ticket number is fine")
	}
	return nil
}

// stdin is where `sources secret add` reads the new secret (tests replace it).
var stdin io.Reader = os.Stdin

func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	fs := flag.NewFlagSet("kehu", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	table := fs.String("table", getenv("TABLE_NAME"), "table name")
	asJSON := fs.Bool("json", false, "print JSON")
	email := fs.String("email", "", "email address to find")
	phone := fs.String("phone", "", "phone number to find")
	field := fs.String("field", "", "field to restore")
	submission := fs.String("submission", "", "submission whose value to restore")
	limit := fs.String("limit", "", "how many members at most")
	dryRun := fs.Bool("dry-run", false, "count what would be sent; send and write nothing")
	purpose := fs.String("purpose", "", "what a read of personal data is for (recorded in its audit record); for consent withdraw, the purpose withdrawn")
	reason := fs.String("reason", "", "why (kehu customer erase)")
	outPath := fs.String("out", "", "write to this file (kehu customer export)")
	asHTML := fs.Bool("html", false, "a readable page instead of JSON (kehu customer export)")
	openOnly := fs.Bool("open", false, "only requests not answered yet (kehu requests list)")
	since := fs.String("since", "", "requests made since this date, YYYY-MM-DD (kehu requests list; default: the last 35 days)")
	channel := fs.String("channel", "", "how the person asked: phone, letter, email or in-person (kehu consent withdraw)")
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
	c.errOut = stderr
	f := flags{json: *asJSON, email: *email, phone: *phone, field: *field, submission: *submission, limit: *limit, dryRun: *dryRun, purpose: *purpose, purposeName: *purpose, reason: *reason, out: *outPath, html: *asHTML, open: *openOnly, since: *since, channel: *channel}
	err = dispatch(ctx, c, words, f, getenv, stdout)
	switch {
	case errors.Is(err, errUsage):
		fmt.Fprint(stderr, usage)
		return 2
	case errors.Is(err, errNotFound):
		fmt.Fprintln(stderr, "kehu:", err)
		return 1
	case err != nil:
		fmt.Fprintln(stderr, "kehu:", err)
		return 1
	}
	return 0
}

// flags are the options every command may take.
type flags struct {
	json              bool
	email, phone      string
	field, submission string
	limit             string
	dryRun            bool
	purpose           string
	purposeName       string // consent withdraw --purpose
	reason            string
	out               string
	html              bool
	open              bool
	since             string
	channel           string
}

func dispatch(ctx context.Context, c *cli, words []string, f flags, getenv func(string) string, out io.Writer) error {
	c.json, c.purpose = f.json, f.purpose
	// --reason and --purpose are kept forever (the tombstone, the audit):
	// a reason, a ticket number — never the person's details.
	for name, v := range map[string]string{"--reason": f.reason, "--purpose": f.purpose} {
		if err := freeText(v); err != nil {
			return fmt.Errorf("%w: %s %v", errUsage, name, err)
		}
	}
	switch {
	case len(words) == 1 && words[0] == "setup":
		return c.setup(ctx, getenv("KMS_KEY_BLIND_INDEX"), out)
	case len(words) == 3 && words[0] == "forms" && words[1] == "put":
		return c.formsPut(ctx, words[2], out)
	case len(words) == 2 && words[0] == "forms" && words[1] == "list":
		return c.formsList(ctx, out)
	case len(words) == 3 && words[0] == "customer" && words[1] == "show":
		return c.customerShow(ctx, words[2], out)
	case len(words) == 3 && words[0] == "customer" && words[1] == "history":
		return c.customerHistory(ctx, words[2], out)
	case len(words) == 3 && words[0] == "customer" && words[1] == "restore" && f.field != "" && f.submission != "":
		return c.customerRestore(ctx, words[2], f.field, f.submission, out)
	case len(words) == 2 && words[0] == "review" && words[1] == "list":
		return c.reviewList(ctx, out)
	case len(words) == 2 && words[0] == "customer" && words[1] == "find" && (f.email == "") != (f.phone == ""):
		return c.customerFind(ctx, f.email, f.phone, out)
	case len(words) == 3 && words[0] == "sources" && words[1] == "put":
		return c.sourcesPut(ctx, words[2], getenv, out)
	case len(words) == 2 && words[0] == "sources" && words[1] == "list":
		return c.sourcesList(ctx, out)
	case len(words) == 4 && words[0] == "sources" && words[1] == "secret" && words[2] == "add":
		return c.sourcesSecretAdd(ctx, words[3], stdin, getenv, out)
	case len(words) == 5 && words[0] == "sources" && words[1] == "secret" && words[2] == "remove":
		return c.sourcesSecretRemove(ctx, words[3], words[4], out)
	case len(words) == 3 && words[0] == "surveys" && words[1] == "put":
		return c.surveysPut(ctx, words[2], out)
	case len(words) == 2 && words[0] == "surveys" && words[1] == "list":
		return c.surveysList(ctx, out)
	case len(words) == 2 && words[0] == "surveys" && words[1] == "send":
		return c.surveysSend(ctx, f.dryRun, getenv, out)
	case len(words) == 3 && words[0] == "customer" && words[1] == "request-review":
		return c.customerRequestReview(ctx, words[2], out)
	case len(words) == 3 && words[0] == "customer" && words[1] == "export":
		return c.customerExport(ctx, words[2], f.out, f.html, out, c.errOut)
	case len(words) == 3 && words[0] == "customer" && words[1] == "erase":
		return c.customerErase(ctx, words[2], f.reason, out)
	case len(words) == 3 && words[0] == "customer" && (words[1] == "restrict" || words[1] == "unrestrict"):
		return c.customerRestrict(ctx, words[2], words[1] == "restrict", out)
	case len(words) == 3 && words[0] == "consent" && words[1] == "withdraw" && f.purposeName != "":
		return c.consentWithdraw(ctx, words[2], f.purposeName, f.channel, out)
	case len(words) == 2 && words[0] == "requests" && words[1] == "list":
		return c.requestsList(ctx, f.open, f.since, out)
	case len(words) == 2 && words[0] == "audit":
		return c.audit(ctx, words[1], out)
	case len(words) == 2 && words[0] == "report" && words[1] == "quality":
		return c.reportQuality(ctx, out)
	case len(words) == 2 && words[0] == "segments" && words[1] == "list":
		return c.segmentsList(ctx, out)
	case len(words) == 3 && words[0] == "segments" && words[1] == "members":
		return c.segmentsMembers(ctx, words[2], f.limit, out)
	case len(words) == 2 && words[0] == "quarantine" && words[1] == "list":
		return c.quarantineList(ctx, out)
	case len(words) == 3 && words[0] == "quarantine" && words[1] == "show":
		return c.quarantineShow(ctx, words[2], out)
	case len(words) == 3 && words[0] == "quarantine" && words[1] == "replay":
		return c.quarantineReplay(ctx, words[2], getenv, out)
	case len(words) == 3 && words[0] == "quarantine" && words[1] == "drop":
		return c.quarantineDrop(ctx, words[2], out)
	}
	return errUsage
}
