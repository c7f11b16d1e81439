"""make_env: builds any task by name behind the agent's env interface."""

import importlib

import gymnasium

from dreamer_lsp import config as config_lib

from . import dmc
from . import gl
from . import process as process_lib
from . import rewards
from . import wrappers
from .gym_adapter import GymAdapter
from .point import Point

DMC = (
    'cartpole_balance', 'cartpole_swingup', 'cheetah_run', 'hopper_hop', 'pendulum_swingup',
    'quadruped_run', 'quadruped_walk', 'walker_run', 'walker_walk')

# The custom tasks are those with a reward function that relabels stored episodes.
TASKS = sorted([f'dmc_{name}' for name in DMC] + list(rewards.REWARDS))


def make_env(
    task, obs='features', action_repeat=2, time_limit=1000, size=(64, 64), seed=0,
    render=False, process=None):
  """Builds `task` ('gym:<id>' for a gymnasium env) as an env with obs_space, act_space,
  reset(), step(action) -> (obs, reward, done, info), render() and close().

  obs: 'features' gives obs['vector'] (float32), 'pixels' gives obs['image'] (uint8, size);
  both add the task's `log_*` quantities, one row per simulator step: (action_repeat, ...).
  Actions lie in [-1, 1]; each is repeated `action_repeat` times with rewards summed; episodes
  end after `time_limit` simulator steps, i.e. time_limit // action_repeat agent steps.
  process: run the env in a worker process; None does so exactly when the env renders
  (pixels or render=True), because OSMesa rendering crashes processes with TensorFlow.
  """
  check_task(task)
  if obs not in ('features', 'pixels'):
    raise ValueError(f"obs must be 'features' or 'pixels', got {obs!r}.")
  renders = obs == 'pixels' or render
  if process is None:
    process = renders
  if process:
    return process_lib.Process(task, dict(
        task=task, obs=obs, action_repeat=action_repeat, time_limit=time_limit, size=size,
        seed=seed, render=render))
  return wrap(_raw(task, seed, size, renders), task, obs, action_repeat, time_limit, size)


def check_task(task):
  """Raises ConfigError (a ValueError) for a task that is neither in TASKS nor 'gym:<id>' of a
  registered gymnasium env."""
  if task.startswith('gym:'):
    _check_gym_id(task[len('gym:'):])
  elif task not in TASKS:
    raise config_lib.ConfigError(
        config_lib.unknown('task', task, TASKS) + f' Tasks: {", ".join(TASKS)}; or gym:<id> '
        'for a gymnasium env with Box spaces.')


def _check_gym_id(env_id):
  """Looks the id up in gymnasium's registry without making the env; `module:id` imports the
  module first, as gymnasium.make does."""
  module, _, name = env_id.rpartition(':')
  try:
    if module:
      importlib.import_module(module)
    gymnasium.spec(name)
  except (ImportError, gymnasium.error.Error) as e:
    raise config_lib.ConfigError(f"Unknown task 'gym:{env_id}': {e}") from None


def wrap(env, task='custom', obs='features', action_repeat=2, time_limit=1000, size=(64, 64)):
  """Adds the standard wrappers to a raw env, e.g. `wrap(GymAdapter(my_gymnasium_env))`."""
  env = wrappers.NormalizeActions(env)
  env = wrappers.ActionRepeat(env, action_repeat)
  env = wrappers.TimeLimit(env, time_limit // action_repeat)
  if obs == 'pixels':
    env = wrappers.Pixels(env, size)
  return wrappers.NameErrors(env, task)


def _raw(task, seed, size, renders):
  if task.startswith('point_'):
    return Point(task, seed, size)
  if task.startswith('gym:'):
    if renders:
      raise ValueError(f'Rendering is not supported for gymnasium envs ({task}).')
    return GymAdapter(gymnasium.make(task[len('gym:'):]), seed)
  gl.import_dm_control(renders)
  if task.startswith('dmc_'):
    name = task[len('dmc_'):]
    camera = 2 if name.startswith('quadruped') else 0  # As Dreamer.
    return dmc.DeepMindControl(dmc.make(name, seed), size, camera)
  from . import quadruped  # Imports dm_control, so only after choosing its GL backend.
  return dmc.DeepMindControl(quadruped.make(task, seed), size, camera=2)
