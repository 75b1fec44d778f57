// Command vigil is Vigil's single binary: policy tooling, evaluation,
// replay and benchmarks. All wiring lives in package cli.
package main

import (
	"io"
	"log"
	"os"

	"github.com/jezek/xgb"

	"github.com/vigil-itm/vigil/cmd/vigil/cli"
)

func main() {
	// The X protocol library prints to standard error on its own ("Could
	// not get authority info", "A read error is unrecoverable"); the X11
	// sensors and the screen grabber report the same conditions as errors
	// in their health and the agent's log, so its own lines are only noise.
	xgb.Logger = log.New(io.Discard, "", 0)
	os.Exit(cli.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
