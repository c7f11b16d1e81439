"""Helpers shared by the tests. Tests marked `slow` train with the compiled graphs (make
test-fast leaves them out); tests marked `exhaustive` repeat make test's coverage at length
(only make test-all runs them)."""
import fcntl
import json
import pathlib
import subprocess
import sys

import numpy as np
import pytest
import gymnasium

from dreamer_lsp import config as config_lib

REPO = pathlib.Path(__file__).resolve().parent.parent


@pytest.fixture(scope='session')
def finished_lsp_run(tmp_path_factory, worker_id):
  """A finished LSP run (`--configs debug lsp`: 600 steps of point_reach), trained once for the
  tests that read one. Copy it (shutil.copytree) before changing anything in it."""
  root = tmp_path_factory.getbasetemp()
  if worker_id != 'master':
    root = root.parent  # Shared by pytest-xdist's workers: the first to need it trains it.
  logdir = root / 'finished_lsp_run'
  with open(root / 'finished_lsp_run.lock', 'w') as lock:
    fcntl.flock(lock, fcntl.LOCK_EX)
    if not (logdir / 'done').exists():
      result = run_train(logdir, '--configs', 'debug', 'lsp')
      assert result.returncode == 0, result.stdout + result.stderr
  return logdir


@pytest.fixture
def eager():
  """Runs tf.functions eagerly, for tests of what an update computes: a trace of the update
  takes seconds even at debug sizes. The compiled graphs are tested by
  test_every_preset_updates_and_acts[graph], tests/seeded_updates.py and the train.py tests."""
  import tensorflow as tf
  tf.config.run_functions_eagerly(True)
  yield
  tf.config.run_functions_eagerly(False)


@pytest.fixture
def spaces():
  return vector_spaces()


def vector_spaces():
  obs_space = {'vector': gymnasium.spaces.Box(-np.inf, np.inf, (5,), np.float32)}
  act_space = gymnasium.spaces.Box(-1, 1, (2,), np.float32)
  return obs_space, act_space


def debug_config(*presets, **overrides):
  return config_lib.build(['debug', *presets], overrides)


def random_batch(config, obs_dim=5, act_dim=2, seed=0):
  rng = np.random.RandomState(seed)
  shape = (config.batch_size, config.batch_length)
  return {
      'vector': rng.randn(*shape, obs_dim).astype(np.float32),
      'action': rng.uniform(-1, 1, shape + (act_dim,)).astype(np.float32),
      'reward': rng.randn(*shape).astype(np.float32),
      'discount': np.ones(shape, np.float32)}


def _train_command(logdir, *args):
  return [sys.executable, 'train.py', '--logdir', str(logdir), *args]


def run_train(logdir, *args):
  """train.py in a subprocess, to completion."""
  return subprocess.run(
      _train_command(logdir, *args), cwd=REPO, capture_output=True, text=True, timeout=600)


def start_train(logdir, *args):
  """train.py in a subprocess, running on; stdout and stderr together in `.stdout`."""
  return subprocess.Popen(
      _train_command(logdir, *args), cwd=REPO, stdout=subprocess.PIPE,
      stderr=subprocess.STDOUT, text=True)



def save_sweep_configs(sweep_file, root, **changes):
  """Writes into each existing logdir of the sweep's runs under `root` the config.yaml that
  train.py would have saved for it, with `changes` to its flags."""
  from dreamer_lsp.sweep import spec
  for run in spec.expand(spec.load(sweep_file), root):
    if run.logdir.exists():
      flags = [arg for key, value in changes.items() for arg in (f'--{key}', str(value))]
      config_lib.parse_args(run.args + flags).save(run.logdir / 'config.yaml')

def read_metrics(logdir):
  return [json.loads(line) for line in (logdir / 'metrics.jsonl').read_text().splitlines()]


def saved_episodes(logdir):
  return sorted(path.name for path in (logdir / 'train_eps').glob('*.npz'))
