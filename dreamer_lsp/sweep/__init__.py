"""Sweeps: every run of a sweep file trained, resumed, or collected into a committed result
(`python -m dreamer_lsp.sweep --help`). One job per file: spec.py (the sweep file and its runs),
launch.py (training them, here or on Ray), results.py (collecting finished runs), cli.py (the
command line)."""
