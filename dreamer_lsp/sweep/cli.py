"""Train every run of a sweep file, in parallel here or as tasks on a Ray cluster.

  python -m dreamer_lsp.sweep SWEEP.yaml [--root DIR] [--workers N] [--threads T]
      [--ray ADDRESS] [--gpus G] [--dry-run] [--smoke] [--train-cmd CMD] [--collect DEST]
      [--keep FOLDER...] [--collected DEST] [--only FIELD=VALUE[,VALUE...] ...]

A sweep file (see sweeps/) crosses tasks, methods, grid values and seeds:

  configs: [debug]               # presets for every run (optional)
  methods:                       # a name alone is its own preset; or name: [presets];
    lsp: [lsp]                   # or name: {configs: [presets], key: value, ...}
    dreamer: [dreamer]
  tasks:                         # a list of tasks; or task: [presets]; or
    dmc_cheetah_run: [dmc_proprio]   # name: {task: TASK, configs: [presets], key: value, ...}
    cheetah_pixels: {task: dmc_cheetah_run, configs: [dmc_vision]}
  seeds: [0, 1, 2]
  overrides: {steps: 1e6}        # --key value for every run (optional)
  grid: {plan_horizon: [10, 20]} # every combination of values (optional)
  exclude:                       # runs to leave out, matched on task, method, seed, grid (optional)
    - {task: cheetah_pixels, method: dreamer}
  vars: {sources: logdir/source} # names for {placeholders} only, not flags (optional; a task's
                                 # or method's entry may set its own: method, task, top level)

A run trains in ROOT/TASK/METHOD[,KEY=VALUE...]/seedS (ROOT: logdir/SWEEP_NAME in the repo) with
its output appended to stdout.log there, and the names the sweep gave it in labels.yaml, which the
plots use. Presets go to --configs in the order task, method, sweep configs (later ones win, so a
sweep's `debug` shrinks every method); flags in the order overrides, task, method, grid, and a
null flag is left out (`task: null` where a preset sets the task). Text flags may name the run's
task, method, seed, grid values, `vars` and other flags in braces, e.g. for transfer
(paper_transfer.yaml): `transfer_from: logdir/source/{task}/{method}/seed{seed}` and
`relabel_from: '{transfer_from}'`.
`--smoke` first checks that a sweep runs at all: every task and every method once at `debug`
sizes, 100 steps each (give it its own --root). Runs with a `done` file are skipped, unless the
sweep asks for more steps than they finished (then it names them and trains them further); the
others are started with their command, which resumes them, except those that another process
trains now (their logdir's lock is held: another sweep command's run), which are listed with
their PID and left to it. `--dry-run` prints the commands, each resumed run's with the step it
goes on from: with `--collected`, where a campaign stands. The whole file is checked before any
run starts: its keys and their forms, its {placeholders}, that no two runs share a logdir (`seed`
and `logdir` are the sweep's own: refused in grid, overrides and entries), every run's
config as train.py checks it (presets, keys, tasks, values and their ranges), and that no run's
logdir (nor, with --collected, its collected copy) holds a run of another config, which would
pass as the sweep's result (the keys a resume may change, like steps, aside); a mistake exits
with code 2. `--collect DEST` trains nothing: it copies each
finished run's config.yaml, metrics.jsonl and labels.yaml to the same place under DEST, what a
committed result needs (docs/results/runs), without episodes or checkpoints (a place that holds
another run's results, e.g. an earlier run of the seed, is left alone and named); and where the
episodes log the quadruped's position, writes root_paths.npz there, the paths of their first
40k frames (Fig. 8, dreamer_lsp.root_paths). `--keep checkpoint train_eps` copies those folders
too, under 20 MB a run: what a transfer reads of its source, so that a transfer's targets can
train on another machine than its sources (sweeps/transfer_cpu.yaml). `--collected DEST` counts
the runs collected there as done, so that a campaign whose results are committed can be filled
in on another machine.
`--only method=dreamer seed=2,3` trains a part of a sweep (the fields are task, method, seed and
the grid's keys). Runs start seed by seed.

Locally, --workers runs (default: cores // --threads) train at once with --threads threads each.
With --ray ADDRESS ('auto', 'ray://HEAD:10001', or 'local' to start Ray here), every run is a Ray
task that asks for --threads CPUs and --gpus GPUs; the repo, its .venv and ROOT must have the same
paths on every node. Failed runs are listed at the end with their logs, and the exit code is 1."""
import argparse
import os
import pathlib
import shlex
import sys

from ruamel.yaml import YAML

from dreamer_lsp import config as config_lib
from dreamer_lsp import logdir as logdir_lib
from dreamer_lsp.sweep import launch
from dreamer_lsp.sweep import results
from dreamer_lsp.sweep import spec


