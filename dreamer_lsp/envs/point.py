"""A 2-D point that moves to a fixed goal: a task small enough for learning tests."""

import gymnasium
import numpy as np

from . import rewards


class PointReach:
  """pos += 0.1 * action within [-1, 1]^2, starting uniformly; reward rewards.point."""

  def __init__(self, seed=0, size=(64, 64)):
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
    reward = float(rewards.point(obs))
    return obs, reward, False, {'discount': np.float32(1)}

  def render(self):
    """White image with the goal as a green and the point as a red 3x3 square."""
    image = np.full((*self._size, 3), 255, np.uint8)
    for pos, color in ((rewards.POINT_GOAL, (0, 160, 0)), (self._pos, (220, 0, 0))):
      row = int(round((1 - pos[1]) / 2 * (self._size[0] - 1)))  # y points up.
      col = int(round((1 + pos[0]) / 2 * (self._size[1] - 1)))
      image[max(row - 1, 0): row + 2, max(col - 1, 0): col + 2] = color
    return image

  def close(self):
    pass

  def _obs(self):
    return {'vector': self._pos.copy(), 'log_pos': self._pos.copy()}
