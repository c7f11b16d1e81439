"""Config: `defaults` of configs.yaml, named presets merged left to right, then CLI overrides.

Types come from the defaults, so `--steps 1e6` is an int and `--pcont False` a bool; `check`
holds the values to VALID and RULES. Every mistake (unknown key, preset or task, bad value) raises
ConfigError with a message naming the problem and the closest valid names or the valid range;
train.py turns it into exit code 2.
"""
import difflib
import os
import pathlib

from ruamel.yaml import YAML, YAMLError

CONFIGS = pathlib.Path(__file__).resolve().parent.parent / 'configs.yaml'


# The valid values of each key: the choices (a tuple), or an interval whose square bracket
# includes its bound and whose parenthesis excludes it, so that NaN and inf are outside every
# interval. A list's interval holds for each item. Every numeric key of configs.yaml has one
# (tests/test_config.py fails on a key without), so that a bad value stops the run at once, not
# deep in TensorFlow or silently.
VALID = {
    # Run.
    'seed': '[0, 2147483647]',
    'steps': '[0, 1e12]',
    'eval_every': '[1, 1e12]',
    'eval_episodes': '[1, 1e4]',
    'skill_r2_episodes': '[2, 1e6]',  # Folds split by episode: at least two.
    'skill_r2_folds': '[2, 1000]',
    'log_every': '[0, 1e12]',
    'precision': (16, 32),
    'checkpoint_every': '[0, 1e12]',
    'max_nonfinite': '[1, 1e6]',
    'max_episodes': '[0, 1e9]',
    # Environment.
    'obs': ('features', 'pixels'),
    'envs': '[1, 256]',
    'action_repeat': '[1, 1000]',
    'time_limit': '[1, 1e9]',
    'size': '[1, 4096]',
    'prefill': '[0, 1e12]',
    'env_error': ('stop', 'continue'),
    # World model.
    'deter_size': '[1, 65536]',
    'stoch_size': '[1, 65536]',
    'num_units': '[1, 65536]',
    'cnn_depth': '[1, 4096]',
    'mlp_units': '[1, 65536]',
    'mlp_layers': '[0, 100]',
    'obs_std_min': '(0, inf)',
    'obs_std_max': '(0, inf)',
    'free_nats': '[0, inf)',
    'kl_scale': '[0, inf)',
    'pcont_scale': '[0, inf)',
    'weight_decay': '[0, 1)',
    # Training.
    'batch_size': '[1, 1e5]',
    'batch_length': '[1, 1e5]',
    'train_every': '[1, 1e9]',
    'train_steps': '[1, 1e4]',
    'pretrain': '[0, 1e6]',
    'model_lr': '(0, 1]',
    'value_lr': '(0, 1]',
    'actor_lr': '(0, 1]',
    'grad_clip': '[0, inf)',
    'adam_eps': '(0, 1]',
    # Behaviour.
    'discount': '[0, 1]',
    'disclam': '[0, 1]',
    # H imagined states give H - 1 lambda-returns (the last state only bootstraps): H >= 2.
    'horizon': '[2, 1000]',
    'action_init_std': '(0, 100]',
    'expl_amount': '[0, inf)',
    'expl_decay': '[0, inf)',
    'expl_min': '[0, inf)',
    # Skills (LSP).
    'skills': ('none', 'cem', 'random', 'policy'),
    'skill_dim': '[1, 1000]',
    'skill_duration': '[1, 1e5]',
    'plan_horizon': '[2, 1e5]',  # As horizon: CEM scores a plan by its first lambda-return.
    'cem_iters': '[1, 1000]',
    'cem_population': '[1, 1e5]',
    'cem_elites': '[1, 1e5]',
    'skill_noise': '[0, inf)',
    'act_skill_noise': '[0, inf)',
    'cem_train_starts': '[0, 1e6]',  # 0: all of the batch's.
    'intrinsic_scale': '[0, inf)',
    'skill_mi_target': '[-100, 100]',
    'skill_mi_target_lr': '[0, 1]',
    'skill_pred_lr': '(0, 1]',
    'skill_pred_noise': '[0, inf)',
    'skill_pred_min_std': '(0, inf)',
    'highlevel_lr': '(0, 1]',
}

