"""Learning curves, trajectories and the report's files and errors, on synthetic logdirs with
known curves (tests/test_report.py tests the report's numbers)."""
import json
import subprocess
import sys

import numpy as np
import pytest
from ruamel.yaml import YAML

from dreamer_lsp import plot, report

STEPS = np.arange(0, 1001, 100)


def make_run(logdir, task, method, seed, steps, returns):
  """A logdir as train.py writes it, ending in a line cut short by a crash."""
  logdir.mkdir(parents=True)
  config = dict(task=task, method=method, seed=seed, steps=int(steps[-1]), logdir=str(logdir))
  YAML(typ='safe', pure=True).dump(config, logdir / 'config.yaml')
  lines = []
  for step, value in zip(steps, returns):
    lines.append(json.dumps({'step': int(step), 'eval_return': float(value)}))
    lines.append(json.dumps({'step': int(step), 'model_loss': 1.0}))
  lines.append('{"step": 5000, "eval_return": 99')
  (logdir / 'metrics.jsonl').write_text('\n'.join(lines))


@pytest.fixture
def root(tmp_path):
  """lsp logs every 100 steps, dreamer every 200 steps, and one dreamer seed stops at step 600."""
  for seed in range(3):
    make_run(tmp_path / f'walk/lsp/seed{seed}', 'walk', 'lsp', seed, STEPS, STEPS + 10 * seed)
  for seed in range(2):
    steps = STEPS[::2]
    make_run(
        tmp_path / f'walk/dreamer/seed{seed}', 'walk', 'dreamer', seed, steps,
        0.5 * steps - 10 * seed)
  make_run(tmp_path / 'walk/dreamer/seed2', 'walk', 'dreamer', 2, STEPS[:7], 0.5 * STEPS[:7])
  make_run(tmp_path / 'run/lsp/seed0', 'run', 'lsp', 0, STEPS, -STEPS)
  return tmp_path


def test_curves_are_the_means_over_seeds(root, tmp_path):
  out = tmp_path / 'curves.png'
  data = plot.curves([root], out, bins=len(STEPS))
  assert out.stat().st_size > 10_000
  lsp = data[(data.task == 'walk') & (data.method == 'lsp')]
  np.testing.assert_allclose(lsp.step, STEPS)
  np.testing.assert_allclose(lsp['mean'], STEPS + 10)
  np.testing.assert_allclose(lsp['std'], np.std([0, 10, 20], ddof=1))
  assert (lsp.runs == 3).all()
  # Dreamer's steps between its records are interpolated; seed 2 ends at step 600.
  dreamer = data[(data.task == 'walk') & (data.method == 'dreamer')]
  np.testing.assert_allclose(dreamer.step, STEPS)
  expected = [np.mean([s / 2, s / 2 - 10] + [s / 2] * int(s <= 600)) for s in STEPS]
  np.testing.assert_allclose(dreamer['mean'], expected)
  assert dreamer.runs.tolist() == [3] * 7 + [2] * 4
  run = data[data.task == 'run']
  np.testing.assert_allclose(run['mean'], -STEPS)


def test_every_seed_is_drawn_and_the_legend_says_what_the_band_is(root, tmp_path):
  runs = plot.load_runs([root], 'eval_return')
  fig = plot.plot_curves(plot.aggregate(runs, 11), tmp_path / 'c.png', 'eval_return', runs=runs)
  run, walk = fig.axes[:2]
  thin = [line for line in walk.lines if line.get_linewidth() < 1]
  assert len(thin) == 6 and len(walk.lines) == 6 + 2  # Each seed, and each method's mean.
  np.testing.assert_allclose(sorted(line.get_ydata()[-1] for line in thin)[-3:], [1000, 1010, 1020])
  assert len(run.lines) == 1 + 1
  labels = [text.get_text() for text in fig.legends[0].get_texts()]
  assert 'thick and band: mean ± sample std over seeds (ddof=1)' in labels
  assert 'thin: each seed' in labels


