"""Rewards of the custom tasks, as pure functions of the recorded `log_*` quantities.

Each function maps the quantities of simulator steps (arrays with any leading axes) to their
rewards. The envs compute their rewards with these same functions, and `relabel` applies them
to stored episodes, e.g. to relabel a replay buffer with the reward of a new task.
"""

import os
import pathlib
import shutil

import numpy as np
from dm_control.utils.rewards import tolerance  # Plain NumPy, loads no simulator.

from dreamer_lsp import config as config_lib

WALK_SPEED = 0.5  # Metres per second, as in dm_control's quadruped walk.
GOAL_DISTANCE = 6.0  # Metres from the start to the goal.
GOAL_RADIUS = 0.5
POINT_GOAL = np.array([0.5, 0.5], np.float32)


def walk(log):
  """Upright and moving forward at walking speed, as dm_control's quadruped walk."""
  return _upright(log) * _move(log['log_torso_vel'][..., 0])


def reach(log):
  """Upright and near the goal: 0 at the start's distance, rising linearly to 1 at the goal."""
  near = tolerance(
      _distance(log), bounds=(0, GOAL_RADIUS), margin=GOAL_DISTANCE - GOAL_RADIUS,
      sigmoid='linear', value_at_margin=0)
  return _upright(log) * near


def navigate(log):
  """Upright and walking towards the goal at walking speed; full reward once there."""
  offset = log['log_goal'] - log['log_root_pos'][..., :2]
  direction = offset / np.maximum(np.linalg.norm(offset, axis=-1, keepdims=True), 1e-6)
  speed = (log['log_root_vel'][..., :2] * direction).sum(-1)
  return _upright(log) * np.where(_distance(log) < GOAL_RADIUS, 1.0, _move(speed))


def sparse_goal(log):
  """1 inside the goal radius, else 0."""
  return (_distance(log) < GOAL_RADIUS).astype(np.float32)


def no_reward(log):
  return np.zeros(np.shape(log['log_pos'])[:-1], np.float32)


def point(log):
  return np.exp(-((log['log_pos'] - POINT_GOAL) ** 2).sum(-1) / 0.5)


REWARDS = {
    'point_open': no_reward,
    'point_reach': point,
    'quadruped_cove': sparse_goal,
    'quadruped_getup_walk': walk,
    'quadruped_obstacles': navigate,
    'quadruped_reach': reach,
    'quadruped_reach_upright': reach,
    'quadruped_walk': walk,
}


def reached_goal(log):
  """Within the goal radius, upright or not."""
  return _distance(log) < GOAL_RADIUS


# The goal tasks: an episode succeeds once the quadruped is at the goal at any simulator step
# (Fig. 9's "reaches the goal"; the cove's sparse reward is this, so its return can't tell how
# many episodes got there from how long they stayed).
SUCCESS = {
    'quadruped_cove': reached_goal,
    'quadruped_obstacles': reached_goal,
    'quadruped_reach': reached_goal,
    'quadruped_reach_upright': reached_goal,
}


def succeeded(task, episode):
  """Whether a stored episode of a goal task (one of SUCCESS) reached its goal."""
  log = {k: np.asarray(v) for k, v in episode.items() if k.startswith('log_')}
  return bool(np.any(SUCCESS[task](log)))


def relabel(task, episode):
  """Rewards of `task` for a stored episode, shape (T,), matching what the env returned.

  The envs record every `log_*` quantity once per simulator step, shape (T, action_repeat,
  ...), so an agent step's reward is the sum over its simulator steps, as the env computes it.
  Index 0 is the reset observation, whose reward is 0.
  """
  if task not in REWARDS:
    raise ValueError(f'No reward function for {task!r}; relabeling supports {list(REWARDS)}.')
  log = {k: np.asarray(v) for k, v in episode.items() if k.startswith('log_')}
  rewards = np.asarray(REWARDS[task](log), np.float32).sum(1)
  rewards[0] = 0
  return rewards


def relabel_episodes(task, source, target):
  """The Walk -> Reach transfer's replay: the episodes of folder `source` with the rewards of
  `task`, written to folder `target` under a temp name, renamed when complete, so that a kill
  leaves no half. Returns how many; 0 where `target` exists already."""
  import tools  # Imports TensorFlow, which the env worker processes that import this must not.
  target = pathlib.Path(target)
  if target.exists():
    return 0
  episodes = tools.load_episodes(source)
  if not episodes:
    raise config_lib.ConfigError(f'No episodes to relabel in {source}.')
  temp = target.with_name(target.name + '.tmp')
  shutil.rmtree(temp, ignore_errors=True)
  for episode in episodes.values():
    tools.save_episode(temp, dict(episode, reward=relabel(task, episode)))
  os.replace(temp, target)
  return len(episodes)


def _upright(log):
  # dm_control's quadruped upright reward: 1 upright, 0 upside down, linear in between.
  return (1 + log['log_upright'][..., 0]) / 2


def _move(speed):
  return tolerance(
      speed, bounds=(WALK_SPEED, float('inf')), margin=WALK_SPEED,
      value_at_margin=0.5, sigmoid='linear')


def _distance(log):
  return np.linalg.norm(log['log_goal'] - log['log_root_pos'][..., :2], axis=-1)

