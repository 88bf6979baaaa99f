// Command localkms serves a KMS-compatible API on loopback for local
// development (see internal/localkms). It is not part of the product.
package main

import (
	"flag"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/kehu-dev/kehu/internal/localkms"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:4599", "listen address")
	config := flag.String("config", "local/kms.json", "seed file: keys and credentials with their grants")
	data := flag.String("data", ".local/kms", "folder for key material (empty: memory only)")
	flag.Parse()
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	cfg, err := localkms.LoadConfig(*config)
	if err != nil {
		log.Error("localkms config", "err", err)
		os.Exit(1)
	}
	srv, err := localkms.New(cfg, *data, log)
	if err != nil {
		log.Error("localkms start", "err", err)
		os.Exit(1)
	}
	log.Info("localkms listening", "addr", *addr)
	hs := &http.Server{Addr: *addr, Handler: srv, ReadHeaderTimeout: 5 * time.Second}
	if err := hs.ListenAndServe(); err != nil {
		log.Error("localkms", "err", err)
		os.Exit(1)
	}
}
