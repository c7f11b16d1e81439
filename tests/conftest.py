import pathlib
import subprocess
import sys

import numpy as np
import pytest
import gymnasium

from dreamer_lsp import config as config_lib


@pytest.fixture
def spaces():
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


REPO = pathlib.Path(__file__).resolve().parent.parent


def run_train(logdir, *args):
  """train.py in a subprocess, to completion."""
  return subprocess.run(
      [sys.executable, 'train.py', '--logdir', str(logdir), *args], cwd=REPO,
      capture_output=True, text=True, timeout=600)