# Rules between keys: (holds, message formatted with the config).
RULES = (
    (lambda c: c.cem_elites <= c.cem_population,
     'cem_elites ({cem_elites}) must be at most cem_population ({cem_population}).'),
    (lambda c: c.obs_std_min <= c.obs_std_max,
     'obs_std_min ({obs_std_min}) must be at most obs_std_max ({obs_std_max}).'),
    (lambda c: c.skill_pred_min_std <= c.obs_std_max,
     'skill_pred_min_std ({skill_pred_min_std}) must be at most obs_std_max ({obs_std_max}).'),
    (lambda c: not c.cem_score_intrinsic or c.intrinsic_partial
     or c.plan_horizon >= min(c.skill_duration, c.horizon),
     'cem_score_intrinsic scores the window of min(skill_duration, horizon) = min('
     '{skill_duration}, {horizon}) states after a planned skill starts, which plan_horizon '
     '({plan_horizon}) must hold (or set intrinsic_partial, which scores cut windows too).'),
    (lambda c: c.intrinsic_scale > 0 or not c.skill_mi_target_lr,
     'skill_mi_target_lr ({skill_mi_target_lr}) adapts intrinsic_scale from its start value, '
     'which must be above 0 (got {intrinsic_scale}).'),
    (lambda c: len(c.size) == 2, 'size must be [height, width], got {size}.'),
    (lambda c: c.action_repeat <= c.time_limit,
     'time_limit ({time_limit}) must be at least action_repeat ({action_repeat}): an episode '
     'lasts time_limit // action_repeat steps.'),
    (lambda c: c.batch_length <= c.time_limit // c.action_repeat + 1,
     'batch_length ({batch_length}) must be at most time_limit // action_repeat + 1 '
     '({time_limit} // {action_repeat} + 1): a training sequence lies within one episode.'),
    (lambda c: c.train_actor or c.transfer_from,
     'train_actor: False (lsp_fixed_policy) freezes the low-level policy, so it needs a trained '
     'one: give the source run with --transfer_from LOGDIR.'),
    (lambda c: c.prefill >= c.time_limit or c.relabel_from,
     'prefill ({prefill}) must be at least time_limit ({time_limit}), so that the replay holds '
     'an episode before the first update.'),
)


class ConfigError(ValueError):
  pass


class Config(dict):
  """A flat mapping of every hyperparameter, readable as attributes."""

  def __getattr__(self, name):
    try:
      return self[name]
    except KeyError:
      raise AttributeError(unknown('config key', name, self)) from None

  def __setattr__(self, name, value):
    self[name] = value

  def update(self, *args, **kwargs):
    overrides = dict(*args, **kwargs)
    new = [k for k in overrides if k not in self]
    if new:
      raise ConfigError(unknown('config key', new[0], self))
    result = Config(self)
    for key, value in overrides.items():
      dict.__setitem__(result, key, convert(key, value, self[key]))
    return result

  def save(self, path):
    """Writes a temp file, then renames it: a kill never leaves a half-written config."""
    yaml = YAML(typ='safe', pure=True)
    yaml.default_flow_style = False
    temp = pathlib.Path(f'{path}.tmp')
    try:
      with temp.open('w') as f:
        yaml.dump(dict(self), f)
      os.replace(temp, path)
    except OSError:
      temp.unlink(missing_ok=True)  # A partial file only takes space.
      raise


def unknown(kind, name, valid):
  """`Unknown KIND NAME.` and the closest valid names, if any are close."""
  close = difflib.get_close_matches(str(name), list(valid), n=3, cutoff=0.5)
  hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ''
  return f'Unknown {kind} {name!r}.{hint}'


def load_yaml(path):
  """A YAML file of keys and values; ConfigError in one line if it cannot be read or is not."""
  try:
    data = YAML(typ='safe', pure=True).load(pathlib.Path(path).read_text())
  except (OSError, YAMLError) as e:
    reason = e.strerror if isinstance(e, OSError) else ' '.join(str(e).split())
    raise ConfigError(f'Cannot read {path}: {reason}.') from None
  if not isinstance(data, dict):
    raise ConfigError(f'{path} holds no keys and values (it is empty or corrupt).')
  return data


# Keys whose default changed (2026-12-01: the skill choices of docs/skills.md became the
# defaults), with the value they had before. A run saved before such a key existed ran with it.
FORMER_DEFAULTS = {
    'skill_noise': 0.1, 'skill_noise_per_rollout': False, 'intrinsic_per_step': False,
    'intrinsic_in_value': True, 'skill_pred_lr': 8e-5, 'skill_pred_min_std': 0.1,
    'skill_pred_relative': False}


def load_run(path):
  """A run's saved config.yaml as a Config: a key newer than the run counts as the default it
  had then (FORMER_DEFAULTS, else today's), whose behaviour the run had."""
  saved = load_yaml(path)
  saved.setdefault('act_skill_noise', saved.get('skill_noise'))  # Acting used it before the key.
  return Config({**load_presets()['defaults'], **FORMER_DEFAULTS, **saved})


# Keys that may differ between the first run and a resume of the same logdir.
RESUMABLE_KEYS = {
    'steps', 'eval_every', 'eval_episodes', 'log_every', 'eval_video', 'checkpoint_every',
    'max_nonfinite', 'max_episodes', 'env_error', 'jit', 'jit_policy', 'logdir',
    'skill_r2_episodes', 'skill_r2_folds'}


