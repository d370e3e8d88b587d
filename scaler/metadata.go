// Package scaler is Kedastral's KEDA External Scaler: a gRPC server that
// answers KEDA with each workload's desired replicas from an in-memory cache
// of forecasts, refreshed in the background from the forecasters or from
// Prometheus, and falls back to a safe replica count when the forecast is
// missing or old.
package scaler

import (
	"fmt"
	"strconv"
	"time"

	"github.com/prometheus/common/model"

	"github.com/HatiCode/kedastral/internal/clip"
)

// Metadata keys a ScaledObject's trigger may set (scalerMetadata).
const (
	KeyWorkload   = "workload"
	KeyDefaultMin = "defaultMin"
	KeyStaleAfter = "staleAfter"
)

// MaxWorkloadName bounds a workload's name, in bytes: a Kubernetes object
// name's length, as the forecaster's configuration does. A longer name is
// refused: names come from the scaler's clients.
const MaxWorkloadName = 253

// Defaults are the settings of a ScaledObject that sets none: the
// scaler's flags.
type Defaults struct {
	// Workload is used when the metadata names none; empty means required.
	Workload string
	// DefaultMin is returned when the forecast is missing or stale.
	DefaultMin int
	// StaleAfter is the age past which a forecast is not used.
	StaleAfter time.Duration
}

// Metadata is a ScaledObject's trigger metadata, parsed and checked.
type Metadata struct {
	// Workload names the forecaster workload whose plan is served.
	Workload string
	// DefaultMin is returned when the forecast is missing or stale.
	DefaultMin int
	// StaleAfter is the age past which a forecast is not used.
	StaleAfter time.Duration
}

// ParseMetadata reads the trigger metadata over the defaults. Keys it does
// not know (KEDA's own, such as scalerAddress) are ignored.
func ParseMetadata(m map[string]string, d Defaults) (Metadata, error) {
	md := Metadata(d)
	if w, ok := m[KeyWorkload]; ok {
		md.Workload = w
	}
	switch {
	case md.Workload == "":
		return Metadata{}, fmt.Errorf("metadata %q is required (or start the scaler with --workload)", KeyWorkload)
	case len(md.Workload) > MaxWorkloadName:
		return Metadata{}, fmt.Errorf("metadata %s=%q is %d bytes long, more than %d", KeyWorkload, clip.String(md.Workload), len(md.Workload), MaxWorkloadName)
	}
	if v, ok := m[KeyDefaultMin]; ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > MaxReplicas {
			return Metadata{}, fmt.Errorf("metadata %s=%q must be a whole number of replicas, 0 to %d", KeyDefaultMin, clip.String(v), MaxReplicas)
		}
		md.DefaultMin = n
	}
	if v, ok := m[KeyStaleAfter]; ok {
		// The syntax of --stale-after and of Prometheus: 2m, 1h30m, 1d.
		d, err := model.ParseDuration(v)
		if err != nil || d <= 0 {
			return Metadata{}, fmt.Errorf("metadata %s=%q must be a positive duration such as 2m or 1h30m", KeyStaleAfter, clip.String(v))
		}
		md.StaleAfter = time.Duration(d)
	}
	return md, nil
}
