"""Any gymnasium env with Box observations and actions, behind the same env interface."""

import gymnasium
import numpy as np


class GymAdapter:
  """Wraps a gymnasium env object: the observation becomes the flat 'vector'; a terminated
  episode ends with discount 0, a truncated one with discount 1."""

  def __init__(self, env, seed=0):
    if not isinstance(env.observation_space, gymnasium.spaces.Box):
      raise ValueError(f'Need a Box observation space, got {env.observation_space}.')
    if not isinstance(env.action_space, gymnasium.spaces.Box):
      raise ValueError(f'Need a Box action space, got {env.action_space}.')
    self._env = env
    self._seed = seed
    size = int(np.prod(env.observation_space.shape))
    self.obs_space = {'vector': gymnasium.spaces.Box(-np.inf, np.inf, (size,), np.float32)}
    space = env.action_space
    self.act_space = gymnasium.spaces.Box(
        space.low.astype(np.float32), space.high.astype(np.float32))

  def reset(self):
    # Seed the first reset only; later resets continue the env's random stream.
    obs, _ = self._env.reset(seed=self._seed)
    self._seed = None
    return self._obs(obs)

  def step(self, action):
    obs, reward, terminated, truncated, _ = self._env.step(action)
    info = {'discount': np.float32(0 if terminated else 1)}
    return self._obs(obs), float(reward), terminated or truncated, info

  def close(self):
    self._env.close()

  def _obs(self, obs):
    return {'vector': np.asarray(obs, np.float32).ravel()}
