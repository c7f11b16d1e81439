"""dm_control environments as envs with a 'vector' observation and `log_*` quantities."""

import gymnasium
import numpy as np

SHADOW_TEXELS_PER_PIXEL = 8


def make(name, seed):
  """A dm_control suite task, e.g. 'cheetah_run'."""
  from dm_control import suite
  domain, task = name.split('_', 1)
  # Our TimeLimit wrapper ends episodes, in agent steps.
  return suite.load(domain, task, task_kwargs={'random': seed, 'time_limit': float('inf')})


class DeepMindControl:
  """Observations become a float32 'vector' of all features, plus the `log_*` ones as they are."""

  def __init__(self, env, size=(64, 64), camera=0):
    self._env = env
    self._size = size
    self._camera = camera
    specs = env.observation_spec()
    self._logs = [k for k in specs if k.startswith('log_')]
    self._features = [k for k in specs if not k.startswith('log_')]
    vector = sum(int(np.prod(specs[k].shape)) for k in self._features)
    self.obs_space = {'vector': gymnasium.spaces.Box(-np.inf, np.inf, (vector,), np.float32)}
    for key in self._logs:
      self.obs_space[key] = gymnasium.spaces.Box(-np.inf, np.inf, specs[key].shape, np.float32)
    spec = env.action_spec()
    self.act_space = gymnasium.spaces.Box(
        spec.minimum.astype(np.float32), spec.maximum.astype(np.float32))

  def reset(self):
    return self._obs(self._env.reset())

  def step(self, action):
    time_step = self._env.step(action)
    info = {'discount': np.float32(time_step.discount)}
    return self._obs(time_step), float(time_step.reward), time_step.last(), info

  def render(self):
    physics = self._env.physics
    # MuJoCo's default shadow map (2048 texels a side, 4096 in some models) is most of a small
    # frame's cost in software rendering; 8 texels per pixel of the frame changes 0.02-0.13% of
    # the pixels of a 64x64 frame and renders it 1.5-1.8x faster (README: Deviations). It is
    # read when a rendering context is made, which a model reload (a task's reset) can redo.
    physics.model.vis.quality.shadowsize = SHADOW_TEXELS_PER_PIXEL * max(self._size)
    return physics.render(*self._size, camera_id=self._camera)

  def close(self):
    self._env.close()

  def _obs(self, time_step):
    obs = time_step.observation
    vector = [np.asarray(obs[k], np.float32).ravel() for k in self._features]
    return {
        'vector': np.concatenate(vector),
        **{k: np.asarray(obs[k], np.float32) for k in self._logs}}
