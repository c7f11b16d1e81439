import os
import signal
import subprocess
import sys

import gymnasium
import numpy as np
import pytest

from dreamer_lsp.envs import GymAdapter, TASKS, make_env, relabel, wrap
from dreamer_lsp.envs import rewards

from conftest import REPO

CUSTOM = sorted(rewards.REWARDS)


def rollout(env, steps=None):
  """Random actions until done or `steps`; returns the episode as stacked arrays."""
  obs = env.reset()
  transitions = [{**obs, 'reward': 0.0, 'discount': 1.0}]
  done = False
  while not done and (steps is None or len(transitions) <= steps):
    obs, reward, done, info = env.step(env.act_space.sample())
    transitions.append({**obs, 'reward': reward, 'discount': info['discount']})
  return {k: np.stack([t[k] for t in transitions]) for k in transitions[0]}, done


def check_obs(env, episode):
  for key, space in env.obs_space.items():
    assert episode[key].shape[1:] == space.shape, key
    assert episode[key].dtype == space.dtype, key
    assert np.isfinite(episode[key]).all(), key


@pytest.mark.parametrize('task', TASKS)
def test_task_steps_until_time_limit(task):
  env = make_env(task, time_limit=20, action_repeat=2)
  assert env.act_space.shape and (env.act_space.low == -1).all()
  assert (env.act_space.high == 1).all() and env.act_space.dtype == np.float32
  episode, done = rollout(env)
  env.close()
  assert done and len(episode['reward']) == 1 + 10
  assert np.isfinite(episode['reward']).all() and (episode['discount'] == 1).all()
  check_obs(env, episode)
  assert episode['vector'].ndim == 2


def test_pixels_in_worker_with_tensorflow_imported():
  # OSMesa crashes a process that holds TensorFlow: the env must render in its worker.
  import tensorflow as tf  # noqa: F401
  env = make_env('dmc_cartpole_swingup', obs='pixels', time_limit=6, size=(64, 64))
  assert env.obs_space['image'].shape == (64, 64, 3) and 'vector' not in env.obs_space
  episode, done = rollout(env)
  frame = env.render()
  env.close()
  assert done and episode['image'].shape == (4, 64, 64, 3)
  assert episode['image'].dtype == np.uint8 and episode['image'].std() > 0
  assert frame.shape == (64, 64, 3) and frame.dtype == np.uint8


def test_render_option_keeps_vector_observation():
  env = make_env('point_reach', render=True, size=(32, 48), time_limit=4, action_repeat=1)
  obs = env.reset()
  frame = env.render()
  env.close()
  assert obs['vector'].shape == (2,) and frame.shape == (32, 48, 3)


def test_worker_death_raises_naming_task():
  env = make_env('point_reach', process=True)
  env.reset()
  os.kill(env.pid, signal.SIGKILL)
  with pytest.raises(RuntimeError, match="point_reach.*died"):
    env.step(np.zeros(2))
  env.close()


@pytest.mark.parametrize('process', [False, True])
def test_errors_name_task(process):
  env = make_env('point_reach', process=process)
  env.reset()
  with pytest.raises(RuntimeError, match='point_reach'):
    env.step(np.zeros(5))  # Wrong shape.
  env.close()


def test_getup_walk_sometimes_starts_upside_down():
  def upright(task, seed):
    env = make_env(task, seed=seed)
    return env.reset()['log_upright'][-1, 0]
  getup = [upright('quadruped_getup_walk', seed) for seed in range(8)]
  assert min(getup) < 0 < max(getup)
  assert min(upright('quadruped_reach_upright', seed) for seed in range(3)) > 0.9


def test_cove_reward_is_sparse():
  env = make_env('quadruped_cove', time_limit=400)
  episode, _ = rollout(env, steps=100)
  assert (episode['reward'] == 0).all()
  goal = episode['log_goal'][0]
  at_goal = {'log_root_pos': np.array([*goal[0], 0.5]), 'log_goal': goal[0]}
  assert rewards.sparse_goal(at_goal) == 1


def test_a_cove_episode_succeeds_when_it_reaches_the_goal_once():
  env = make_env('quadruped_cove', time_limit=60, action_repeat=2)
  episode, _ = rollout(env)
  assert not rewards.succeeded('quadruped_cove', episode)
  at_goal = {k: np.array(v) for k, v in episode.items()}
  at_goal['log_root_pos'][30, 1, :2] = at_goal['log_goal'][30, 1]  # One simulator step there.
  assert rewards.succeeded('quadruped_cove', at_goal)
  # The sparse reward is success: an episode's return is positive exactly when it succeeded.
  assert relabel('quadruped_cove', at_goal).sum() > 0 == relabel('quadruped_cove', episode).sum()
  assert set(rewards.SUCCESS) <= set(rewards.REWARDS) and 'quadruped_walk' not in rewards.SUCCESS


def test_reach_reward_rises_towards_goal():
  goal = np.array([6.0, 0.0])
  log = {
      'log_root_pos': np.array([[0, 0, .5], [3, 0, .5], [6, 0, .5]]),
      'log_goal': goal, 'log_upright': np.ones((3, 1))}
  near = rewards.reach(log)
  assert near[0] == pytest.approx(0, abs=1e-6) and near[0] < near[1] < near[2] == 1


@pytest.mark.parametrize('task', CUSTOM)
def test_relabel_matches_env_reward(task):
  env = make_env(task, time_limit=100, action_repeat=2, seed=1)
  episode, _ = rollout(env)
  assert episode['log_pos' if task.startswith('point_') else 'log_goal'].shape[1] == 2
  np.testing.assert_allclose(relabel(task, episode), episode['reward'], rtol=1e-5, atol=1e-5)


