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
and `logdir` are the sweep's own: refused in grid, overrides and entries), and every run's
config as train.py checks it (presets, keys, tasks, values and their ranges); a mistake exits
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
paths on every node. Failed runs are listed at the end with their logs, and the exit code is 1.
"""
import argparse
import collections
import concurrent.futures
import dataclasses
import itertools
import os
import pathlib
import shlex
import shutil
import subprocess
import sys

from ruamel.yaml import YAML, YAMLError

from dreamer_lsp import config as config_lib
from dreamer_lsp import logdir as logdir_lib

REPO = pathlib.Path(__file__).resolve().parent.parent
# The keys of a sweep file and the YAML types their values may have.
KEYS = {
    'configs': (list,), 'methods': (list, dict), 'tasks': (list, dict), 'seeds': (list,),
    'overrides': (dict,), 'grid': (dict,), 'exclude': (list,), 'vars': (dict,)}
REQUIRED = ('methods', 'tasks', 'seeds')
# Flags that the sweep sets itself, for each run: a sweep file that gave them would be ignored.
OWN_FLAGS = {
    'seed': 'seeds are given by `seeds:` (a run of seed S trains in .../seedS)',
    'logdir': 'the sweep names every logdir ROOT/TASK/METHOD/seedS (choose ROOT with --root)'}
# The threads of one run's math: TensorFlow's intra-op pool and OpenMP.
THREAD_VARS = ('OMP_NUM_THREADS', 'TF_NUM_INTRAOP_THREADS')
# What a finished run's result needs: the plots and reports read these alone.
RESULT_FILES = ('config.yaml', 'metrics.jsonl', 'labels.yaml', 'code.jsonl')
# What --keep may add to a collected run: a transfer's source is read through these alone
# (train.py's --transfer_from reads the checkpoint, --relabel_from the train episodes).
KEEPABLE = ('checkpoint', 'train_eps')
KEEP_LIMIT_MB = 20  # Larger artefacts are regenerated by the sweep, not committed.


@dataclasses.dataclass
class Run:
  """One training run of a sweep: its logdir, its names in the sweep, train.py's arguments."""

  logdir: pathlib.Path
  labels: dict
  args: list
  fields: dict  # task, method, seed and grid values: what `exclude` and --only match


def expand(sweep, root):
  """The runs of a sweep, for every seed, task, method and grid point: seed first, so that a
  campaign cut short holds whole seeds of every cell rather than every seed of a few."""
  tasks = _axis(sweep['tasks'], lambda name: {'task': name})
  methods = _axis(sweep['methods'], lambda name: {'configs': [name]})
  grid = sweep.get('grid') or {}
  runs = []
  for seed, (task, task_spec), (method, method_spec), values in itertools.product(
      sweep['seeds'], tasks.items(), methods.items(), itertools.product(*grid.values())):
    point = dict(zip(grid, values))
    fields = {'task': task, 'method': method, 'seed': seed, **point}
    if any(rule.items() <= fields.items() for rule in sweep.get('exclude') or []):
      continue
    name = ','.join([method] + [f'{key}={_arg(value)}' for key, value in point.items()])
    logdir = pathlib.Path(root) / task / name / f'seed{seed}'
    configs = task_spec['configs'] + method_spec['configs'] + (sweep.get('configs') or [])
    flags = {
        **(sweep.get('overrides') or {}), **task_spec, **method_spec, **point,
        'seed': seed, 'logdir': logdir}
    del flags['configs'], flags['vars']
    names = {**(sweep.get('vars') or {}), **task_spec['vars'], **method_spec['vars']}
    for _ in range(2):  # Twice, so that a flag can name another flag that names fields.
      flags = {key: _fill(key, value, {**names, **flags, **fields}) for key, value in flags.items()}
    args = ['--configs', *configs]
    args += [
        arg for key, value in flags.items() if value is not None
        for arg in (f'--{key}', _arg(value))]
    runs.append(Run(logdir, {'task': task, 'method': name}, args, fields))
  return runs


def smoke(runs):
  """A quick check of a sweep before it is launched for real: seed 0 (the first seed) of a
  subset that starts every task and every method at least once, each run at `debug` sizes for a
  few hundred steps. Presets and flags of the sweep still win over `debug` (a transfer's longer
  skills stay), except the run length."""
  tasks, methods, chosen = set(), set(), []
  for run in runs:
    first_seed = run.logdir.name == runs[0].logdir.name
    if not first_seed or (run.labels['task'] in tasks and run.labels['method'] in methods):
      continue
    tasks.add(run.labels['task'])
    methods.add(run.labels['method'])
    args = ['--configs', 'debug'] + run.args[1:] + [
        arg for key, value in SMOKE_FLAGS.items() for arg in (f'--{key}', str(value))]
    chosen.append(Run(run.logdir, run.labels, args, run.fields))
  return chosen


