import math
import subprocess
import sys

import pytest
from ruamel.yaml import YAML

from dreamer_lsp import config as config_lib

DEFAULTS = config_lib.load_presets()['defaults']


def test_presets_merge_left_to_right_then_overrides():
  config = config_lib.build(['lsp', 'debug'], {'batch_size': '7'})
  assert config.skills == 'cem' and config.method == 'lsp'
  assert config.task == 'point_reach'  # from debug, which comes later
  assert config.batch_size == 7
  later = config_lib.build(['debug', 'dmc_proprio', 'transfer_getup_to_reach'])
  assert later.task == 'quadruped_reach'


def test_types_come_from_defaults():
  config = config_lib.parse_args(
      ['--configs', 'lsp', '--steps', '1e6', '--pcont', 'True', '--model_lr', '1e-3',
       '--size', '[32, 32]', '--task', 'dmc_walker_run'])
  assert config.steps == 1_000_000 and isinstance(config.steps, int)
  assert config.pcont is True
  assert config.model_lr == 1e-3
  assert config.size == [32, 32]


@pytest.mark.parametrize('argv, message', [
    (['--bach_size', '3'], "Unknown config key 'bach_size'. Did you mean 'batch_size'"),
    (['--configs', 'lps'], "Unknown preset 'lps'. Did you mean 'lsp'"),
    (['--steps', 'many'], "'steps' expects int"),
    (['--steps', '1.5'], "'steps' expects int"),
    (['--pcont', 'maybe'], "'pcont' expects a bool"),
    (['--steps', 'inf'], "'steps' expects int"),
])
def test_bad_config_raises_named_error(argv, message):
  with pytest.raises(config_lib.ConfigError, match=message.replace('(', r'\(')):
    config_lib.parse_args(argv)


@pytest.mark.parametrize('key, interval', [('horizon', '[2, 1000]'), ('plan_horizon', '[2, 1e5]')])
def test_a_horizon_of_one_is_refused(key, interval):
  """One imagined state has no lambda-return: the actor's loss would be the mean of nothing."""
  with pytest.raises(config_lib.ConfigError) as info:
    config_lib.check(config_lib.build(['debug', 'lsp'], {key: 1}))
  assert str(info.value) == f"Config key '{key}' must be in {interval}, got 1."


def test_a_cem_scored_on_the_intrinsic_reward_needs_a_whole_window_in_its_plan():
  """debug: K = 3, horizon 5, so the predictor reads windows of 3 states after a skill starts."""
  config = config_lib.build(['debug', 'lsp_literal'], {'plan_horizon': 2})
  with pytest.raises(config_lib.ConfigError, match=r'which plan_horizon \(2\) must hold'):
    config_lib.check(config)
  config_lib.check(config.update(intrinsic_partial=True))
  config_lib.check(config.update(cem_score_intrinsic=False))


@pytest.mark.slow
@pytest.mark.parametrize('argv, message', [
    (['--bach_size', '3', '--logdir', 'x'], "Did you mean 'batch_size'"),
    (['--configs', 'debug', '--task', 'dmc_chetah_run', '--logdir', 'x'],
     "Unknown task 'dmc_chetah_run'. Did you mean 'dmc_cheetah_run'"),
    (['--configs', 'debug', '--skills', 'planner', '--logdir', 'x'], "'skills' must be one of"),
    (['--configs', 'debug'], '--logdir is required'),
    (['--configs', 'debug', '--batch_size', '0', '--logdir', 'x'],
     "Config key 'batch_size' must be in [1, 1e5], got 0."),
    (['--configs', 'debug', '--steps', '-5', '--logdir', 'x'], "'steps' must be in [0, 1e12]"),
    (['--configs', 'debug', 'lsp', '--skill_dim', '0', '--logdir', 'x'], "'skill_dim' must be"),
    (['--configs', 'lsp', '--cem_population', '16', '--cem_elites', '40', '--logdir', 'x'],
     'cem_elites (40) must be at most cem_population (16).'),
    (['--configs', 'debug', 'no_mi', '--skill_mi_target_lr', '1e-3', '--logdir', 'x'],
     'adapts intrinsic_scale from its start value, which must be above 0 (got 0.0).'),
    (['--configs', 'debug', '--action_repeat', '0', '--logdir', 'x'], "'action_repeat' must be"),
    (['--configs', 'debug', '--envs', '0', '--logdir', 'x'], "'envs' must be in [1, 256]"),
    (['--configs', 'debug', '--eval_episodes', '0', '--logdir', 'x'], "'eval_episodes' must be"),
    (['--configs', 'debug', '--model_lr', 'nan', '--logdir', 'x'],
     "Config key 'model_lr' must be in (0, 1], got nan."),
])
def test_train_cli_exits_2_with_message(argv, message, tmp_path):
  result = subprocess.run(
      [sys.executable, 'train.py', *argv], capture_output=True, text=True, cwd='.')
  assert result.returncode == 2, result.stderr
  assert message in result.stderr
  assert 'Traceback' not in result.stderr