def test_truncated_metrics_line_is_ignored(root):
  metrics = plot.load_metrics(root / 'walk/lsp/seed0')
  assert metrics.step.max() == 1000
  assert len(metrics) == 2 * len(STEPS)


def test_filters_and_sweep_labels(root, tmp_path):
  YAML(typ='safe', pure=True).dump(
      {'task': 'walk_pixels', 'method': 'lsp'}, root / 'walk/lsp/seed2/labels.yaml')
  data = plot.curves([root / 'walk'], tmp_path / 'curves.pdf', tasks=['walk_pixels'], bins=11)
  assert set(data.task) == {'walk_pixels'}
  np.testing.assert_allclose(data['mean'], STEPS + 20)
  data = plot.curves([root], tmp_path / 'curves.png', methods=['dreamer'], bins=11)
  assert set(data.method) == {'dreamer'}
  with pytest.raises(ValueError):
    plot.curves([root], tmp_path / 'none.png', metric='no_such_metric')


def test_plot_run_writes_returns_png(tmp_path):
  make_run(tmp_path / 'run', 'walk', 'lsp', 0, STEPS, STEPS)
  with open(tmp_path / 'run/metrics.jsonl', 'a') as f:
    f.write('\n' + json.dumps({'step': 1100, 'train_return': 3.0}))
  plot.plot_run(tmp_path / 'run')
  assert (tmp_path / 'run/returns.png').stat().st_size > 10_000


def make_episode(path, start, length=50, repeat=2, **logs):
  """An episode as the envs record it: `log_*` per simulator step, (T, action_repeat, ...)."""
  sim_step = np.arange(length * repeat).reshape(length, repeat)
  position = np.stack([start + 0.1 * sim_step, np.sin(sim_step / 10), 0 * sim_step], -1)
  np.savez(
      path, reward=np.ones(length), skill=np.zeros((length, 3)),
      skill_switch=np.arange(length) % 10 == 0, log_root_pos=position, **logs)


def test_trajectories(tmp_path):
  (tmp_path / 'train_eps').mkdir()
  goal = np.tile([5.0, 0.0], (50, 2, 1))
  obstacles = np.tile([[2.0, 1.0, 0.3], [3.0, -1.0, 0.5]], (50, 2, 1, 1))
  for index in range(4):
    make_episode(
        tmp_path / f'train_eps/2026010{index}T000000-{index}-50.npz', start=index,
        log_goal=goal, log_obstacles=obstacles)
  out = tmp_path / 'trajectories.png'
  fig = plot.plot_trajectories(tmp_path, out, episodes=2)
  assert out.stat().st_size > 10_000
  ax = fig.axes[0]
  # The last two episodes, starting at x = 2 and 3, in the order of their file names.
  assert [line.get_xdata()[0] for line in ax.lines] == [2.0, 3.0]
  assert len(ax.lines[0].get_xdata()) == 100
  start, switches, *_, goals = ax.collections
  assert start.get_offsets().tolist() == [[2.0, 0.0]]
  # A new skill every 10 agent steps, i.e. 20 simulator steps of 0.1.
  np.testing.assert_allclose(switches.get_offsets()[:, 0], [2, 4, 6, 8, 10])
  assert goals.get_offsets().tolist() == [[5.0, 0.0]]
  assert len(ax.patches) == 2
  with pytest.raises(ValueError):
    plot.plot_trajectories(tmp_path, out, split='eval')


