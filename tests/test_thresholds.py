"""Frames to threshold: the report's section on synthetic logdirs whose curves cross the
thresholds at known steps, and the thresholds on known finals."""
import json

import numpy as np
import pandas as pd
from ruamel.yaml import YAML

from dreamer_lsp import report
from dreamer_lsp import thresholds

STEPS = np.arange(0, 1001, 100)
RISING = np.linspace(0, 100, len(STEPS))  # Final 95 (the mean at steps 900 and 1000).


def write_run(root, task, method, seed, steps=STEPS, configured=1000, env=None, **metrics):
  """A run of `configured` steps on env task `env` (default: `task`) that logged each metric's
  values at `steps`."""
  logdir = root / f'{task}/{method}/seed{seed}'
  logdir.mkdir(parents=True)
  YAML(typ='safe', pure=True).dump(
      dict(task=env or task, method=method, seed=seed, steps=configured),
      logdir / 'config.yaml')
  YAML(typ='safe', pure=True).dump(dict(task=task, method=method), logdir / 'labels.yaml')
  (logdir / 'metrics.jsonl').write_text('\n'.join(
      json.dumps({'step': int(step), name: float(values[index])})
      for index, step in enumerate(steps) for name, values in metrics.items()))


def row(text, *cells):
  [line] = [line for line in text.splitlines() if line.startswith(f'| {" | ".join(cells)} |')]
  return line


def test_frames_to_each_fraction_of_the_best_final(tmp_path):
  write_run(tmp_path, 'walk', 'lsp', 0, eval_return=RISING)  # 23.75 at 300, 47.5 at 500.
  write_run(tmp_path, 'walk', 'lsp', 1, eval_return=np.full(len(STEPS), 10.0))
  # Exactly at the thresholds once, early, then below them: its first evaluations count.
  write_run(tmp_path, 'walk', 'dreamer', 0, eval_return=[0, 23.75, 10, 47.5, *[0] * 7])
  write_run(tmp_path, 'walk', 'dreamer', 1, eval_return=0.9 * RISING)  # 27 at 300, 54 at 600.
  # Unfinished: its high values do not make the best final.
  write_run(tmp_path, 'walk', 'hiro', 0, steps=STEPS[:5], eval_return=np.full(5, 1e3))
  report.report(tmp_path, tmp_path / 'report', metrics=['eval_return'], reps=100)
  assert '## Frames to threshold' not in (tmp_path / 'report/report.md').read_text()
  assert report.main([
      str(tmp_path), '--out', str(tmp_path / 'report'), '--metrics', 'eval_return',
      '--reps', '100', '--thresholds', '0.25', '0.5']) == 0
  text = (tmp_path / 'report/report.md').read_text()
  text = text[text.index('## Frames to threshold'):text.index('## Runs')]
  assert row(text, 'walk', '95.00 (walk/lsp/seed0)') == (
      '| walk | 95.00 (walk/lsp/seed0) | — | 23.75 | 47.50 | no random return of walk given: '
      'not checked against random |')
  assert row(text, 'walk', 'lsp', '0') == '| walk | lsp | 0 | walk/lsp/seed0 | 300 | 500 |'
  assert row(text, 'walk', 'lsp', '1') == (
      '| walk | lsp | 1 | walk/lsp/seed1 | not reached by 1,000 frames '
      '| not reached by 1,000 frames |')
  assert row(text, 'walk', 'dreamer', '0') == (
      '| walk | dreamer | 0 | walk/dreamer/seed0 | 100 | 300 |')
  assert row(text, 'walk', 'dreamer', '1') == (
      '| walk | dreamer | 1 | walk/dreamer/seed1 | 300 | 600 |')
  # Over seeds: the mean where both reached it, else which did.
  assert row(text, 'walk', 'dreamer', '2') == '| walk | dreamer | 2 | 200 | 450 |'
  assert row(text, 'walk', 'lsp', '2') == (
      '| walk | lsp | 2 | 1 of 2 reached: 300 | 1 of 2 reached: 500 |')
  assert 'hiro' not in text


