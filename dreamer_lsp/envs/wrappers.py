"""Wrappers that turn a raw env into the agent's env: each does one thing."""

import gymnasium
import numpy as np


class Wrapper:

  def __init__(self, env):
    self._env = env

  def __getattr__(self, name):
    return getattr(self._env, name)


class NormalizeActions(Wrapper):
  """Actions in [-1, 1] for every bounded action dimension."""

  def __init__(self, env):
    super().__init__(env)
    space = env.act_space
    self._mask = np.isfinite(space.low) & np.isfinite(space.high)
    self._low = np.where(self._mask, space.low, -1)
    self._high = np.where(self._mask, space.high, 1)
    low = np.where(self._mask, -1, space.low).astype(np.float32)
    high = np.where(self._mask, 1, space.high).astype(np.float32)
    self.act_space = gymnasium.spaces.Box(low, high)

  def step(self, action):
    original = (action + 1) / 2 * (self._high - self._low) + self._low
    return self._env.step(np.where(self._mask, original, action))


class ActionRepeat(Wrapper):
  """Repeats each action, summing rewards and stacking each `log_*` quantity per simulator
  step, shape (amount, ...), so that the summed reward can be recomputed from them."""

  def __init__(self, env, amount):
    super().__init__(env)
    self._amount = amount
    self.obs_space = {
        k: gymnasium.spaces.Box(-np.inf, np.inf, (amount, *v.shape), v.dtype)
        if k.startswith('log_') else v for k, v in env.obs_space.items()}

  def reset(self):
    obs = self._env.reset()
    # The reset state stands in for the simulator steps that led to it.
    return {
        k: np.repeat(v[None], self._amount, 0) if k.startswith('log_') else v
        for k, v in obs.items()}

  def step(self, action):
    reward, steps = 0.0, []
    for _ in range(self._amount):
      obs, step_reward, done, info = self._env.step(action)
      reward += step_reward
      steps.append(obs)
      if done:
        break
    obs = {
        k: np.stack([step[k] for step in steps]) if k.startswith('log_') else v
        for k, v in obs.items()}
    return obs, reward, done, info


class TimeLimit(Wrapper):
  """Ends episodes after `duration` agent steps, leaving the discount as it is: the time limit
  is no true end of the task."""

  def __init__(self, env, duration):
    super().__init__(env)
    self._duration = duration
    self._step = None

  def reset(self):
    self._step = 0
    return self._env.reset()

  def step(self, action):
    assert self._step is not None, 'Reset the env before stepping it.'
    obs, reward, done, info = self._env.step(action)
    self._step += 1
    if self._step >= self._duration:
      done = True
      self._step = None
    return obs, reward, done, info


class Pixels(Wrapper):
  """Replaces the 'vector' observation by the rendered 'image'."""

  def __init__(self, env, size):
    super().__init__(env)
    self.obs_space = {k: v for k, v in env.obs_space.items() if k != 'vector'}
    self.obs_space['image'] = gymnasium.spaces.Box(0, 255, (*size, 3), np.uint8)

  def reset(self):
    return self._replace(self._env.reset())

  def step(self, action):
    obs, reward, done, info = self._env.step(action)
    return self._replace(obs), reward, done, info

  def _replace(self, obs):
    obs = {k: v for k, v in obs.items() if k != 'vector'}
    obs['image'] = self._env.render()
    return obs


class Calls:
  """reset, step and render as one `_call(name, *args)`, for envs that handle them alike."""

  def reset(self):
    return self._call('reset')

  def step(self, action):
    return self._call('step', action)

  def render(self):
    return self._call('render')


class NameErrors(Calls, Wrapper):
  """Re-raises the env's errors with the task's name, which the raw error rarely says."""

  def __init__(self, env, task):
    super().__init__(env)
    self._task = task

  def _call(self, name, *args):
    try:
      return getattr(self._env, name)(*args)
    except Exception as e:
      raise RuntimeError(f'Env {self._task!r} failed in {name}(): {e!r}') from e
