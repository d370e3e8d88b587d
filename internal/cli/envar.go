// Package cli holds what Kedastral's commands share as processes: their
// command line (flags read from the environment, workload flags) and their
// signal handling.
package cli

import (
	"regexp"
	"strings"

	"github.com/alecthomas/kingpin/v2"
)

// EnvPrefix starts the environment variable of every flag.
const EnvPrefix = "KEDASTRAL_"

// SetEnvars lets every visible flag of app also be set by an environment
// variable: EnvPrefix, then the flag's name upper-cased with every run of other
// characters than letters and digits turned into "_" (--web.listen-address is
// KEDASTRAL_WEB_LISTEN_ADDRESS). A flag given on the command line wins over its
// variable. Call it once every flag is defined.
func SetEnvars(app *kingpin.Application) {
	for _, f := range app.Model().Flags {
		if f.Hidden || f.Name == "help" || f.Name == "version" {
			continue
		}
		app.GetFlag(f.Name).Envar(EnvarName(f.Name))
	}
}

// EnvarName returns the environment variable SetEnvars gives the flag name.
func EnvarName(name string) string {
	nonAlnum := regexp.MustCompile(`[^a-zA-Z0-9]+`)
	return EnvPrefix + strings.ToUpper(nonAlnum.ReplaceAllString(name, "_"))
}
