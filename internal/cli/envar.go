// Package cli holds what Kedastral's commands share as processes: their
// command line (flags read from the environment, the app and its parsing)
// and their signal handling; the workload flags are in internal/workloadflag.
package cli

import (
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"strconv"
	"strings"

	"github.com/alecthomas/kingpin/v2"
	"github.com/prometheus/common/promslog"
	"github.com/prometheus/common/version"
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

// NewApp returns the kingpin application of the command name, with
// --version (the build's version) and -h for --help, writing its usage and
// its errors to stderr.
func NewApp(name, help string, stderr io.Writer) *kingpin.Application {
	app := kingpin.New(name, help)
	app.Version(version.Print(name))
	app.HelpFlag.Short('h')
	app.UsageWriter(stderr)
	app.ErrorWriter(stderr)
	return app
}

// Parse parses args with app and says so on stderr when they do not parse;
// false then means exit code 2.
func Parse(app *kingpin.Application, args []string, stderr io.Writer) bool {
	if _, err := app.Parse(args); err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", app.Name, err)
		return false
	}
	return true
}

// ParseCommandLine parses args with app, makes the logger that log (set
// by app's flags) asks for, and runs check, which settles what parsing
// alone cannot. It returns the logger, or nil and the exit code of a bad
// command line (2).
func ParseCommandLine(app *kingpin.Application, args []string, stderr io.Writer, log *promslog.Config, check func() error) (*slog.Logger, int) {
	if !Parse(app, args, stderr) {
		return nil, 2
	}
	logger := promslog.New(log)
	if err := check(); err != nil {
		logger.Error("Invalid command line", "err", err)
		return nil, 2
	}
	return logger, 0
}

// IntVar makes f a flag of a whole number written into p, as kingpin's own
// IntVar does, except that kingpin reads it with strconv.ParseFloat and
// truncates (--min-replicas=0.9 would be 0): IntVar refuses anything
// strconv.Atoi refuses, fractions and out-of-range numbers among them,
// with an error naming the flag.
func IntVar(f *kingpin.FlagClause, p *int) {
	f.SetValue(intValue{p: p, flag: "--" + f.Model().Name})
}

// intValue is the flag value IntVar gives.
type intValue struct {
	p    *int
	flag string
}

// Set parses s as a whole number.
func (v intValue) Set(s string) error {
	n, err := strconv.Atoi(s)
	if err != nil {
		return fmt.Errorf("%s=%q is not a whole number in the range of an int", v.flag, s)
	}
	*v.p = n
	return nil
}

// String returns the number.
func (v intValue) String() string { return strconv.Itoa(*v.p) }