def main(argv=None):
  parser = argparse.ArgumentParser(
      'python -m dreamer_lsp.sweep', description=__doc__,
      formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument('sweep', type=pathlib.Path)
  parser.add_argument('--root', type=pathlib.Path)
  parser.add_argument('--threads', type=int, default=1, help='threads of one run')
  parser.add_argument('--workers', type=int, help='runs at once locally')
  parser.add_argument('--ray', metavar='ADDRESS', help='run on this Ray cluster')
  parser.add_argument('--gpus', type=float, default=0, help='GPUs of one run on Ray')
  parser.add_argument('--dry-run', action='store_true', help='print the commands only')
  parser.add_argument(
      '--smoke', action='store_true',
      help='check the sweep: every task and method once, seed 0, debug sizes, 100 steps')
  parser.add_argument(
      '--train-cmd', default=f'{shlex.quote(sys.executable)} train.py',
      help='command that the run arguments are appended to, run in the repo root')
  parser.add_argument(
      '--collect', type=pathlib.Path, metavar='DEST',
      help="copy the finished runs' config.yaml, metrics.jsonl and labels.yaml under DEST")
  parser.add_argument(
      '--keep', nargs='+', default=[], choices=results.KEEPABLE, metavar='FOLDER',
      help=f'with --collect, also copy these folders of each run ({", ".join(results.KEEPABLE)}), '
      f'if under {results.KEEP_LIMIT_MB} MB a run: what a transfer from it reads')
  parser.add_argument(
      '--collected', type=pathlib.Path, metavar='DEST',
      help='count the runs whose results are collected under DEST as done')
  parser.add_argument(
      '--only', nargs='+', default=[], metavar='FIELD=VALUES',
      help='the runs whose task, method, seed or grid value is one of VALUES (comma-separated)')
  args = parser.parse_args(argv)
  for flag, value, least in (
      ('--threads', args.threads, 1), ('--workers', args.workers, 1), ('--gpus', args.gpus, 0)):
    if value is not None and value < least:
      print(f'error: {flag} must be at least {least}, got {value}.', file=sys.stderr)
      return 2
  root = (args.root or launch.REPO / 'logdir' / args.sweep.stem).resolve()
  try:
    runs = spec.expand(spec.load(args.sweep), root)
    spec.check(runs, root)
    if args.only:
      runs = spec.select(runs, args.only)
    if args.smoke and not args.collect:
      runs = spec.smoke(runs)
    spec.check_saved(runs, root, args.collected and args.collected.resolve())
  except config_lib.ConfigError as e:
    print(f'error: {args.sweep}: {e}\nNo run was started.', file=sys.stderr)
    return 2
  if args.keep and not args.collect:
    print('error: --keep goes with --collect DEST.', file=sys.stderr)
    return 2
  if args.collect:
    return results.collect(runs, root, args.collect.resolve(), args.keep)
  todo = [run for run in runs if launch.to_train(run, root)]
  if args.collected:
    dest = args.collected.resolve()
    kept = [run for run in todo if not results.collected(run, root, dest)]
    if len(kept) < len(todo):
      print(f'{len(todo) - len(kept)} runs are done in {dest}, so not trained here.')
    todo = kept
  holders = [logdir_lib.holder(run.logdir) for run in todo]
  busy = [(run, pid) for run, pid in zip(todo, holders) if pid]
  if busy:
    print(f'{len(busy)} runs are training now in other processes, so not started here:')
    for run, pid in busy:
      print(f'  {run.logdir.relative_to(root)} (PID {pid}, at step '
            f'{logdir_lib.last_logged_step(run.logdir) or 0:,})')
    todo = [run for run, pid in zip(todo, holders) if not pid]
  elsewhere = f', {len(busy)} training in other processes' if busy else ''
  print(f'{len(runs)} runs in {root}: {len(runs) - len(todo) - len(busy)} done, '
        f'{len(todo)} to train{elsewhere}.')
  cmd = shlex.split(args.train_cmd)
  if args.dry_run:
    for run in todo:
      step = logdir_lib.last_logged_step(run.logdir)
      status = 'resume' if run.logdir.exists() else 'start'
      note = f'  # from step {step:,}' if step else ''
      print(f'{status:<7}{shlex.join(cmd + run.args)}{note}')
    return 0
  for run in todo:
    run.logdir.mkdir(parents=True, exist_ok=True)
    YAML(typ='safe', pure=True).dump(run.labels, run.logdir / 'labels.yaml')
  if args.ray:
    finished = launch.run_ray(todo, cmd, args.ray, args.threads, args.gpus)
  else:
    workers = args.workers or max(1, os.cpu_count() // args.threads)
    finished = launch.run_local(todo, cmd, workers, args.threads)
  failed = []
  for index, (run, code) in enumerate(finished, 1):
    status = {0: 'ok', None: 'taken'}.get(code, f'exit {code}')
    print(f'[{index}/{len(todo)}] {status:<8}{run.logdir}', flush=True)
    if code:
      failed.append(run)
  for run in failed:
    print(f'Failed: {run.logdir}, log: {run.logdir / "stdout.log"}')
  return 1 if failed else 0
