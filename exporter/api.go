package exporter

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"time"
)

// StaleHeader is set to "true" on a snapshot older than the stale-after
// limit, and to "false" otherwise.
const StaleHeader = "X-Kedastral-Stale"

// API serves snapshots as JSON.
type API struct {
	store      Snapshots
	staleAfter time.Duration
	now        func() time.Time
	logger     *slog.Logger
}

// NewAPI returns the JSON API of store's snapshots. now is the clock (nil
// means time.Now).
func NewAPI(store Snapshots, staleAfter time.Duration, now func() time.Time, logger *slog.Logger) *API {
	if now == nil {
		now = time.Now
	}
	return &API{store: store, staleAfter: staleAfter, now: now, logger: logger}
}

// errorBody is the JSON body of every error answer.
type errorBody struct {
	Error string `json:"error"`
}

// ServeCurrent answers GET /forecast/current?workload=NAME with the
// workload's snapshot: 200 (stale or not, see StaleHeader), 400 without a
// workload, 404 when the workload has no snapshot, 405 for other methods.
func (a *API) ServeCurrent(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		a.writeJSON(w, http.StatusMethodNotAllowed, errorBody{Error: "method not allowed: use GET"})
		return
	}
	name := r.URL.Query().Get("workload")
	if name == "" {
		a.writeJSON(w, http.StatusBadRequest, errorBody{Error: "missing query parameter: workload"})
		return
	}
	s, ok := a.store.Get(name)
	if !ok {
		a.writeJSON(w, http.StatusNotFound, errorBody{Error: fmt.Sprintf("snapshot not found for workload %q", name)})
		return
	}
	w.Header().Set(StaleHeader, fmt.Sprint(s.Age(a.now()) > a.staleAfter))
	a.writeJSON(w, http.StatusOK, s)
}

func (a *API) writeJSON(w http.ResponseWriter, code int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		a.logger.Error("Cannot encode a JSON answer", "err", err)
		code = http.StatusInternalServerError
		body = []byte(`{"error":"cannot encode the answer"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_, _ = w.Write(append(body, '\n'))
}
