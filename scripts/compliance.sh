#!/usr/bin/env bash
# Runs the Prometheus remote-write compliance suites against Kedastral, by hand.
#
#   scripts/compliance.sh CHECKOUT [receiver|sender|both]
#
# CHECKOUT is a checkout of github.com/prometheus/compliance (it is not on the
# Go module proxy, so CI cannot run this). The checkout is left as it is: the
# suites run in a copy under $WORK (default: a new temporary directory).
#
# receiver: the forecaster in push mode (a workload selecting every metric)
#   and Prometheus (bin/prometheus, --web.enable-remote-write-receiver) are
#   the suite's two receivers, side by side. QUERY, when set, is the
#   workload's query instead: QUERY='sum(rate(app_requests_total[5m]))'
#   selects none of the suite's metrics, so that the forecaster drops every
#   series, as it drops most in production.
# sender:   scripts/compliance/kedastral_target.go is installed as the
#   suite's "kedastral" target, next to its own "prometheus" one (which
#   downloads a release and is not run here), and the suite runs against it.
#
# Each suite writes its go test -json stream to $WORK/<suite>.json and a
# table of passes and failures per top-level test to $WORK/<suite>.txt.
# RUN, when set, is the -run pattern of the suites' tests.
set -euo pipefail

checkout=${1:?usage: scripts/compliance.sh CHECKOUT [receiver|sender|both]}
suites=${2:-both}
root=$(cd "$(dirname "$0")/.." && pwd)
checkout=$(cd "$checkout" && pwd)
WORK=${WORK:-$(mktemp -d /tmp/kedastral-compliance.XXXXXX)}
mkdir -p "$WORK"
echo "work directory: $WORK"

rm -rf "$WORK/compliance"
cp -r "$checkout" "$WORK/compliance"
(cd "$root" && CGO_ENABLED=0 go build -o "$WORK/forecaster" ./cmd/forecaster)

# summary FILE prints, per top-level test and subject, the subtests passed
# and failed.
summary() {
	go run "$root/scripts/compliance/summary.go" "$1"
}

run_receiver() {
	local prom=$root/bin/prometheus
	[ -x "$prom" ] || (cd "$root" && make tools >/dev/null)
	local data=$WORK/receiver-data pids=()
	rm -rf "$data" && mkdir -p "$data/prometheus" "$data/forecaster"
	printf 'global:\n  scrape_interval: 1m\n' >"$data/prometheus.yml"
	"$prom" --web.enable-remote-write-receiver --config.file="$data/prometheus.yml" \
		--storage.tsdb.path="$data/prometheus" --web.listen-address=127.0.0.1:19090 \
		>"$WORK/prometheus.log" 2>&1 &
	pids+=($!)
	local query='count({__name__=~".+"})'
	"$WORK/forecaster" --storage.path="$data/forecaster" --workload=all \
		--query="${QUERY:-$query}" --web.listen-address=127.0.0.1:19091 \
		>"$WORK/forecaster-receiver.log" 2>&1 &
	pids+=($!)
	trap 'kill "${pids[@]}" 2>/dev/null || true' RETURN
	for _ in $(seq 60); do
		curl -sf -o /dev/null 127.0.0.1:19090/-/ready && curl -sf -o /dev/null 127.0.0.1:19091/-/healthy && break
		sleep 0.5
	done
	cat >"$WORK/receivers.yml" <<-EOF
		remote_write:
		  - name: prometheus
		    url: http://127.0.0.1:19090/api/v1/write
		  - name: forecaster
		    url: http://127.0.0.1:19091/api/v1/write
	EOF
	(cd "$WORK/compliance/remotewrite/receiver" &&
		PROMETHEUS_RW2_COMPLIANCE_CONFIG_FILE=$WORK/receivers.yml go test -json -count=1 -timeout 30m -run "${RUN:-.}" ./... \
			>"$WORK/receiver.json" 2>"$WORK/receiver.err") || true
	summary "$WORK/receiver.json" | tee "$WORK/receiver.txt"
}

run_sender() {
	local dir=$WORK/compliance/remotewrite/sender
	sed '/^\/\/go:build ignore$/d' "$root/scripts/compliance/kedastral_target.go" >"$dir/targets/kedastral.go"
	# Register the target beside the suite's own.
	grep -q '"kedastral"' "$dir/main_test.go" ||
		sed -i 's|^\(\t*\)"prometheus": targets.RunPrometheus,|&\n\1"kedastral":  targets.RunKedastral,|' "$dir/main_test.go"
	grep -q '"kedastral"' "$dir/main_test.go" || { echo "cannot register the target in $dir/main_test.go" >&2; exit 1; }
	# The suite stops the target with SIGINT after its timeout and exits the
	# whole run (log.Fatalf) when the target has exited before, as the
	# forecaster does at once on the URL of TestNetworkErrors/invalid_url_scheme:
	# in the copy, that is logged instead.
	sed -i 's|log.Fatalf("failed to send signal: %v", err)|log.Printf("failed to send signal: %v", err)|' "$dir/targets/common.go"
	(cd "$dir" && KEDASTRAL_FORECASTER_BINARY=$WORK/forecaster PROMETHEUS_RW2_COMPLIANCE_SENDERS=kedastral \
		go test -json -count=1 -timeout 60m -run "${RUN:-.}" ./... >"$WORK/sender.json" 2>"$WORK/sender.err") || true
	summary "$WORK/sender.json" | tee "$WORK/sender.txt"
}

case $suites in
receiver) run_receiver ;;
sender) run_sender ;;
both) run_receiver && run_sender ;;
*) echo "unknown suite $suites: receiver, sender or both" >&2 && exit 2 ;;
esac
