#!/usr/bin/env bash
# make test-cluster: start a single-node Slurm on localhost, run the whole pipeline through
# snakemake-executor-plugin-slurm with profiles/slurm, check the outputs are byte-identical
# to a local run, shut Slurm down (also on failure).
set -euo pipefail
cd "$(dirname "$0")/../.."
work=$(mktemp -d /tmp/fcrn-slurm.XXXXXX)
chmod 755 "$work"
cleanup() { scripts/cluster/slurm_local.sh stop "$work/slurm" || true; }
trap cleanup EXIT
scripts/cluster/slurm_local.sh start "$work/slurm"
export SLURM_CONF="$work/slurm/slurm.conf"
export FCRN_CLUSTER_WORK="$work"
.venv/bin/python -m pytest -q -m cluster tests/test_cluster.py "$@"
