import subprocess
import sys

import pytest

from dreamer_lsp import config as config_lib


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
])
def test_bad_config_raises_named_error(argv, message):
  with pytest.raises(config_lib.ConfigError, match=message.replace('(', r'\(')):
    config_lib.parse_args(argv)


@pytest.mark.parametrize('argv, message', [
    (['--bach_size', '3', '--logdir', 'x'], "Did you mean 'batch_size'"),
    (['--configs', 'debug', '--task', 'dmc_chetah_run', '--logdir', 'x'],
     "Unknown task 'dmc_chetah_run'. Did you mean 'dmc_cheetah_run'"),
    (['--configs', 'debug', '--skills', 'planner', '--logdir', 'x'], "'skills' must be one of"),
    (['--configs', 'debug'], '--logdir is required'),
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
