"""Benchmarks of Dreamer and LSP on this machine (`python -m dreamer_lsp.bench`); see
BENCHMARKS.md for how to read the results. One job per file: timing.py (statistics, timed calls,
the matmul peak), machine.py (the machine and the commit), env.py (simulator, storage, pixel
collection), agent.py (one agent's update, FLOPs and acting, in its own process), loop.py
(train.py's loop), breakdown.py (where a real run's wall time goes), memory.py (a finished
run's memory), markdown.py (BENCHMARKS.md's sections), __main__.py (the command line)."""
