// Command web is a stand-in for hoist's reference service, used by the
// dockerengine tests: the same flags and routes, standard library only.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"time"
)

var (
	version = "dev"
	commit  = "none"
	date    = "unknown"
)

func main() {
	addr := flag.String("addr", ":8080", "listen address")
	health := flag.Bool("healthcheck", false, "probe /healthz of a running instance and exit")
	showVersion := flag.Bool("version", false, "print the version and exit")
	flag.Parse()

	if *showVersion {
		fmt.Println(version, commit, date)
		return
	}
	if *health {
		_, port, err := net.SplitHostPort(*addr)
		if err != nil {
			os.Exit(2)
		}
		c := http.Client{Timeout: 2 * time.Second}
		resp, err := c.Get("http://127.0.0.1:" + port + "/healthz")
		if err != nil || resp.StatusCode != http.StatusOK {
			os.Exit(1)
		}
		return
	}

	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("/version", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]string{"version": version, "commit": commit, "date": date})
	})
	log.Printf("web %s listening on %s", version, *addr)
	log.Fatal(http.ListenAndServe(*addr, mux))
}