def test_resume_with_different_model_config_is_refused(tmp_path):
  config = config_lib.build(['debug'], {'logdir': str(tmp_path)})
  tmp_path.mkdir(exist_ok=True)
  config.save(tmp_path / 'config.yaml')
  import train
  train.validate(config.update(steps=5000))  # The run's length may change on resume.
  with pytest.raises(config_lib.ConfigError, match=r'deter_size: 16 -> 32'):
    train.validate(config.update(deter_size=32))


def test_a_run_saved_before_a_key_existed_resumes_with_its_default_of_then(tmp_path):
  config = config_lib.build(['debug', 'lsp'], {'logdir': str(tmp_path)})
  config.save(tmp_path / 'config.yaml')
  saved = config_lib.load_yaml(tmp_path / 'config.yaml')
  # As a config.yaml written before the keys existed: one whose default has not changed since,
  # one whose default has (it was 0.1 then).
  del saved['skill_mi_target_lr'], saved['skill_pred_min_std']
  YAML(typ='safe', pure=True).dump(saved, tmp_path / 'config.yaml')
  import train
  then = config.update(skill_pred_min_std=config_lib.FORMER_DEFAULTS['skill_pred_min_std'])
  assert then.skill_pred_min_std != config.skill_pred_min_std
  train.validate(then)
  with pytest.raises(config_lib.ConfigError, match=r'skill_pred_min_std: 0.1 -> 0.3'):
    train.validate(config)
  with pytest.raises(config_lib.ConfigError, match=r'skill_mi_target_lr: 0.0 -> 0.1'):
    train.validate(then.update(skill_mi_target_lr=0.1))
  # The visualiser and transfer read a saved run the same way.
  assert config_lib.load_run(tmp_path / 'config.yaml') == then


def test_the_former_defaults_are_the_papers_values_that_lsp_literal_restores():
  # Both record the paper's reading of the seven skill keys whose defaults changed: an edit to
  # one is a mistake in it or calls for the same edit in the other.
  literal = config_lib.load_presets()['lsp_literal']
  assert config_lib.FORMER_DEFAULTS.items() <= literal.items()


# lsp_literal against the paper (Xie et al. 2021), key by key. Where the paper is silent or
# contradicts itself, its most literal reading (the README's "paper-literal choice").
PAPER = {
    'skills': 'cem',                   # Sec. 3: skills planned by CEM
    'skill_dim': 3,                    # A.3: skill vectors are 3-dimensional
    'skill_duration': 10,              # A.3: held for K = 10 steps
    'plan_horizon': 10,                # A.3: H = 10
    'cem_iters': 4,                    # A.3: MaxCEMiter = 4
    'cem_population': 16,              # A.3: G = 16
    'cem_elites': 4,                   # A.3: M = 4
    'cem_train_starts': 0,             # Alg. 2: imagine "for each s_t" of S (choice: all)
    'cem_score_intrinsic': True,       # Alg. 2: r_i at every step; Alg. 1: R + r_i (choice)
    'skill_noise': 0.1,                # A.3: Normal(0, 0.1) (choice: 0.1 is the std)
    'skill_noise_per_rollout': False,  # Alg. 1: mu <- mu + epsilon, once per CEM
    'act_skill_noise': 0.1,            # Alg. 1: acting samples from that distribution
    'intrinsic_scale': 1.0,            # Alg. 1: total rewards R + r_i
    'intrinsic_baseline': False,       # Sec. 3.2: r_i = log q(z | {s}, s0)
    'intrinsic_center': False,
    'intrinsic_per_step': False,       # one r_i per window (choice: spread over its K steps)
    'intrinsic_partial': False,        # Alg. 1: K-sized sequences of states
    'intrinsic_in_value': True,        # Alg. 1: value estimates from R + r_i
    'value_skill_input': False,        # Sec. 3: v(s_t)
    'skill_mi_target_lr': 0.0,         # a fixed weight
    'skill_pred_lr': 8e-5,             # A.3
    # A.3: the predictor shares the feature decoder's architecture and settings: 2 x 256 ELU,
    # a Gaussian whose std is softly clamped to [0.1, 1.5].
    'mlp_layers': 2, 'mlp_units': 256, 'dense_act': 'elu', 'obs_std_max': 1.5,
    'skill_pred_min_std': 0.1,
    'skill_pred_input_norm': False,
    'skill_pred_relative': False,      # Sec. 3.2: q(z | {s}, s0) predicts z
    'train_actor': True,
    'train_every': 5,                  # A.3: one update of all modules every 5 steps
}
# Skill keys without a value in the paper, or that lsp_literal does not read.
UNSTATED = {
    'skill_pred_noise',   # A.7 adds noise to the predictor's input but gives no number
    'skill_mi_target',    # read only with skill_mi_target_lr
    'highlevel_lr'}       # hiro's


