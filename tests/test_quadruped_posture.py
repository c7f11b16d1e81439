"""scripts/quadruped_posture.py: a quadruped run's evaluations split into uprightness and speed."""
import numpy as np
import pytest

from scripts.quadruped_posture import posture


def _episode(path, up, speed, reward):
  steps = 5
  np.savez(
      path, reward=np.full(steps + 1, reward, np.float32),
      log_upright=np.full((steps + 1, 2, 1), up, np.float32),
      log_torso_vel=np.tile(np.array([speed, 0, 0], np.float32), (steps + 1, 2, 1)))


def test_each_evaluation_averages_its_own_episodes(tmp_path):
  (tmp_path / 'config.yaml').write_text('eval_episodes: 2\n')
  (tmp_path / 'eval_eps').mkdir()
  # Two evaluations of two episodes each (names sort in the order they were written), and a
  # third cut short by the end of the run, which is left out.
  for index, (up, speed, reward) in enumerate(
      [(1, 0.5, 1), (-1, 0.1, 0), (1, 0.2, 0.5), (0, 0.4, 0.5), (1, 1, 1)]):
    _episode(tmp_path / 'eval_eps' / f'2026{index:02d}-500.npz', up, speed, reward)
  rows = posture(tmp_path)
  assert [row['eval'] for row in rows] == [0, 1]
  assert rows[0]['upright'] == pytest.approx(0.5) and rows[1]['upright'] == pytest.approx(0.75)
  assert rows[0]['forward_speed'] == pytest.approx(0.3)
  assert rows[1]['forward_speed'] == pytest.approx(0.3)
  assert rows[0]['eval_return'] == pytest.approx(2.5)  # (5 x 1 + 5 x 0) / 2; step 0 not counted.
  assert rows[1]['eval_return'] == pytest.approx(2.5)



def test_on_a_goal_task_the_closest_approach_to_the_goal(tmp_path):
  (tmp_path / 'config.yaml').write_text('eval_episodes: 2\n')
  (tmp_path / 'eval_eps').mkdir()
  for index, closest in enumerate([5.0, 3.0]):
    path = tmp_path / 'eval_eps' / f'2026{index:02d}-500.npz'
    _episode(path, 1, 0.5, 0)
    x = np.array([6, closest + 1, closest, closest + 2, 6, 6], np.float32)  # The goal at x = 0.
    root = np.stack([x, np.zeros(6), np.zeros(6)], -1)[:, None].repeat(2, 1)
    np.savez(path, **np.load(path), log_goal=np.zeros((6, 2, 2), np.float32), log_root_pos=root)
  [row] = posture(tmp_path)
  assert row['closest_to_goal'] == pytest.approx(4.0)
  # Walk episodes have no goal, and their rows no such key.
  (tmp_path / 'walk/eval_eps').mkdir(parents=True)
  (tmp_path / 'walk/config.yaml').write_text('eval_episodes: 1\n')
  _episode(tmp_path / 'walk/eval_eps/202600-500.npz', 1, 0.5, 0)
  assert 'closest_to_goal' not in posture(tmp_path / 'walk')[0]