SMOKE_FLAGS = dict(
    steps=100, prefill=50, eval_every=100, eval_episodes=1, log_every=50, checkpoint_every=100)


def load(path):
  """A sweep file, its keys checked; raises ConfigError naming the problem."""
  try:
    sweep = YAML(typ='safe', pure=True).load(pathlib.Path(path))
  except (OSError, YAMLError) as e:
    raise config_lib.ConfigError(f'Cannot read the sweep file: {e}') from None
  if not isinstance(sweep, dict):
    raise config_lib.ConfigError(f'A sweep file maps keys ({", ".join(KEYS)}) to values.')
  for key, value in sweep.items():
    if key not in KEYS:
      raise config_lib.ConfigError(
          config_lib.unknown('sweep key', key, KEYS) + f' Keys: {", ".join(KEYS)}.')
    if value is not None and not isinstance(value, KEYS[key]):
      forms = ' or '.join(form.__name__ for form in KEYS[key])
      raise config_lib.ConfigError(f'Sweep key {key!r} must be a {forms}, got {value!r}.')
  for key in REQUIRED:
    if not sweep.get(key):
      raise config_lib.ConfigError(f'The sweep file names no {key}.')
  for axis in ('tasks', 'methods'):
    if isinstance(sweep[axis], dict):
      for name, spec in sweep[axis].items():
        _check_spec(f'{axis}: {name}', spec)
  grid = sweep.get('grid') or {}
  flags = {'overrides': sweep.get('overrides') or {}, 'grid': grid, **{
      f'{axis}: {name}': spec for axis in ('tasks', 'methods') if isinstance(sweep[axis], dict)
      for name, spec in sweep[axis].items() if isinstance(spec, dict)}}
  for where, keys in flags.items():
    for key in OWN_FLAGS.keys() & keys:
      raise config_lib.ConfigError(f'{where} sets {key}, which a sweep sets: {OWN_FLAGS[key]}.')
  for key, values in grid.items():
    if not isinstance(values, list):
      raise config_lib.ConfigError(f'grid: {key} needs a list of values, got {values!r}.')
  fields = ['task', 'method', 'seed', *grid]
  for rule in sweep.get('exclude') or []:
    for key in rule if isinstance(rule, dict) else [rule]:
      if key not in fields:
        raise config_lib.ConfigError(config_lib.unknown('exclude key', key, fields))
  return sweep


def check(runs, root):
  """Checks every run's config as train.py does, and that no two runs share a logdir; raises one
  ConfigError listing each problem once, with the runs it affects."""
  counts = collections.Counter(run.logdir for run in runs)
  shared = [str(logdir.relative_to(root)) for logdir, count in counts.items() if count > 1]
  if shared:
    raise config_lib.ConfigError(
        f'Runs share the logdirs {", ".join(shared)}: a seed or grid value is given twice '
        '(5 and 5.0 name the same run).')
  problems = {}
  for run in runs:
    try:
      config_lib.check(config_lib.parse_args(run.args))
    except config_lib.ConfigError as e:
      problems.setdefault(str(e), []).append(run.logdir.relative_to(root))
  if problems:
    raise config_lib.ConfigError('\n'.join(
        f'{names[0]}{f" and {len(names) - 1} more runs" if len(names) > 1 else ""}: {message}'
        for message, names in problems.items()))


def collect(runs, root, dest, keep=()):
  """Copies RESULT_FILES of every finished run to the same path under `dest`, and writes the
  root paths of its first frames where its episodes log them (dreamer_lsp.root_paths). The
  folders named in `keep` (KEEPABLE) are copied too, if together under KEEP_LIMIT_MB a run. A run
  whose place under `dest` holds another run's results is not copied (exit code 1): a rerun of a
  seed never replaces committed results unnoticed."""
  from dreamer_lsp import root_paths  # Imports matplotlib and pandas, which launching runs needs not.
  done = [run for run in runs if (run.logdir / 'done').exists()]
  others = [run for run in done if _another_run(run.logdir, dest / run.logdir.relative_to(root))]
  done = [run for run in done if run not in others]
  paths, not_kept = 0, []
  for run in done:
    target = dest / run.logdir.relative_to(root)
    target.mkdir(parents=True, exist_ok=True)
    for name in RESULT_FILES:
      if (run.logdir / name).exists():  # Runs made before code.jsonl existed have none.
        shutil.copy2(run.logdir / name, target / name)
    paths += root_paths.collect(run.logdir, target)  # Fig. 8's paths, without the episodes.
    why = keep and _keep(run.logdir, target, keep)
    if why:
      not_kept.append((run, why))
  print(f'Copied {len(done)} finished runs of {len(runs)} to {dest}' + (
      f', {paths} with the root paths of their first {root_paths.FRAMES} frames '
      f'({root_paths.FILENAME}).' if paths else '.'))
  if keep:
    print(f'Kept {", ".join(keep)} of {len(done) - len(not_kept)} runs.')
  for run, why in not_kept:
    print(f'Not kept: {", ".join(keep)} of {run.logdir}: {why}.')
  for run in others:
    print(f'Not collected: {dest / run.logdir.relative_to(root)} holds the results of another run '
          f'(its metrics.jsonl is not the start of {run.logdir}\'s); move it away to collect '
          'this one.', file=sys.stderr)
  return 1 if others else 0


