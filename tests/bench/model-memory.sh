#!/bin/sh
# model-memory.sh - run inside the VM (see Documentation/benchmarks.md):
# the time a new process takes to open, map and validate a model, and the
# memory each additional process holding it costs, for a model shared by
# llmos.ko (llmos:NAME) beside the same file mapped directly.  Prints only.
#   tools/vm-run --mem 2048 --file tests/bench/model-memory.sh \
#       --file ../shared/models/stories260K-f32.gguf -- sh model-memory.sh
used_kb() { awk '/^MemTotal:/ { t = $2 } /^MemAvailable:/ { a = $2 } END { print t - a }' /proc/meminfo; }

# measure LABEL MODEL: load timing, then 4 processes holding the model at once.
measure() {
	llmos bench-load -m "$2" -r 20 | sed "s|^|$1: |"
	base=$(used_kb)
	pids=""
	for i in 1 2 3 4; do
		rm -f "ready$i"
		llmos bench-load -m "$2" -r 1 --hold 120 --ready "ready$i" >/dev/null &
		pids="$pids $!"
	done
	while ! [ -e ready1 ] || ! [ -e ready2 ] || ! [ -e ready3 ] || ! [ -e ready4 ]; do
		sleep 0.1
	done
	after=$(used_kb)
	pss=0
	anon=0
	for p in $pids; do
		pss=$((pss + $(awk '$1 == "Pss:" { print $2 }' /proc/$p/smaps_rollup)))
		anon=$((anon + $(awk '$1 == "Anonymous:" { print $2 }' /proc/$p/smaps_rollup)))
	done
	echo "$1: 4 processes holding it: Pss $pss kB in all ($((pss / 4)) kB each)," \
		"anonymous $anon kB in all; MemTotal-MemAvailable moved $((after - base)) kB"
	kill $pids
	wait
}

small=stories260K-f32.gguf
[ -f "$small" ] || { echo "model-memory: $small missing (pass it with --file)"; exit 1; }
llmos mkmodel --preset 110m --type q8_0 big.gguf 2>/dev/null
llmosctl load small "$small" 2>/dev/null
llmosctl load big big.gguf 2>/dev/null
llmosctl list
measure "small, file mmap" "$small"
measure "small, llmos.ko" llmos:small
measure "110M q8_0, file mmap" big.gguf
measure "110M q8_0, llmos.ko" llmos:big
llmosctl unload small
llmosctl unload big
