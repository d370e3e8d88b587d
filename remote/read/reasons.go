package read

// ComponentSource is the component of kedastral_errors_total{component,reason}
// that sources count their errors under.
const ComponentSource = "source"

// Reasons of kedastral_errors_total{component="source",reason}.
const (
	// The query could not be run.
	ReasonUnavailable = "unavailable"  // Prometheus could not be reached
	ReasonTimeout     = "timeout"      // the query timed out
	ReasonCanceled    = "canceled"     // Prometheus cancelled the query
	ReasonBadQuery    = "bad_query"    // Prometheus refused the query (bad_data)
	ReasonQueryError  = "query_error"  // the query failed to evaluate (execution)
	ReasonServerError = "server_error" // a 5xx that is not a query error
	ReasonClientError = "client_error" // a 4xx that is not a query error (e.g. 401)
	ReasonBadResponse = "bad_response" // an answer that is not a range-query result
	// The query ran, but its data needs care.
	ReasonNoData    = "empty_result" // no series, or no finite value at all
	ReasonNonFinite = "non_finite"   // NaN or ±Inf samples, dropped
)

// Reasons returns every reason a source counts, in the order above.
func Reasons() []string {
	return []string{ReasonUnavailable, ReasonTimeout, ReasonCanceled, ReasonBadQuery, ReasonQueryError,
		ReasonServerError, ReasonClientError, ReasonBadResponse, ReasonNoData, ReasonNonFinite}
}
