package scaler

import (
	"strings"
	"testing"
	"time"
)

func TestParseMetadata(t *testing.T) {
	// The scaler's flags: --default-min=2 --stale-after=2m, with or without
	// --workload.
	flags := Defaults{DefaultMin: 2, StaleAfter: 2 * time.Minute}
	withWorkload := Defaults{Workload: "checkout", DefaultMin: 2, StaleAfter: 2 * time.Minute}

	for _, tc := range []struct {
		name     string
		metadata map[string]string
		defaults Defaults
		want     Metadata
		wantErr  string
	}{
		{
			name:     "workload from the metadata",
			metadata: map[string]string{"workload": "checkout"},
			defaults: flags,
			want:     Metadata{Workload: "checkout", DefaultMin: 2, StaleAfter: 2 * time.Minute},
		},
		{
			name:     "workload from --workload when the metadata names none",
			metadata: map[string]string{},
			defaults: withWorkload,
			want:     Metadata{Workload: "checkout", DefaultMin: 2, StaleAfter: 2 * time.Minute},
		},
		{
			name:     "nil metadata reads as empty",
			metadata: nil,
			defaults: withWorkload,
			want:     Metadata{Workload: "checkout", DefaultMin: 2, StaleAfter: 2 * time.Minute},
		},
		{
			name:     "the metadata's workload wins over --workload",
			metadata: map[string]string{"workload": "search"},
			defaults: withWorkload,
			want:     Metadata{Workload: "search", DefaultMin: 2, StaleAfter: 2 * time.Minute},
		},
		{
			name:     "no workload anywhere",
			metadata: map[string]string{"scalerAddress": "kedastral-scaler:8080"},
			defaults: flags,
			wantErr:  `metadata "workload" is required (or start the scaler with --workload)`,
		},
		{
			// An explicit empty value is taken as written, not as "use the default".
			name:     "an empty workload key overrides --workload",
			metadata: map[string]string{"workload": ""},
			defaults: withWorkload,
			wantErr:  `metadata "workload" is required (or start the scaler with --workload)`,
		},
		{
			name:     "defaultMin and staleAfter overrides",
			metadata: map[string]string{"workload": "checkout", "defaultMin": "5", "staleAfter": "90s"},
			defaults: flags,
			want:     Metadata{Workload: "checkout", DefaultMin: 5, StaleAfter: 90 * time.Second},
		},
		{
			name:     "defaultMin 0 lets a stale plan scale to zero",
			metadata: map[string]string{"workload": "checkout", "defaultMin": "0"},
			defaults: flags,
			want:     Metadata{Workload: "checkout", DefaultMin: 0, StaleAfter: 2 * time.Minute},
		},
		{
			name:     "compound duration",
			metadata: map[string]string{"workload": "checkout", "staleAfter": "1h30m"},
			defaults: flags,
			want:     Metadata{Workload: "checkout", DefaultMin: 2, StaleAfter: 90 * time.Minute},
		},
		{
			name: "KEDA's own keys are ignored",
			metadata: map[string]string{
				"workload": "checkout", "scalerAddress": "kedastral-scaler.kedastral:8080",
				"caCert": "-----BEGIN CERTIFICATE-----", "enableTLS": "true", "unsafeSsl": "false",
			},
			defaults: flags,
			want:     Metadata{Workload: "checkout", DefaultMin: 2, StaleAfter: 2 * time.Minute},
		},
		{
			name:     "keys are case sensitive: DefaultMin is not defaultMin",
			metadata: map[string]string{"workload": "checkout", "DefaultMin": "-7"},
			defaults: flags,
			want:     Metadata{Workload: "checkout", DefaultMin: 2, StaleAfter: 2 * time.Minute},
		},
		{
			name:     "defaultMin negative",
			metadata: map[string]string{"workload": "checkout", "defaultMin": "-1"},
			defaults: flags,
			wantErr:  `metadata defaultMin="-1" must be a whole number of replicas, 0 to 2147483647`,
		},
		{
			name:     "defaultMin fractional",
			metadata: map[string]string{"workload": "checkout", "defaultMin": "1.5"},
			defaults: flags,
			wantErr:  `metadata defaultMin="1.5" must be a whole number of replicas, 0 to 2147483647`,
		},
		{
			name:     "defaultMin not a number",
			metadata: map[string]string{"workload": "checkout", "defaultMin": "three"},
			defaults: flags,
			wantErr:  `metadata defaultMin="three" must be a whole number of replicas, 0 to 2147483647`,
		},
		{
			name:     "defaultMin empty",
			metadata: map[string]string{"workload": "checkout", "defaultMin": ""},
			defaults: flags,
			wantErr:  `metadata defaultMin="" must be a whole number of replicas, 0 to 2147483647`,
		},
		{
			name:     "defaultMin with spaces",
			metadata: map[string]string{"workload": "checkout", "defaultMin": " 3"},
			defaults: flags,
			wantErr:  `metadata defaultMin=" 3" must be a whole number of replicas, 0 to 2147483647`,
		},
		{
			// 2^64 overflows int64: Atoi fails rather than wrapping.
			name:     "defaultMin overflows",
			metadata: map[string]string{"workload": "checkout", "defaultMin": "18446744073709551616"},
			defaults: flags,
			wantErr:  `metadata defaultMin="18446744073709551616" must be a whole number of replicas, 0 to 2147483647`,
		},
		{
			name:     "staleAfter not a duration",
			metadata: map[string]string{"workload": "checkout", "staleAfter": "soon"},
			defaults: flags,
			wantErr:  `metadata staleAfter="soon" must be a positive duration such as 2m or 1h30m`,
		},
		{
			name:     "staleAfter without a unit",
			metadata: map[string]string{"workload": "checkout", "staleAfter": "120"},
			defaults: flags,
			wantErr:  `metadata staleAfter="120" must be a positive duration such as 2m or 1h30m`,
		},
		{
			name:     "staleAfter zero",
			metadata: map[string]string{"workload": "checkout", "staleAfter": "0s"},
			defaults: flags,
			wantErr:  `metadata staleAfter="0s" must be a positive duration such as 2m or 1h30m`,
		},
		{
			name:     "staleAfter negative",
			metadata: map[string]string{"workload": "checkout", "staleAfter": "-1m"},
			defaults: flags,
			wantErr:  `metadata staleAfter="-1m" must be a positive duration such as 2m or 1h30m`,
		},
		{
			// 2^31 − 1 is the most a Kubernetes replica count holds.
			name:     "defaultMin above an int32",
			metadata: map[string]string{"workload": "checkout", "defaultMin": "2147483648"},
			defaults: flags,
			wantErr:  `metadata defaultMin="2147483648" must be a whole number of replicas, 0 to 2147483647`,
		},
		{
			// --stale-after's syntax (Prometheus's): days, but no fractions.
			name:     "staleAfter in days",
			metadata: map[string]string{"workload": "checkout", "staleAfter": "1d"},
			defaults: flags,
			want:     Metadata{Workload: "checkout", DefaultMin: 2, StaleAfter: 24 * time.Hour},
		},
		{
			name:     "staleAfter fractional",
			metadata: map[string]string{"workload": "checkout", "staleAfter": "1.5m"},
			defaults: flags,
			wantErr:  `metadata staleAfter="1.5m" must be a positive duration such as 2m or 1h30m`,
		},
		{
			// 253 bytes, the most: accepted.
			name:     "workload of 253 bytes",
			metadata: map[string]string{"workload": strings.Repeat("w", 253)},
			defaults: flags,
			want:     Metadata{Workload: strings.Repeat("w", 253), DefaultMin: 2, StaleAfter: 2 * time.Minute},
		},
		{
			// 254 bytes: refused, the name quoted to 200 characters and the
			// 54 bytes cut counted.
			name:     "workload of 254 bytes",
			metadata: map[string]string{"workload": strings.Repeat("w", 254)},
			defaults: flags,
			wantErr:  `metadata workload="` + strings.Repeat("w", 200) + `…(+54 bytes)" is 254 bytes long, more than 253`,
		},
		{
			// A value of a megabyte is quoted to 200 characters.
			name:     "defaultMin of a megabyte",
			metadata: map[string]string{"workload": "checkout", "defaultMin": strings.Repeat("9", 1<<20)},
			defaults: flags,
			wantErr:  `metadata defaultMin="` + strings.Repeat("9", 200) + `…(+1048376 bytes)" must be a whole number of replicas, 0 to 2147483647`,
		},
		{
			// The workload is checked first, so its message is the one given.
			name:     "several errors: the workload's is reported",
			metadata: map[string]string{"defaultMin": "-1", "staleAfter": "soon"},
			defaults: flags,
			wantErr:  `metadata "workload" is required (or start the scaler with --workload)`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseMetadata(tc.metadata, tc.defaults)
			if tc.wantErr != "" {
				if err == nil {
					t.Fatalf("ParseMetadata = %+v, want error %q", got, tc.wantErr)
				}
				if err.Error() != tc.wantErr {
					t.Fatalf("error %q, want %q", err, tc.wantErr)
				}
				if got != (Metadata{}) {
					t.Errorf("with an error, metadata %+v, want the zero Metadata", got)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if got != tc.want {
				t.Errorf("ParseMetadata = %+v, want %+v", got, tc.want)
			}
		})
	}
}