def test_skill_r2_is_reported_and_drawn_with_its_reference(tmp_path):
  """skill_r2's section also gives the table of skill_r2_start, and its figure draws it dashed
  in each method's colour."""
  for method, value in (('lsp', 0.3), ('no_mi', 0.1)):
    logdir = tmp_path / f'walk/{method}/seed0'
    logdir.mkdir(parents=True)
    YAML(typ='safe', pure=True).dump(
        dict(task='walk', method=method, seed=0, steps=1000), logdir / 'config.yaml')
    (logdir / 'metrics.jsonl').write_text('\n'.join(
        json.dumps(dict(step=int(step), skill_r2=value, skill_r2_start=0.05))
        for step in STEPS))
  results = report.report(tmp_path, tmp_path / 'report', metrics=['skill_r2'])
  assert set(results) == {'skill_r2', 'skill_r2_start'}
  text = (tmp_path / 'report/report.md').read_text()
  assert '| walk | lsp | 1 | 0.30 | — | 0.30 |' in text
  assert '| walk | no_mi | 1 | 0.05 | — | 0.05 |' in text
  assert 'Its reference, skill_r2_start (dashed in the figure):' in text
  data = plot.aggregate(plot.load_runs([tmp_path], 'skill_r2'), 5)
  reference = plot.aggregate(plot.load_runs([tmp_path], 'skill_r2_start'), 5)
  fig = plot.plot_curves(data, tmp_path / 'r2.png', 'skill_r2', reference)
  [ax] = fig.axes
  dashed = [line for line in ax.lines if line.get_linestyle() == '--']
  solid = [line for line in ax.lines if line.get_linestyle() == '-']
  assert sorted(line.get_color() for line in dashed) == sorted(line.get_color() for line in solid)
  assert all(np.allclose(line.get_ydata(), 0.05) for line in dashed)


def test_command_lines(root, tmp_path):
  run = lambda *args: subprocess.run(
      [sys.executable, '-m', *args], check=True, capture_output=True, text=True)
  run('dreamer_lsp.plot', str(root), '--out', str(tmp_path / 'c.png'), '--bins', '5')
  assert (tmp_path / 'c.png').exists()
  run('dreamer_lsp.report', str(root), '--groups', 'a=0', 'b=1,2', '--reps', '100')
  assert (root / 'report/report.md').exists()
  (root / 'eps/train_eps').mkdir(parents=True)
  make_episode(root / 'eps/train_eps/a.npz', start=0)
  run('dreamer_lsp.plot', 'trajectories', str(root / 'eps'), '--out', str(tmp_path / 't.png'))
  assert (tmp_path / 't.png').exists()


@pytest.mark.parametrize('case, message', [
    ('missing', 'nowhere does not exist.'),
    ('empty', 'No runs with '),
    ('corrupt metrics', 'No runs with '),
    ('corrupt config', 'config.yaml: while parsing'),
    ('empty config', 'config.yaml holds no keys and values (it is empty or corrupt).'),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys, case, message):
  root = tmp_path / 'runs'
  if case != 'missing':
    root.mkdir()
  if case != 'empty' and case != 'missing':
    make_run(root / 'walk/lsp/seed0', 'walk', 'lsp', 0, STEPS, STEPS)
  if case == 'corrupt metrics':
    (root / 'walk/lsp/seed0/metrics.jsonl').write_text(
        '[1, 2]\n"text"\n{"step": "a", "eval_return": 1}\n{"eval_return": 3}\n{"step"')
  if case.endswith('config'):
    (root / 'walk/lsp/seed0/config.yaml').write_text('task: [walk' if 'corrupt' in case else '')
  path = root if case != 'missing' else tmp_path / 'nowhere'
  for main, args in ((plot.main, ['--out', str(tmp_path / 'c.png')]), (report.main, [])):
    assert main([str(path), *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith('error: ') and err.count('\n') == 1 and message in err, err
  assert not (tmp_path / 'c.png').exists() and not (path / 'report').exists()


def test_a_failed_write_is_one_line_and_exit_1(root, tmp_path, capsys):
  assert plot.main([str(root), '--out', str(tmp_path / 'no/c.png')]) == 1
  assert capsys.readouterr().err == f'error: No such file or directory: {tmp_path}/no/c.png\n'


def test_tools_import_no_tensorflow():
  code = (
      'import sys, dreamer_lsp.plot, dreamer_lsp.sweep, dreamer_lsp.report; '
      'assert "tensorflow" not in sys.modules')
  subprocess.run([sys.executable, '-c', code], check=True)
