"""A 2-D point in the square [-1, 1]^2: `point_reach` moves it to a fixed goal (a task small
enough for learning tests); `point_open` has no reward, for watching skills form."""

import gymnasium
import numpy as np

from . import rewards


class Point:
  """pos += 0.1 * action within [-1, 1]^2, starting uniformly; reward rewards.REWARDS[task]."""

  def __init__(self, task='point_reach', seed=0, size=(64, 64)):
    self._reward = rewards.REWARDS[task]
    self._goal = task == 'point_reach'
    self._random = np.random.RandomState(seed)
    self._size = size
    self._pos = np.zeros(2, np.float32)
    box = gymnasium.spaces.Box(-1, 1, (2,), np.float32)
    self.obs_space = {'vector': box, 'log_pos': box}
    self.act_space = box

  def reset(self):
    self._pos = self._random.uniform(-1, 1, 2).astype(np.float32)
    return self._obs()

  def step(self, action):
    self._pos = np.clip(self._pos + 0.1 * np.asarray(action, np.float32), -1, 1)
    obs = self._obs()
    reward = float(self._reward(obs))
    return obs, reward, False, {'discount': np.float32(1)}

  def render(self):
    """White image with the goal (if any) as a green and the point as a red 3x3 square."""
    image = np.full((*self._size, 3), 255, np.uint8)
    marks = [(rewards.POINT_GOAL, (0, 160, 0))] if self._goal else []
    for pos, color in marks + [(self._pos, (220, 0, 0))]:
      row = int(round((1 - pos[1]) / 2 * (self._size[0] - 1)))  # y points up.
      col = int(round((1 + pos[0]) / 2 * (self._size[1] - 1)))
      image[max(row - 1, 0): row + 2, max(col - 1, 0): col + 2] = color
    return image

  def close(self):
    pass

  def _obs(self):
    return {'vector': self._pos.copy(), 'log_pos': self._pos.copy()}
