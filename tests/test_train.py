"""train.py end to end: artifacts, crash safety, signals, and learning on a small task."""
import json
import shutil
import signal
import subprocess
import time

import numpy as np
import pytest

import tools
from dreamer_lsp import envs
from dreamer_lsp import logdir as logdir_lib
from conftest import read_metrics, run_train, saved_episodes, start_train
from scripts.random_return import random_returns

pytestmark = pytest.mark.slow


def test_short_run_leaves_a_complete_logdir(finished_lsp_run, tmp_path):
  for name in ('config.yaml', 'metrics.jsonl', 'returns.png', 'done', 'checkpoint'):
    assert (finished_lsp_run / name).exists(), name
  assert list(finished_lsp_run.glob('events.out.tfevents.*'))
  metrics = read_metrics(finished_lsp_run)
  keys = set().union(*metrics)
  for key in ('train_return', 'eval_return', 'model_loss', 'actor_loss', 'value_loss',
              'intrinsic_reward', 'skill_pred_loss', 'cem_elite_value_0', 'cem_std_1',
              'skill_entropy', 'act_skill_change', 'skill_r2', 'skill_r2_start'):
    assert key in keys, key
  # The skills of the last train episodes decoded at each eval after the first (at step 0 there
  # are none), on every window of those episodes: 16 whole windows of K = 3 in 50 steps each.
  decoded = [m for m in metrics if 'skill_r2' in m]
  assert [m['step'] for m in decoded] == [m['step'] for m in metrics if 'eval_return' in m][1:]
  assert all(m['skill_r2_windows'] % 16 == 0 and -1 < m['skill_r2'] < 1 for m in decoded)
  assert max(m['step'] for m in metrics) == 600
  assert len(saved_episodes(finished_lsp_run)) == 12  # 600 steps of 50-step episodes.
  episode = np.load(sorted((finished_lsp_run / 'train_eps').glob('*.npz'))[-1])
  assert episode['skill'].shape == (51, 3) and episode['skill_switch'].dtype == bool
  # Extended with a larger --steps, the run goes on without evaluating step 600 again.
  logdir = tmp_path / 'run'
  shutil.copytree(finished_lsp_run, logdir)
  result = run_train(logdir, '--configs', 'debug', 'lsp', '--steps', '900')
  assert result.returncode == 0, result.stderr
  evals = [m['step'] for m in read_metrics(logdir) if 'eval_return' in m]
  assert evals == sorted(set(evals)) and evals[-2:] == [600, 900], evals
  # Each start records the code it ran: the commit, whether the checkout was dirty, the step.
  starts = logdir_lib.code_records(logdir)
  assert [start['step'] for start in starts] == [0, 600]
  head = subprocess.run(['git', 'rev-parse', 'HEAD'], capture_output=True, text=True).stdout
  assert starts[-1]['commit'] == head.strip() and isinstance(starts[-1]['dirty'], bool)


def test_killed_run_resumes_without_losing_episodes(tmp_path):
  args = ['--configs', 'debug', 'dreamer', '--steps', '900', '--checkpoint_every', '100']
  # The runs to be killed ask for more steps (run length may change on resume): on a loaded
  # machine a run of 900 could finish between the test's last look and the kill.
  unending = [*args, '--steps', '100000']
  kills = 0
  for wait_for in (4, 12):  # Kill after the prefill, then again in the middle of training.
    process = start_train(tmp_path, *unending)
    while len(saved_episodes(tmp_path)) < wait_for:
      assert process.poll() is None, process.stdout.read()
      time.sleep(0.2)
    time.sleep(0.5)
    process.send_signal(signal.SIGKILL)
    process.wait()
    kills += 1
    before = saved_episodes(tmp_path)
    steps_before = 50 * len(before)
    process = start_train(tmp_path, *(unending if kills == 1 else args))
    line = ''
    # A kill before the first checkpoint was written leaves the run to make up its updates.
    while not any(start in line for start in ('Resumed from', 'Prefilling', 'No checkpoint at')):
      line = process.stdout.readline()
      assert line or process.poll() is None, 'exited before resuming'
    if kills == 1:
      process.send_signal(signal.SIGKILL)
      process.wait()
      assert set(before) <= set(saved_episodes(tmp_path))
      continue
    output, _ = process.communicate(timeout=600)
    assert process.returncode == 0, output
    assert f'at step {steps_before}' in line
    assert set(before) <= set(saved_episodes(tmp_path))  # Nothing saved before a kill is lost.
  assert len(saved_episodes(tmp_path)) == 18
  text = (tmp_path / 'metrics.jsonl').read_text()
  assert text.endswith('\n')
  records = [json.loads(line) for line in text.splitlines()]  # No half-written line.
  train_steps = [r['step'] for r in records if 'train_return' in r]
  assert train_steps == sorted(set(train_steps))  # No episode logged twice.
  assert train_steps[-1] == 900
  # Evaluated where an uninterrupted run evaluates: after the prefill, every 300 steps, and last.
  assert [r['step'] for r in records if 'eval_return' in r] == [100, 400, 700, 900]


