#!/bin/sh
# sched.sh - run inside the VM (see Documentation/benchmarks.md, "Scheduler"):
# `llmos bench-sched` on the tiny model shared through llmos.ko, then on a
# synthetic 15M-parameter model whose steps are long enough for the
# difference to show: the interactive client's per-token latency alone,
# beside 3 background clients under the scheduler, and beside them
# unscheduled; the background throughput; the cost of a step's grant.
# Prints only.
#   tools/vm-run --mem 2048 --timeout 900 --file tests/bench/sched.sh \
#       --file ../shared/models/stories260K-f32.gguf -- sh sched.sh
small=stories260K-f32.gguf
[ -f "$small" ] || { echo "sched.sh: $small missing (pass it with --file)"; exit 1; }
llmosctl load tiny "$small" >/dev/null
llmos bench-sched -m llmos:tiny -n ${TINY_TOKENS:-512} --background 3 -t 2
llmosctl stats
llmosctl unload tiny
if llmos mkmodel --preset 15m --type q8_0 big.gguf >/dev/null 2>&1; then
	llmosctl load big big.gguf >/dev/null
	llmos bench-sched -m llmos:big -n ${BIG_TOKENS:-48} --background 3 --steps 200 -t 2
	llmosctl stats
	llmosctl unload big
fi
