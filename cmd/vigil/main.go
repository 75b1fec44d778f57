// Command vigil is Vigil's single binary: policy tooling, evaluation,
// replay and benchmarks. All wiring lives in package cli.
package main

import (
	"os"

	"github.com/vigil-itm/vigil/cmd/vigil/cli"
)

func main() { os.Exit(cli.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) }