def test_sigterm_saves_a_checkpoint_and_exits(tmp_path):
  process = start_train(tmp_path, '--configs', 'debug', 'dreamer', '--steps', '100000',
                        '--checkpoint_every', '100000')
  while len(saved_episodes(tmp_path)) < 4:  # Past the prefill: the agent is training.
    assert process.poll() is None
    time.sleep(0.2)
  process.send_signal(signal.SIGTERM)
  output, _ = process.communicate(timeout=120)
  assert process.returncode == 128 + signal.SIGTERM, output
  assert 'checkpoint saved' in output
  assert (tmp_path / 'checkpoint' / 'variables.index').exists()


# The `point` preset learns point_reach within minutes on 2 CPU cores.
LEARN = ['--eval_every', '4000', '--eval_episodes', '20', '--deterministic', 'True']
MARGIN = 10.0  # Return over random; an episode's return is at most 50.


def test_dreamer_and_lsp_learn_point_reach(tmp_path):
  processes = {
      method: start_train(tmp_path / method, '--configs', 'point', method, *LEARN)
      for method in ('dreamer', 'lsp')}
  random_return = random_returns('point_reach', 20, action_repeat=1, time_limit=50).mean()
  for method, process in processes.items():
    output, _ = process.communicate(timeout=900)
    assert process.returncode == 0, output
    final = [m['eval_return'] for m in read_metrics(tmp_path / method) if 'eval_return' in m][-1]
    print(f'{method}: eval return {final:.1f}, random {random_return:.1f}')
    assert final > random_return + MARGIN, (method, final, random_return)


def test_pixels_train_and_render_videos_in_the_training_program(tmp_path):
  process = start_train(tmp_path, '--configs', 'debug', 'lsp', 'dmc_vision', '--task',
                        'dmc_cartpole_balance', '--steps', '200', '--prefill', '100',
                        '--action_repeat', '2', '--time_limit', '100', '--eval_video', 'True')
  output, _ = process.communicate(timeout=600)
  assert process.returncode == 0, output
  episode = np.load(next((tmp_path / 'train_eps').glob('*.npz')))
  assert episode['image'].shape == (51, 64, 64, 3) and episode['image'].dtype == np.uint8
  videos = sorted((tmp_path / 'videos').glob('eval_*.mp4'))
  assert videos and videos[-1].stat().st_size > 1000


def test_mixed_precision_runs(tmp_path):
  process = start_train(
      tmp_path, '--configs', 'debug', 'lsp', '--steps', '150', '--precision', '16')
  output, _ = process.communicate(timeout=600)
  assert process.returncode == 0, output
  losses = [m['model_loss'] for m in read_metrics(tmp_path) if 'model_loss' in m]
  assert losses and all(np.isfinite(losses))


@pytest.mark.slow
def test_a_goal_task_logs_the_share_of_eval_episodes_that_reached_the_goal(
    tmp_path, finished_lsp_run):
  result = run_train(
      tmp_path, '--configs', 'debug', 'dreamer', '--task', 'quadruped_cove', '--steps', '80',
      '--prefill', '40', '--time_limit', '40', '--eval_every', '80', '--eval_episodes', '3')
  assert result.returncode == 0, result.stderr
  evaluations = [m for m in read_metrics(tmp_path) if 'eval_return' in m]
  assert len(evaluations) == 2 and evaluations[-1]['step'] == 80
  episodes = tools.load_episodes(tmp_path / 'eval_eps')
  assert len(episodes) == 6
  reached = [envs.succeeded('quadruped_cove', episode) for episode in episodes.values()]
  assert np.mean([m['eval_success'] for m in evaluations]) == pytest.approx(np.mean(reached))
  # Tasks without a goal log no success.
  assert all('eval_success' not in m for m in read_metrics(finished_lsp_run))
