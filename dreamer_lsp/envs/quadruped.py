"""The paper's custom quadruped tasks, built on dm_control's quadruped model.

All of them share one observation layout (dm_control's quadruped observations, the goal in the
torso frame and the rangefinders) so that world models, policies and replay buffers transfer
between them. Goals lie GOAL_DISTANCE from the start in a random direction; obstacle layouts
are given in the goal frame, where the start is the origin and the goal lies on the x-axis.
"""

from dm_control.rl import control
from dm_control.suite import base
from dm_control.suite import common
from dm_control.suite import quadruped
from lxml import etree
import numpy as np

from . import rewards

OBSTACLE_RADIUS = 0.25
OBSTACLE_HEIGHT = 1.0  # Taller than the standing torso, so the robot can't climb over.

# A U of touching cylinders that opens towards the start, 2 m in front of the goal: walking
# straight at the goal ends against its back wall.
COVE = np.array(
    [(4, y) for y in np.linspace(-1.5, 1.5, 7)] +
    [(x, y) for x in (2.5, 3, 3.5) for y in (-1.5, 1.5)])


def random_field(random):
  """Obstacles scattered between the start and the goal, as many as in the cove so that
  episodes of both tasks have the same shapes and can share a replay buffer."""
  return random.uniform((1.5, -3), (rewards.GOAL_DISTANCE - 1.5, 3), (len(COVE), 2))

TASKS = {
    # name: (starts upright, number of obstacles, obstacle layout)
    'quadruped_walk': (True, 0, None),
    'quadruped_getup_walk': (False, 0, None),
    'quadruped_reach': (False, 0, None),
    'quadruped_reach_upright': (True, 0, None),
    'quadruped_obstacles': (True, len(COVE), random_field),
    'quadruped_cove': (True, len(COVE), lambda random: COVE),
}


def make(task, seed):
  upright, count, layout = TASKS[task]
  physics = quadruped.Physics.from_xml_string(make_model(count), common.ASSETS)
  task = Task(rewards.REWARDS[task], upright, count, layout, random=seed)
  # Our TimeLimit wrapper ends episodes, in agent steps.
  return control.Environment(
      physics, task, time_limit=float('inf'), control_timestep=quadruped._CONTROL_TIMESTEP)


def make_model(count):
  """dm_control's quadruped with rangefinders, a goal marker and `count` cylinders."""
  floor = 2 * rewards.GOAL_DISTANCE
  mjcf = etree.fromstring(quadruped.make_model(floor_size=floor, rangefinders=True))
  world = mjcf.find('worldbody')
  etree.SubElement(
      world, 'site', name='goal', type='cylinder', material='target',
      size=f'{rewards.GOAL_RADIUS} .01', pos='0 0 .01')
  # Static bodies, moved each episode through model.body_pos: unlike geoms of the world body,
  # their collision bounding volumes live in the body frame and so stay valid.
  for index in range(count):
    body = etree.SubElement(world, 'body', name=f'obstacle_{index}')
    etree.SubElement(
        body, 'geom', name=f'obstacle_{index}', type='cylinder', material='decoration',
        size=f'{OBSTACLE_RADIUS} {OBSTACLE_HEIGHT / 2}', pos=f'0 0 {OBSTACLE_HEIGHT / 2}')
  return etree.tostring(mjcf)


class Task(base.Task):

  def __init__(self, reward, upright, count, layout, random=None):
    self._reward = reward
    self._upright = upright
    self._count = count
    self._layout = layout
    self._goal = np.zeros(2, np.float32)
    self._obstacles = np.zeros((count, 2), np.float32)
    super().__init__(random=random)

  def initialize_episode(self, physics):
    angle = self.random.uniform(0, 2 * np.pi)
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    self._goal = (rotation @ (rewards.GOAL_DISTANCE, 0)).astype(np.float32)
    physics.named.model.site_pos['goal', :2] = self._goal
    if self._count:
      self._obstacles = (self._layout(self.random) @ rotation.T).astype(np.float32)
      names = [f'obstacle_{index}' for index in range(self._count)]
      physics.named.model.body_pos[names, :2] = self._obstacles
    if self._upright:
      yaw = self.random.uniform(0, 2 * np.pi)
      orientation = np.array([np.cos(yaw / 2), 0, 0, np.sin(yaw / 2)])
    else:
      # A uniformly random rotation, as dm_control's walk: upside down half of the time.
      orientation = self.random.randn(4)
      orientation /= np.linalg.norm(orientation)
    quadruped._find_non_contacting_height(physics, orientation)
    super().initialize_episode(physics)

  def get_observation(self, physics):
    obs = quadruped._common_observations(physics)
    torso_frame = physics.named.data.xmat['torso'].reshape(3, 3)
    goal = np.array([*self._goal, 0]) - physics.named.data.xpos['torso']
    obs['goal'] = goal @ torso_frame
    obs['rangefinder'] = physics.rangefinder()
    obs.update(self._log(physics))
    return obs

  def get_reward(self, physics):
    return float(self._reward(self._log(physics)))

  def _log(self, physics):
    """Recorded quantities: what the rewards are computed from, and obstacles for plots."""
    torso_frame = physics.named.data.xmat['torso'].reshape(3, 3)
    log = {
        'log_root_pos': physics.named.data.xpos['torso'],
        'log_root_vel': torso_frame @ physics.torso_velocity(),
        'log_torso_vel': physics.torso_velocity(),
        'log_upright': [physics.torso_upright()],
        'log_goal': self._goal,
    }
    if self._count:  # For plots: x, y and radius of each obstacle.
      radii = np.full((self._count, 1), OBSTACLE_RADIUS)
      log['log_obstacles'] = np.concatenate([self._obstacles, radii], 1)
    # Float32 as stored, so that relabeling sees exactly the inputs the env used.
    return {k: np.array(v, np.float32) for k, v in log.items()}