def test_best_final_is_the_max_per_task_and_must_beat_random_of_its_env_task():
  finals = pd.DataFrame(dict(
      task=['reach', 'reach', 'upright', 'cove', 'cove', 'walk'],
      env=['quadruped_reach', 'quadruped_reach', 'quadruped_reach_upright', 'quadruped_cove',
           'quadruped_cove', 'walker_walk'],
      run=['reach/lsp', 'reach/dreamer', 'upright/lsp', 'cove/lsp', 'cove/dreamer', 'walk/lsp'],
      final=[12.0, 40.0, 20.0, 0.0, np.nan, 300.0]))
  random = {'quadruped_reach': 8.62, 'quadruped_reach_upright': 26.9, 'quadruped_cove': 0.0}
  table = thresholds.return_thresholds(finals, [0.25, 0.5], random)
  assert table.loc['reach'].best_run == 'reach/dreamer'
  assert list(table.loc['reach', ['best', 'random', '25% of best', '50% of best']]) == [
      40.0, 8.62, 10.0, 20.0]
  # Below random, or only equal to it: no thresholds.
  for task in ('upright', 'cove'):
    assert not table.loc[task].learned
    assert table.loc[task, ['25% of best', '50% of best']].isna().all()
  assert table.loc['walk'].learned and np.isnan(table.loc['walk'].random)  # Not checked.
  assert table.loc['walk', '50% of best'] == 150.0
  lines = thresholds.threshold_table(table, [0.25, 0.5])
  assert ('| upright | 20.00 (upright/lsp) | 26.90 (quadruped_reach_upright) | — | — '
          f'| {thresholds.NOTHING_LEARNED} |') in lines


def test_a_threshold_that_random_actions_reach_is_not_computed():
  finals = pd.DataFrame(dict(
      task=['reach', 'reach'], env=['quadruped_reach'] * 2, run=['reach/lsp', 'reach/dreamer'],
      final=[4.5, 22.6]))
  table = thresholds.return_thresholds(finals, [0.25, 0.5], {'quadruped_reach': 8.62})
  # The best final beats random, but 25% of it (5.65) does not: only 50% (11.3) is read.
  assert table.loc['reach'].learned and table.loc['reach'].at_floor == ['25% of best']
  assert np.isnan(table.loc['reach', '25% of best'])
  assert table.loc['reach', '50% of best'] == 11.3
  assert ('| reach | 22.60 (reach/dreamer) | 8.62 (quadruped_reach) | — | 11.30 '
          '| 25% of best: at or below random, not computed |') in thresholds.threshold_table(
              table, [0.25, 0.5])


def test_success_threshold_and_a_task_that_learned_nothing_above_random(tmp_path):
  zeros = np.zeros(len(STEPS))
  write_run(tmp_path, 'cove', 'lsp', 0, env='quadruped_cove', eval_return=zeros,
            eval_success=[0, 0.2, 0.6, 0.4, 0.5, *[1] * 6])
  write_run(tmp_path, 'cove', 'dreamer', 0, env='quadruped_cove', eval_return=zeros,
            eval_success=[0, 0.1, 0.4, 0.49, *[0.3] * 7])
  write_run(tmp_path, 'reach', 'lsp', 0, env='quadruped_reach', eval_return=RISING)
  (tmp_path / 'random.jsonl').write_text(''.join(json.dumps(dict(task=task, mean=mean)) + '\n'
      for task, mean in [('quadruped_cove', 0.0), ('quadruped_reach', 8.62)]))
  assert report.main([
      str(tmp_path), '--out', str(tmp_path / 'report'), '--metrics', 'eval_return',
      'eval_success', '--reps', '100', '--thresholds', '0.25', '0.5', '--success', '0.5',
      '--random-file', str(tmp_path / 'random.jsonl')]) == 0
  text = (tmp_path / 'report/report.md').read_text()
  text = text[text.index('## Frames to threshold'):text.index('## Runs')]
  assert row(text, 'cove', '0.00 (cove/dreamer/seed0)') == (
      f'| cove | 0.00 (cove/dreamer/seed0) | 0.00 (quadruped_cove) | — | — '
      f'| {thresholds.NOTHING_LEARNED} |')
  assert row(text, 'reach', '95.00 (reach/lsp/seed0)') == (
      '| reach | 95.00 (reach/lsp/seed0) | 8.62 (quadruped_reach) | 23.75 | 47.50 |  |')
  assert row(text, 'cove', 'lsp', '0') == '| cove | lsp | 0 | cove/lsp/seed0 | — | — | 200 |'
  assert row(text, 'cove', 'dreamer', '0') == (
      '| cove | dreamer | 0 | cove/dreamer/seed0 | — | — | not reached by 1,000 frames |')
  assert row(text, 'reach', 'lsp', '0') == (
      '| reach | lsp | 0 | reach/lsp/seed0 | 300 | 500 | — |')  # Logs no eval_success.
  assert '| task | method | runs | 25% of best | 50% of best | eval_success ≥ 0.5 |' in text
  assert row(text, 'cove', 'dreamer', '1') == '| cove | dreamer | 1 | — | — | 0 of 1 reached |'


def test_a_missing_random_file_is_one_line(tmp_path, capsys):
  write_run(tmp_path, 'walk', 'lsp', 0, eval_return=RISING)
  assert report.main([
      str(tmp_path), '--metrics', 'eval_return', '--thresholds', '0.5',
      '--random-file', str(tmp_path / 'missing.jsonl')]) == 1
  assert 'missing.jsonl' in capsys.readouterr().err
