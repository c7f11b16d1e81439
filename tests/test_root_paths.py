"""Root paths of the first frames of training (Fig. 8): the cut, the saved file, the figure, and
what `sweep --collect` keeps of them."""
import numpy as np
import pytest
from ruamel.yaml import YAML

from conftest import save_sweep_configs
from dreamer_lsp import root_paths
from dreamer_lsp.sweep import cli

GOAL = np.array([0.0, 6.0])  # Straight up: the goal frame turns the paths by -90 degrees.


def make_run(logdir, lengths, method='lsp', action_repeat=2, log='log_root_pos'):
  """A run whose episode i is at x = 100 i + t after agent step t (y = -t), saved in file-name
  order unlike the order written; lsp episodes start a new skill at steps 0, 3, 6, ...; the
  other simulator steps of an agent step are far off, as only the last ends it."""
  (logdir / 'train_eps').mkdir(parents=True)
  YAML(typ='safe', pure=True).dump(
      dict(task='quadruped_cove', method=method, seed=0, action_repeat=action_repeat),
      logdir / 'config.yaml')
  for index, length in reversed(list(enumerate(lengths))):
    t = np.arange(length + 1)
    position = np.full((length + 1, action_repeat, 3), -50.0)
    position[:, -1] = np.stack([100 * index + t, -t, 0 * t], -1)
    episode = {
        'reward': np.zeros(length + 1), log: position,
        'log_goal': np.tile(GOAL, (length + 1, action_repeat, 1)),
        'log_obstacles': np.tile([[0.0, 4.0, 0.25]], (length + 1, action_repeat, 1, 1))}
    if method == 'lsp':
      episode['skill_switch'] = (t - 1) % 3 == 0
    np.savez_compressed(logdir / f'train_eps/2026010{index}T000000-x-{length}.npz', **episode)
  return logdir


def positions(episodes):
  return [episode['position'].tolist() for episode in episodes]


def expected(index, steps):
  return [[100 * index + t, -t] for t in range(steps + 1)]


def test_the_first_frames_end_at_an_episode_boundary(tmp_path):
  logdir = make_run(tmp_path / 'run', [5, 5, 5])
  episodes = root_paths.run_paths(logdir, 20)  # 10 agent steps: the first two episodes.
  assert positions(episodes) == [expected(0, 5), expected(1, 5)]
  assert [episode['frame'] for episode in episodes] == [0, 10]
  # State 0 acts with the skill of entry 1, which starts a skill; so do entries 4 and 7.
  assert np.flatnonzero(episodes[0]['start']).tolist() == [0, 3]
  assert episodes[0]['goal'].tolist() == GOAL.tolist()


def test_the_first_frames_cut_an_episode(tmp_path):
  logdir = make_run(tmp_path / 'run', [5, 5, 5])
  for frames in (16, 17):  # 8 agent steps; half a step is not taken.
    episodes = root_paths.run_paths(logdir, frames)
    assert positions(episodes) == [expected(0, 5), expected(1, 3)]
  assert positions(root_paths.run_paths(logdir, 30)) == [expected(i, 5) for i in range(3)]
  with pytest.raises(ValueError, match='train episodes hold 30 frames, fewer than the 32 asked'):
    root_paths.run_paths(logdir, 32)  # A run still training: its figure would show less.


def test_saved_paths_load_as_read_and_cut_further(tmp_path):
  logdir = make_run(tmp_path / 'run', [400, 400, 400])
  dest = tmp_path / 'dest'
  dest.mkdir()
  assert root_paths.collect(logdir, dest, frames=1800)
  assert (dest / root_paths.FILENAME).stat().st_size < 10_000
  (dest / 'config.yaml').write_text((logdir / 'config.yaml').read_text())
  loaded, frames = root_paths.load(dest / root_paths.FILENAME)
  assert frames == 1800
  read = root_paths.run_paths(logdir, 1800)
  assert [len(episode['position']) for episode in loaded] == [401, 401, 101]
  for saved, episode in zip(loaded, read):
    np.testing.assert_allclose(saved['position'], episode['position'], rtol=1e-3)  # float16
    assert saved['start'].tolist() == episode['start'].tolist()
    assert saved['obstacles'].tolist() == [[0.0, 4.0, 0.25]]
  cut = root_paths.run_paths(dest, 1000)
  assert [len(episode['position']) for episode in cut] == [401, 101]
  assert [episode['frame'] for episode in cut] == [0, 800]
  with pytest.raises(ValueError, match='holds the first 1800 frames'):
    root_paths.run_paths(dest, 2000)


def test_a_short_runs_saved_paths_say_how_many_frames_they_hold(tmp_path):
  logdir = make_run(tmp_path / 'run', [5, 5])
  assert root_paths.collect(logdir, tmp_path, frames=1000)
  assert root_paths.load(tmp_path / root_paths.FILENAME)[1] == 20


