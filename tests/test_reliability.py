"""Bad numbers, bad files, failing environments, and reproducibility, each for real."""
import shutil
import subprocess
import sys

import numpy as np
import pytest

import tools
from conftest import REPO, debug_config, random_batch, read_metrics, run_train, saved_episodes
from dreamer_lsp import lsp


def test_nonfinite_update_is_not_applied(spaces):
  config = debug_config('lsp')
  agent = lsp.make_agent(config, *spaces)
  agent.train(random_batch(config))
  before = [v.numpy().copy() for v in agent.trainable_variables]
  batch = random_batch(config, seed=1)
  batch['reward'][0, 3] = np.nan
  metrics = agent.train(batch)
  assert not np.isfinite(float(metrics['model_loss']))
  after = [v.numpy() for v in agent.trainable_variables]
  world_model = {id(v) for m in agent._model_modules for v in m.trainable_variables}
  for variable, old, new in zip(agent.trainable_variables, before, after):
    if id(variable) in world_model:
      np.testing.assert_array_equal(old, new)
    assert np.all(np.isfinite(new))


@pytest.mark.slow
def test_run_stops_after_consecutive_nonfinite_updates(tmp_path):
  episode = {
      'vector': np.zeros((51, 2), np.float32), 'log_pos': np.zeros((51, 1, 2), np.float32),
      'action': np.zeros((51, 2), np.float32), 'reward': np.full(51, np.nan, np.float32),
      'discount': np.ones(51, np.float32)}
  debug_config('dreamer', max_nonfinite=3, logdir=str(tmp_path)).save(tmp_path / 'config.yaml')
  for _ in range(3):
    tools.save_episode(tmp_path / 'train_eps', episode)
  result = run_train(tmp_path, '--configs', 'debug', 'dreamer', '--max_nonfinite', '3')
  assert result.returncode == 1, result.stdout + result.stderr
  assert '3 non-finite updates in a row; stopping' in result.stderr
  assert str(tmp_path / 'checkpoint') in result.stderr
  assert not (tmp_path / 'checkpoint').exists()  # Nothing bad was saved.


@pytest.mark.slow
def test_corrupt_checkpoint_is_reported_and_kept(finished_lsp_run, tmp_path):
  shutil.copytree(finished_lsp_run, tmp_path, dirs_exist_ok=True)
  data = next((tmp_path / 'checkpoint').glob('variables.data*'))
  data.write_bytes(b'not a checkpoint')
  result = run_train(tmp_path, '--configs', 'debug', 'lsp', '--steps', '900')
  assert result.returncode == 1
  assert 'Cannot restore the checkpoint' in result.stderr
  assert 'move the checkpoint folder aside (the run then makes up their updates)' in result.stderr
  assert 'Traceback' not in result.stderr
  assert data.read_bytes() == b'not a checkpoint'  # Not overwritten.


@pytest.mark.slow
def test_full_disk_then_a_kill_inside_a_save_then_resume(tmp_path):
  """The same command finishes the run after both faults, with every saved episode."""
  args = ['--configs', 'debug', 'lsp', '--logdir', str(tmp_path)]
  faulty = [sys.executable, '-m', 'tests.fixtures.faulty_train']
  # Episode writes: 2 prefill, 1 eval, then train episodes of 50 steps; a checkpoint at 300.
  result = subprocess.run(
      faulty + ['full_disk', '8', *args], cwd=REPO, capture_output=True, text=True, timeout=600)
  assert result.returncode == 1, result.stdout + result.stderr
  assert 'Traceback' not in result.stderr
  [line] = [line for line in result.stderr.splitlines() if line.startswith('error:')]
  assert line.startswith(f'error: Cannot write the episode to {tmp_path}/train_eps/')
  assert 'No space left on device; ' in line and ' free there. ' in line
  assert not list((tmp_path / 'train_eps').glob('*.tmp'))
  saved = saved_episodes(tmp_path)
  assert len(saved) == 6 and (tmp_path / 'checkpoint/variables.index').exists()
  # The resumed run's first checkpoint write (at 500 steps) hangs half-way and is killed.
  process = subprocess.Popen(
      faulty + ['hang', '1', *args], cwd=REPO, stdout=subprocess.PIPE,
      stderr=subprocess.DEVNULL, text=True)
  try:
    assert 'hanging\n' in process.stdout, 'the run ended without reaching the hanging save'
    saved = saved_episodes(tmp_path)
  finally:
    process.kill()
    process.wait()
  assert (tmp_path / 'checkpoint.tmp/variables_temp').is_dir()
  result = run_train(tmp_path, *args[:-2])
  assert result.returncode == 0, result.stdout + result.stderr
  assert 'Resumed from' in result.stdout and (tmp_path / 'done').exists()
  assert set(saved) < set(saved_episodes(tmp_path))
  assert len(tools.load_episodes(tmp_path / 'train_eps')) == len(saved_episodes(tmp_path))
  assert not (tmp_path / 'checkpoint.tmp').exists()


@pytest.mark.slow
def test_transfer_from_mismatched_or_missing_checkpoint(finished_lsp_run, tmp_path):
  result = run_train(tmp_path / 'a', '--configs', 'debug', 'lsp', '--transfer_from',
                     str(finished_lsp_run), '--deter_size', '24')
  assert result.returncode == 1 and 'Cannot restore the checkpoint' in result.stderr
  result = run_train(tmp_path / 'b', '--configs', 'debug', 'lsp', '--transfer_from',
                     str(tmp_path / 'nowhere'))
  assert result.returncode == 2 and 'holds no checkpoint' in result.stderr
  assert not (tmp_path / 'b').exists()


@pytest.mark.slow
@pytest.mark.parametrize('mode', ['stop', 'continue'])
def test_environment_error_mid_episode(tmp_path, mode):
  task = 'gym:tests.fixtures.faulty_env:Faulty-v0'
  result = run_train(tmp_path, '--configs', 'debug', 'dreamer', '--task', task, '--env_error', mode,
                '--steps', '300', '--prefill', '50')
  if mode == 'stop':
    assert result.returncode == 1
    assert 'simulated simulator crash' in result.stderr and 'Faulty-v0' in result.stderr
  else:
    assert result.returncode == 0, result.stderr
    assert 'Restarting the environments' in result.stdout
    assert any(m.get('env_errors') == 1 for m in read_metrics(tmp_path))
    assert (tmp_path / 'done').exists()


@pytest.mark.slow
def test_seeded_deterministic_runs_are_identical(tmp_path):
  args = ['--configs', 'debug', 'lsp', '--steps', '300', '--deterministic', 'True']
  for name in ('a', 'b'):
    assert run_train(tmp_path / name, *args).returncode == 0
  # Timings, sizes on disk and memory differ between identical runs.
  strip = lambda ms: [{k: v for k, v in m.items() if k not in (
      'checkpoint_seconds', 'updates_per_second', 'disk_mb', 'rss_mb', 'process_hours')
      and not k.startswith(('time/', 'cpu/'))} for m in ms]
  first, second = strip(read_metrics(tmp_path / 'a')), strip(read_metrics(tmp_path / 'b'))
  assert any('model_loss' in m for m in first)
  assert first == second
