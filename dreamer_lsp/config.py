"""Config: `defaults` of configs.yaml, named presets merged left to right, then CLI overrides.

Types come from the defaults, so `--steps 1e6` is an int and `--pcont False` a bool. Every
mistake (unknown key or preset, bad value) raises ConfigError with a message naming the problem
and the closest valid names; train.py turns it into exit code 2.
"""
import difflib
import os
import pathlib

from ruamel.yaml import YAML

CONFIGS = pathlib.Path(__file__).resolve().parent.parent / 'configs.yaml'


class ConfigError(ValueError):
  pass


class Config(dict):
  """A flat mapping of every hyperparameter, readable as attributes."""

  def __getattr__(self, name):
    try:
      return self[name]
    except KeyError:
      raise AttributeError(_unknown('config key', name, self)) from None

  def __setattr__(self, name, value):
    self[name] = value

  def update(self, *args, **kwargs):
    overrides = dict(*args, **kwargs)
    unknown = [k for k in overrides if k not in self]
    if unknown:
      raise ConfigError(_unknown('config key', unknown[0], self))
    result = Config(self)
    for key, value in overrides.items():
      dict.__setitem__(result, key, convert(key, value, self[key]))
    return result

  def save(self, path):
    """Writes a temp file, then renames it: a kill never leaves a half-written config."""
    yaml = YAML(typ='safe', pure=True)
    yaml.default_flow_style = False
    temp = pathlib.Path(f'{path}.tmp')
    with temp.open('w') as f:
      yaml.dump(dict(self), f)
    os.replace(temp, path)


def _unknown(kind, name, valid):
  close = difflib.get_close_matches(str(name), list(valid), n=3, cutoff=0.5)
  hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ''
  return f'Unknown {kind} {name!r}.{hint}'


def load_yaml(path):
  return YAML(typ='safe', pure=True).load(pathlib.Path(path).read_text())


def load_presets(path=CONFIGS):
  presets = load_yaml(path)
  if 'defaults' not in presets:
    raise ConfigError(f'{path} has no `defaults:` block.')
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
  except (TypeError, ValueError):
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
      raise ConfigError(_unknown('preset', name, valid) + f' Presets: {", ".join(valid)}.')
    config = config.update(presets[name] or {})
  config = config.update(overrides or {})
  return config


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