def test_lsp_literal_is_the_paper_key_by_key():
  config = config_lib.build(['lsp_literal'])
  assert config_lib.skill_keys() - set(PAPER) - UNSTATED == set(), 'classify these here'
  for key, value in PAPER.items():
    assert config[key] == value, (key, config[key], value)


def test_the_skill_keys_do_not_hold_back_resuming_a_dreamer_run(tmp_path):
  import train
  for method in ('dreamer', 'lsp'):
    config = config_lib.build(['debug', method], {'logdir': str(tmp_path / method)})
    (tmp_path / method).mkdir()
    config.save(tmp_path / method / 'config.yaml')
    with pytest.raises(config_lib.ConfigError, match=r'model_lr: 0.0006 -> 0.001'):
      train.validate(config.update(model_lr=1e-3))
    changed_skills = config.update(skill_noise=0.5, skill_pred_min_std=0.2)
    if method == 'dreamer':
      train.validate(changed_skills)
    else:
      with pytest.raises(config_lib.ConfigError, match=r'skill_noise: 1.0 -> 0.5'):
        train.validate(changed_skills)


def _numeric(value):
  items = value if isinstance(value, list) else [value]
  return all(isinstance(item, (int, float)) and not isinstance(item, bool) for item in items)


def test_every_numeric_key_has_one_declared_range():
  """A new numeric key in configs.yaml fails here until VALID declares its values."""
  numeric = {key for key, value in DEFAULTS.items() if _numeric(value)}
  assert numeric - set(config_lib.VALID) == set(), 'declare these in config.VALID'
  assert set(config_lib.VALID) - set(DEFAULTS) == set(), 'VALID names keys not in configs.yaml'
  for key, valid in config_lib.VALID.items():
    assert isinstance(valid, tuple) or (valid[0] in '[(' and valid[-1] in '])'), key
  config_lib.check(config_lib.build([], {}))  # Every default is valid.


def _walk(key):
  """Nonsense and boundary values of a key: (value, accepted)."""
  valid = config_lib.VALID[key]
  low, high = valid[1:-1].split(', ')
  values = [('-1', float(low) < -1), ('1e30', high == 'inf'), (low, valid[0] == '['),
            ('0', float(low) < 0 or (float(low) == 0 and valid[0] == '['))]
  if high != 'inf':
    values.append((high, valid[-1] == ']'))
  if isinstance(DEFAULTS[key], float):
    values += [('nan', False), ('inf', False), ('-inf', False)]
  return values


@pytest.mark.parametrize('key', [
    key for key, valid in config_lib.VALID.items() if isinstance(valid, str)])
def test_every_key_with_boundary_and_nonsense_values(key, tmp_path):
  import train
  for text, accepted in _walk(key):
    value = f'[{text}, {text}]' if isinstance(DEFAULTS[key], list) else text
    try:
      config = config_lib.parse_args(
          ['--configs', 'debug', 'lsp', f'--{key}', value, '--logdir', str(tmp_path)])
      train.validate(config)
    except config_lib.ConfigError as e:
      message = str(e)
      assert key in message and '\n' not in message, message
      if accepted:  # In range, but against a rule between keys.
        assert 'must be in' not in message and 'expects' not in message, message
      else:
        assert f'must be in {config_lib.VALID[key]}, got ' in message or 'expects' in message, (
            message)
    else:
      assert accepted, f'--{key} {value} passed the checks'
      assert not isinstance(config[key], float) or math.isfinite(config[key])