def _another_run(logdir, target):
  """Whether `target` holds results collected from another run than `logdir`'s: a run's metrics
  only grow (a resumed run drops no line that a finished run had), so a copy of the same run is
  the start of its metrics.jsonl."""
  copy = target / 'metrics.jsonl'
  return copy.exists() and not (logdir / 'metrics.jsonl').read_bytes().startswith(
      copy.read_bytes())


def _keep(logdir, target, keep):
  """Copies the folders `keep` of a run to `target` (the last complete checkpoint as
  `checkpoint`), replacing older copies; copies nothing and returns why if one is missing or
  they hold over KEEP_LIMIT_MB together, else None."""
  folders = {
      name: logdir_lib.complete_checkpoint(logdir / name) if name == 'checkpoint'
      else logdir / name for name in keep}
  missing = [name for name, folder in folders.items() if folder is None or not folder.is_dir()]
  if missing:
    return f'it has no {", ".join(missing)}'
  size = sum(
      f.stat().st_size for folder in folders.values() for f in folder.rglob('*') if f.is_file())
  if size > KEEP_LIMIT_MB * 2 ** 20:
    return f'they hold {size / 2 ** 20:.1f} MB, over {KEEP_LIMIT_MB}; regenerate them with the sweep'
  for name, folder in folders.items():
    shutil.rmtree(target / name, ignore_errors=True)
    shutil.copytree(folder, target / name)
  return None


def _axis(entries, default):
  """Name -> spec (presets under `configs`, flags) for the tasks or methods of a sweep."""
  if isinstance(entries, list):
    entries = dict.fromkeys(entries)
  return {
      name: {
          'configs': [], 'vars': {}, **default(name),
          **({'configs': spec} if isinstance(spec, list) else spec or {})}
      for name, spec in entries.items()}


def select(runs, only):
  """The runs whose fields match every FIELD=VALUE[,VALUE...] of `only`; raises ConfigError for
  a field that the sweep does not have."""
  wanted = {}
  for item in only:
    field, sep, values = item.partition('=')
    if not sep or not values:
      raise config_lib.ConfigError(f'--only takes FIELD=VALUE[,VALUE...], got {item!r}.')
    wanted[field] = values.split(',')
  fields = runs[0].fields if runs else {}
  for field in wanted:
    if field not in fields:
      raise config_lib.ConfigError(config_lib.unknown('--only field', field, fields))
  chosen = [run for run in runs if all(
      _arg(run.fields[field]) in values for field, values in wanted.items())]
  if not chosen:
    raise config_lib.ConfigError(f'--only {" ".join(only)} matches no run of the sweep.')
  return chosen


def collected(run, root, dest):
  """Whether the run's results are already collected under `dest` (--collect copies only
  finished runs) for at least the steps that the sweep asks for."""
  copy = dest / run.logdir.relative_to(root)
  finished = logdir_lib.last_logged_step(copy) if (copy / 'config.yaml').exists() else None
  return finished is not None and finished >= config_lib.parse_args(run.args).steps


def _to_train(run, root):
  """Whether a run still needs training: it is not done, or done at fewer steps than the sweep
  now asks for (then it says so: the run is extended)."""
  if not (run.logdir / 'done').exists():
    return True
  finished = logdir_lib.finished_steps(run.logdir)
  steps = config_lib.parse_args(run.args).steps
  if finished is None or finished >= steps:
    return False
  print(f'{run.logdir.relative_to(root)} is done at {finished} steps; the sweep asks for '
        f'{steps}: it is trained further.')
  return True