def differences(previous, config):
  """What `config` changes of a run's saved config `previous` ('key: old -> new' each), but for
  RESUMABLE_KEYS, and for the skill keys between two Dreamer configs (they change nothing)."""
  ignored = RESUMABLE_KEYS
  if config.skills == previous.skills == 'none':
    ignored = ignored | skill_keys()
  return [f'{k}: {previous.get(k)!r} -> {v!r}' for k, v in config.items()
          if k not in ignored and previous.get(k) != v]


def skill_keys():
  """The keys that only the skill systems read: configs.yaml's Skills block after `skills`."""
  keys = list(load_presets()['defaults'])
  return set(keys[keys.index('skills') + 1:keys.index('train_actor') + 1])


def load_presets(path=CONFIGS):
  presets = load_yaml(path)
  if not isinstance(presets.get('defaults'), dict):
    raise ConfigError(f'{path} has no `defaults:` block of keys and values.')
  return presets


def convert(key, value, default):
  """Casts a value (from yaml or a CLI string) to the type of the key's default."""
  if default is None or value is None:
    return value
  kind = type(default)
  if isinstance(value, str) and kind is not str:
    value = _parse_string(key, value, kind)
  try:
    if kind is bool:
      if not isinstance(value, bool):
        raise ValueError
      return value
    if kind is int:
      if isinstance(value, bool) or float(value) != int(float(value)):
        raise ValueError
      return int(float(value))
    if kind is float:
      if isinstance(value, bool):
        raise ValueError
      return float(value)
    if kind in (list, tuple):
      if not isinstance(value, (list, tuple)):
        raise ValueError
      return list(value)
    if kind is str:
      if not isinstance(value, str):
        raise ValueError
      return value
  except (TypeError, ValueError, OverflowError):
    pass
  else:
    return value
  raise ConfigError(
      f'Config key {key!r} expects {kind.__name__} (default {default!r}), got {value!r}.')


def _parse_string(key, text, kind):
  if kind is bool:
    lowered = text.lower()
    if lowered in ('true', 'yes', '1'):
      return True
    if lowered in ('false', 'no', '0'):
      return False
    raise ConfigError(f'Config key {key!r} expects a bool (True/False), got {text!r}.')
  if kind in (list, tuple):
    return YAML(typ='safe', pure=True).load(text)
  try:
    return float(text)
  except ValueError:
    raise ConfigError(
        f'Config key {key!r} expects {kind.__name__}, got {text!r}.') from None


def build(preset_names=(), overrides=None, path=CONFIGS):
  """The defaults, then each named preset in order, then the overrides."""
  presets = load_presets(path)
  config = Config({k: v for k, v in presets['defaults'].items()})
  for name in preset_names:
    if name == 'defaults' or name not in presets:
      valid = [p for p in presets if p != 'defaults']
      raise ConfigError(unknown('preset', name, valid) + f' Presets: {", ".join(valid)}.')
    try:
      config = config.update(presets[name] or {})
    except (TypeError, ValueError) as e:  # ConfigError is a ValueError.
      raise ConfigError(f'Preset {name!r} of {path}: {e}') from None
  config = config.update(overrides or {})
  return config


def check(config):
  """Holds every value to VALID and the config to RULES, and the task to the known ones."""
  for key, valid in VALID.items():
    value = config[key]
    if isinstance(valid, tuple):
      if value not in valid:
        raise ConfigError(f'Config key {key!r} must be one of {list(valid)}, got {value!r}.')
    elif not all(_inside(item, valid) for item in (value if isinstance(value, list) else [value])):
      raise ConfigError(f'Config key {key!r} must be in {valid}, got {value!r}.')
  for holds, message in RULES:
    if not holds(config):
      raise ConfigError(message.format_map(config))
  from dreamer_lsp import envs  # No TensorFlow.
  envs.check_task(config.task)


def _inside(value, interval):
  if isinstance(value, bool) or not isinstance(value, (int, float)):
    return False
  low, high = (float(bound) for bound in interval[1:-1].split(','))
  above = low < value or (interval[0] == '[' and value == low)
  below = value < high or (interval[-1] == ']' and value == high)
  return above and below


def parse_args(argv, path=CONFIGS):
  """`--configs a b --key value ...` to a Config."""
  presets, overrides = [], {}
  index = 0
  while index < len(argv):
    arg = argv[index]
    if not arg.startswith('--'):
      raise ConfigError(f'Unexpected argument {arg!r}: arguments are --key value pairs.')
    key = arg[2:].replace('-', '_')
    values = []
    index += 1
    while index < len(argv) and not argv[index].startswith('--'):
      values.append(argv[index])
      index += 1
    if key == 'configs':
      presets += values
      continue
    if len(values) != 1:
      raise ConfigError(f'--{key} needs exactly one value, got {len(values)}.')
    overrides[key] = values[0]
  return build(presets, overrides, path)