def test_the_paths_of_a_run_still_training_are_saved_to_draw_without_episodes(tmp_path, capsys):
  logdir = make_run(tmp_path / 'logdir/quadruped_cove/lsp/seed0', [5, 5, 5])
  (logdir / 'labels.yaml').write_text('task: cove\nmethod: lsp_fixed\n')
  saved, out = tmp_path / 'first_frames', tmp_path / 'f.png'
  assert root_paths.main([str(logdir), '--frames', '16', '--out', str(out), '--save', str(saved)]) == 0
  copy = saved / 'quadruped_cove/lsp/seed0'
  assert sorted(path.name for path in copy.iterdir()) == [
      'config.yaml', 'labels.yaml', root_paths.FILENAME]
  assert f'Saved the paths of {logdir} in {copy}' in capsys.readouterr().out
  assert positions(root_paths.run_paths(copy, 16)) == [expected(0, 5), expected(1, 3)]
  assert root_paths.main([str(copy), '--frames', '16', '--out', str(out)]) == 0
  assert 'lsp_fixed seed 0: 2 episodes' in capsys.readouterr().out
  # More frames than the run has taken: nothing is saved or drawn.
  other = tmp_path / 'other'
  assert root_paths.main([str(logdir), '--frames', '40', '--out', str(out), '--save', str(other)]) == 2
  assert 'hold 30 frames, fewer than the 40 asked for' in capsys.readouterr().err
  assert not other.exists()


def test_goal_frame_puts_the_goal_on_the_x_axis():
  episode = root_paths.goal_frame(dict(
      position=np.array([[0.0, 0.0], [0.0, 2.0], [1.0, 2.0]]), goal=GOAL,
      obstacles=np.array([[0.0, 4.0, 0.25]])))
  np.testing.assert_allclose(episode['goal'], [6, 0], atol=1e-9)
  np.testing.assert_allclose(episode['position'], [[0, 0], [2, 0], [2, -1]], atol=1e-9)
  np.testing.assert_allclose(episode['obstacles'], [[4, 0, 0.25]], atol=1e-9)


def test_spread_measures_each_path_from_its_own_start_in_the_goal_frame():
  s = root_paths.spread([
      dict(position=np.array([[0.0, 0.0], [0.0, 2.0], [1.0, 2.0]]), goal=GOAL),  # (2, 0), (2, -1)
      dict(position=np.array([[1.0, 1.0], [1.0, 0.0]]), goal=np.array([6.0, 0.0]))])
  assert s['episodes'] == 2
  np.testing.assert_allclose([s['far_median'], s['far_max']], [(5 ** 0.5 + 1) / 2, 5 ** 0.5])
  np.testing.assert_allclose([s['ahead_median'], s['ahead_max']], [1, 2])


def test_cli_draws_collected_runs_without_episodes(tmp_path, capsys):
  runs = []
  for method in ('dreamer', 'lsp'):
    logdir = make_run(tmp_path / method, [5, 5, 5], method)
    dest = tmp_path / 'collected' / method
    dest.mkdir(parents=True)
    (dest / 'config.yaml').write_text((logdir / 'config.yaml').read_text())
    assert root_paths.collect(logdir, dest, frames=16)
    runs.append(dest)
  out = tmp_path / 'fig8.png'
  assert root_paths.main([*map(str, runs), '--frames', '16', '--out', str(out)]) == 0
  assert out.stat().st_size > 10_000
  # 8 agent steps: episode 0 whole (5 steps), 3 of episode 1, each moving away from the goal.
  assert ('dreamer seed 0: 2 episodes; farthest from the start median 5.66 m, max 7.07 m; '
          'farthest toward the goal median 0.00 m, max 0.00 m') in capsys.readouterr().out
  fig = root_paths.plot_runs(
      [(run.name, root_paths.run_paths(run, 16)) for run in runs], tmp_path / 'f.png', 16, 'cove')
  dreamer, lsp = fig.axes[:2]
  assert [len(ax.lines) for ax in (dreamer, lsp)] == [2, 2]
  np.testing.assert_allclose(lsp.lines[1].get_xydata(), [[-t, -100 - t] for t in range(4)])
  assert dreamer.get_xlim() == lsp.get_xlim() and dreamer.get_ylim() == lsp.get_ylim()
  assert len(dreamer.patches) == 1  # The obstacle that every episode shares.
  assert root_paths.main([str(runs[0]), '--frames', '100', '--out', str(out)]) == 2
  assert 'holds the first 16 frames, fewer than the 100 asked for' in capsys.readouterr().err


def test_collect_writes_paths_only_for_runs_with_positions(tmp_path, capsys):
  path, root, dest = tmp_path / 'sweep.yaml', tmp_path / 'root', tmp_path / 'results'
  YAML(typ='safe', pure=True).dump(
      {'methods': ['lsp', 'dreamer'], 'tasks': ['quadruped_cove'], 'seeds': [0]}, path)
  make_run(root / 'quadruped_cove/lsp/seed0', [500] * 50)
  make_run(root / 'quadruped_cove/dreamer/seed0', [5], 'dreamer', log='log_pos')
  save_sweep_configs(path, root)  # The config each run has, as train.py saves it.
  for method in ('lsp', 'dreamer'):
    (root / f'quadruped_cove/{method}/seed0/done').touch()
  assert cli.main([str(path), '--root', str(root), '--collect', str(dest)]) == 0
  out = capsys.readouterr().out
  assert 'Copied 2 finished runs of 2' in out
  assert '1 with the root paths of their first 40000 frames (root_paths.npz)' in out
  assert not (dest / 'quadruped_cove/dreamer/seed0' / root_paths.FILENAME).exists()
  saved = dest / 'quadruped_cove/lsp/seed0' / root_paths.FILENAME
  episodes, frames = root_paths.load(saved)
  assert frames == root_paths.FRAMES == 40_000
  assert [len(episode['position']) for episode in episodes] == [501] * 40
  assert saved.stat().st_size < 300_000
