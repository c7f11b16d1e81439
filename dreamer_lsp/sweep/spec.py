"""A sweep file: its keys checked, expanded into runs (task x method x grid x seed, each with its
logdir and train.py's arguments), every run's config checked, and the parts --only and --smoke
pick. The file format is in `python -m dreamer_lsp.sweep --help` (dreamer_lsp/sweep/cli.py)."""
import collections
import dataclasses
import itertools
import pathlib

from ruamel.yaml import YAML, YAMLError

from dreamer_lsp import config as config_lib

# The keys of a sweep file and the YAML types their values may have.
KEYS = {
    'configs': (list,), 'methods': (list, dict), 'tasks': (list, dict), 'seeds': (list,),
    'overrides': (dict,), 'grid': (dict,), 'exclude': (list,), 'vars': (dict,)}
REQUIRED = ('methods', 'tasks', 'seeds')
# Flags that the sweep sets itself, for each run: a sweep file that gave them would be ignored.
OWN_FLAGS = {
    'seed': 'seeds are given by `seeds:` (a run of seed S trains in .../seedS)',
    'logdir': 'the sweep names every logdir ROOT/TASK/METHOD/seedS (choose ROOT with --root)'}


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

def check_saved(runs, root, collected=None):
  """Checks that every run's logdir, and its collected copy under `collected`, holds nothing or
  a run of the config the sweep asks for (but for the keys a resume may change); raises one
  ConfigError naming each other one and what differs. Counting such a run as done, resuming it
  (train.py refuses) or collecting it would mix another run into the sweep's results."""
  problems = []
  for run in runs:
    places = [run.logdir] + ([collected / run.logdir.relative_to(root)] if collected else [])
    saved = [place / 'config.yaml' for place in places if (place / 'config.yaml').exists()]
    config = saved and config_lib.parse_args(run.args)
    for path in saved:
      changed = config_lib.differences(config_lib.load_run(path), config)
      if changed:
        problems.append(f'{path.parent} holds a run of another config ({"; ".join(changed)})')
  if problems:
    raise config_lib.ConfigError('\n'.join(problems) + (
        '\nMove those runs aside, or train this sweep under another --root.'))

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