def test_relabel_walk_episode_for_reach():
  episode, _ = rollout(make_env('quadruped_walk', time_limit=40))
  relabeled = relabel('quadruped_reach_upright', episode)
  assert relabeled.shape == episode['reward'].shape and relabeled[0] == 0
  assert ((0 <= relabeled) & (relabeled <= 2)).all()  # Two simulator steps of at most 1.


def test_unknown_task_suggests_names():
  with pytest.raises(ValueError, match="dmc_cheetah_run") as info:
    make_env('dmc_cheetah_rn')
  assert 'quadruped_cove' in str(info.value)  # Lists every task.


def test_gym_adapter_pendulum():
  env = make_env('gym:Pendulum-v1', time_limit=20, action_repeat=2)
  assert env.obs_space['vector'].shape == (3,) and env.act_space.shape == (1,)
  episode, done = rollout(env)
  assert done and len(episode['reward']) == 11 and (episode['discount'] == 1).all()
  # Pendulum's own 200-step truncation ends the episode with discount 1.
  episode, done = rollout(make_env('gym:Pendulum-v1', time_limit=1000, action_repeat=1))
  assert done and len(episode['reward']) == 201 and episode['discount'][-1] == 1


class Terminating(gymnasium.Env):
  observation_space = gymnasium.spaces.Box(-1, 1, (2, 2))
  action_space = gymnasium.spaces.Box(0, 4, (1,))

  def reset(self, seed=None, options=None):
    super().reset(seed=seed)
    self._steps = 0
    return np.zeros((2, 2)), {}

  def step(self, action):
    self._steps += 1
    return np.full((2, 2), action[0]), 1.0, self._steps == 3, False, {}


def test_gym_adapter_wraps_own_env_and_terminates():
  env = wrap(GymAdapter(Terminating()), 'terminating', action_repeat=1)
  episode, done = rollout(env)
  assert done and len(episode['reward']) == 4 and episode['discount'][-1] == 0
  assert episode['vector'].shape == (4, 4)
  env.reset()
  obs, *_ = env.step(np.ones(1))
  assert np.allclose(obs['vector'], 4)  # Action 1 maps to the top of [0, 4].


def test_point_reach_reward_is_highest_at_goal():
  env = make_env('point_reach', action_repeat=1, time_limit=50)
  env.reset()
  for _ in range(25):
    obs, far, _, _ = env.step(-np.ones(2))
  assert np.allclose(obs['vector'], -1)
  for _ in range(24):
    obs, near, done, _ = env.step(np.clip((rewards.POINT_GOAL - obs['vector']) * 10, -1, 1))
  assert near > 0.99 > 0.01 > far and not done
  assert env.step(np.zeros(2))[2]  # Step 50 ends the episode.


def test_features_env_loads_no_gl_backend():
  # Any OpenGL backend loaded next to TensorFlow risks OSMesa's crash at exit.
  make_env('dmc_cheetah_run').close()
  from dm_control import _render
  assert _render.BACKEND == 'off'


def test_workers_of_several_envs_step_at_once():
  """simulate sends every worker its step before it waits for any, and gets the episodes that
  envs stepped one by one in this process give."""
  import tools
  from dreamer_lsp import agent

  class Recorded:
    def __init__(self, env, name, log):
      self._env, self._name, self._log = env, name, log
      self.obs_space, self.act_space = env.obs_space, env.act_space

    def call_async(self, method, *args):
      self._log.append(('send', self._name, method))
      result = self._env.call_async(method, *args)
      return lambda: (self._log.append(('wait', self._name, method)), result())[1]

    def close(self):
      self._env.close()

  def episodes(envs):
    policy = agent.random_policy(envs[0].act_space, seed=0)
    finished = []
    tools.simulate(policy, envs, episodes=2, on_episode=[finished.append])
    for env in envs:
      env.close()
    return finished

  log = []
  make = lambda seed, process: make_env(
      'point_reach', action_repeat=1, time_limit=20, seed=seed, process=process)
  parallel = episodes([Recorded(make(seed, True), seed, log) for seed in (0, 1)])
  for first in range(0, len(log), 4):  # Per step or reset: both sends, then both waits.
    assert [kind for kind, _, _ in log[first:first + 4]] == ['send', 'send', 'wait', 'wait']
  serial = episodes([make(seed, False) for seed in (0, 1)])
  assert len(parallel) == len(serial) == 2
  for ours, theirs in zip(parallel, serial):
    for key in theirs:
      np.testing.assert_array_equal(ours[key], theirs[key], err_msg=key)


def test_pixels_render_with_a_smaller_shadow_map_and_the_same_picture():
  """Frames are rendered with a shadow map of 8 texels per pixel instead of MuJoCo's 2048 a side
  (faster in software), and show the same picture: at most 0.5% of their pixels differ."""
  script = '''
import numpy as np
from dreamer_lsp.envs import gl, dmc
gl.import_dm_control(render=True)
ours, theirs = (dmc.DeepMindControl(dmc.make('walker_walk', 0)) for _ in range(2))
ours.reset(), theirs.reset()
differing = []
for _ in range(3):
  action = np.full(ours.act_space.shape, 0.5, np.float32)
  ours.step(action), theirs.step(action)
  frame = ours.render()
  default = theirs._env.physics.render(64, 64, camera_id=0)
  differing.append(np.mean(np.any(frame != default, -1)))
print(ours._env.physics.model.vis.quality.shadowsize, theirs._env.physics.model.vis.quality.shadowsize, max(differing))
'''
  result = subprocess.run(
      [sys.executable, '-c', script], capture_output=True, text=True, timeout=300, cwd=REPO)
  assert result.returncode == 0, result.stderr
  ours, default, differing = result.stdout.split()
  assert int(ours) == 512 and int(default) > 512
  assert 0 <= float(differing) < 0.005