def _check_spec(where, spec):
  """A task's or method's entry: nothing, a list of presets, or a mapping of flags."""
  if spec is None or isinstance(spec, list) and all(isinstance(name, str) for name in spec):
    return
  if (isinstance(spec, dict) and isinstance(spec.get('configs', []), list)
      and isinstance(spec.get('vars', {}), dict)):
    return
  raise config_lib.ConfigError(
      f'{where} must be a list of presets or a mapping of flags (configs: [presets], vars: '
      f'{{name: value}}, key: value), got {spec!r}.')


def _fill(key, value, names):
  """A text flag with its {placeholders} filled from the run's fields and flags."""
  if not isinstance(value, str):
    return value
  try:
    return value.format_map(names)
  except KeyError as e:
    raise config_lib.ConfigError(
        f'{key}: {value!r} names {{{e.args[0]}}}, which is none of the run\'s fields and flags '
        f'({", ".join(names)}).') from None
  except (ValueError, IndexError) as e:
    raise config_lib.ConfigError(f'{key}: {value!r} is not a valid template: {e}.') from None


def _arg(value):
  # YAML reads 1e6 as a float; train.py wants integers written as integers.
  return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def execute(cmd, logdir, threads):
  """Run a training command with its output appended to LOGDIR/stdout.log; return the exit code,
  or None without starting it if another process trains in LOGDIR by now (another sweep
  command took the run since this one listed it)."""
  if logdir_lib.holder(logdir):
    return None
  env = {**os.environ, **dict.fromkeys(THREAD_VARS, str(threads))}
  with open(pathlib.Path(logdir) / 'stdout.log', 'a') as log:
    log.write(f'$ {shlex.join(cmd)}\n')
    log.flush()
    return subprocess.run(
        cmd, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT).returncode


def run_local(runs, cmd, workers, threads):
  """Yield (run, exit code) as the runs finish, at most `workers` at once."""
  pool = concurrent.futures.ThreadPoolExecutor(workers)
  try:
    futures = {pool.submit(execute, cmd + run.args, run.logdir, threads): run for run in runs}
    for future in concurrent.futures.as_completed(futures):
      yield futures[future], future.result()
  finally:
    pool.shutdown(cancel_futures=True)  # On Ctrl-C, start no more runs.


def run_ray(runs, cmd, address, threads, gpus):
  """Yield (run, exit code) as the runs finish, each run a Ray task on the cluster."""
  import ray
  # Workers import this module by name: same paths on every node, so the repo is on their path.
  ray.init(address=address, runtime_env={'env_vars': {'PYTHONPATH': str(REPO)}})
  remote = ray.remote(num_cpus=threads, num_gpus=gpus)(execute)
  pending = {remote.remote(cmd + run.args, run.logdir, threads): run for run in runs}
  while pending:
    [ref], _ = ray.wait(list(pending))
    yield pending.pop(ref), ray.get(ref)


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
      '--keep', nargs='+', default=[], choices=KEEPABLE, metavar='FOLDER',
      help=f'with --collect, also copy these folders of each run ({", ".join(KEEPABLE)}), '
      f'if under {KEEP_LIMIT_MB} MB a run: what a transfer from it reads')
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
  root = (args.root or REPO / 'logdir' / args.sweep.stem).resolve()
  try:
    runs = expand(load(args.sweep), root)
    check(runs, root)
    if args.only:
      runs = select(runs, args.only)
  except config_lib.ConfigError as e:
    print(f'error: {args.sweep}: {e}\nNo run was started.', file=sys.stderr)
    return 2
  if args.keep and not args.collect:
    print('error: --keep goes with --collect DEST.', file=sys.stderr)
    return 2
  if args.collect:
    return collect(runs, root, args.collect.resolve(), args.keep)
  if args.smoke:
    runs = smoke(runs)
  todo = [run for run in runs if _to_train(run, root)]
  if args.collected:
    dest = args.collected.resolve()
    kept = [run for run in todo if not collected(run, root, dest)]
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
    results = run_ray(todo, cmd, args.ray, args.threads, args.gpus)
  else:
    workers = args.workers or max(1, os.cpu_count() // args.threads)
    results = run_local(todo, cmd, workers, args.threads)
  failed = []
  for index, (run, code) in enumerate(results, 1):
    status = {0: 'ok', None: 'taken'}.get(code, f'exit {code}')
    print(f'[{index}/{len(todo)}] {status:<8}{run.logdir}', flush=True)
    if code:
      failed.append(run)
  for run in failed:
    print(f'Failed: {run.logdir}, log: {run.logdir / "stdout.log"}')
  return 1 if failed else 0


if __name__ == '__main__':
  sys.exit(main())
