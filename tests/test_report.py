"""The report's scores, intervals, probability of improvement, seed groups and code checks, on
small synthetic logdirs with known values."""
import json
import re

import numpy as np
import pytest
from ruamel.yaml import YAML

from dreamer_lsp import report

STEPS = np.arange(0, 1001, 100)


def write_run(root, task, method, seed, values, steps=STEPS, configured=1000, commits=()):
  """A run of `configured` steps that logged eval_return `values` at `steps`, and code.jsonl
  lines (commit, dirty) for `commits`."""
  logdir = root / f'{task}/{method}/seed{seed}'
  logdir.mkdir(parents=True)
  YAML(typ='safe', pure=True).dump(
      dict(task=task, method=method, seed=seed, steps=configured, eval_episodes=10),
      logdir / 'config.yaml')
  (logdir / 'metrics.jsonl').write_text('\n'.join(
      json.dumps({'step': int(step), 'eval_return': float(value)})
      for step, value in zip(steps, np.broadcast_to(values, np.shape(steps)))))
  (logdir / 'code.jsonl').write_text(''.join(
      json.dumps(dict(step=0, commit=commit, dirty=dirty)) + '\n' for commit, dirty in commits))
  return logdir


def row(text, task, method):
  [line] = [line for line in text.splitlines() if line.startswith(f'| {task} | {method} |')]
  return line


def intervals(line):
  """The (estimate, low, high) of every `x [low, high]` cell of a table row."""
  return [tuple(map(float, cell)) for cell in re.findall(
      r'(-?[\d.]+) \[(-?[\d.]+), (-?[\d.]+)\]', line)]


def test_final_uses_the_last_tenth_of_the_configured_steps_and_unfinished_runs_are_left_out(
    tmp_path):
  write_run(tmp_path, 'walk', 'lsp', 0, STEPS + 10)
  # Resumed, it evaluated at other steps: its final is still the mean over steps 900-1000.
  write_run(tmp_path, 'walk', 'lsp', 1, [0, 500, 950, 990, 1000], steps=[0, 500, 950, 990, 1000])
  # Logs past 1,000 steps of a longer run, but 1,000 were configured: only 900-1000 count.
  write_run(tmp_path, 'walk', 'lsp', 2, np.arange(0, 1201, 100), steps=np.arange(0, 1201, 100))
  # Finished, but its last eval_return was at step 800.
  logdir = write_run(tmp_path, 'walk', 'lsp', 3, STEPS[:9], steps=STEPS[:9])
  with open(logdir / 'metrics.jsonl', 'a') as file:
    file.write('\n' + json.dumps({'step': 1000, 'model_loss': 1.0}))
  write_run(tmp_path, 'walk', 'dreamer', 0, STEPS[:7], steps=STEPS[:7])  # Stopped at 600 steps.
  results = report.report(tmp_path, tmp_path / 'report', metrics=['eval_return'])
  scores = results['eval_return'].set_index('seed')
  assert set(results['eval_return'].method) == {'lsp'}
  assert scores.final[0] == pytest.approx(np.mean([910, 1010]))
  assert scores.final[1] == pytest.approx(np.mean([950, 990, 1000]))
  assert scores.final[2] == pytest.approx(np.mean([900, 1000]))
  assert scores.auc[0] == pytest.approx(500 + 10)  # The average of a line from 10 to 1010.
  assert np.isnan(scores.final[3])
  text = (tmp_path / 'report/report.md').read_text()
  assert '- walk/lsp/seed3: no value at steps 0.9 × 1,000 to 1,000, left out.' in text
  assert '| walk | lsp | 3 |' in text
  assert ('**Unfinished runs, left out of the scores:** walk/dreamer/seed0 (600 of 1,000 steps).'
          in text)
  assert ('- walk/lsp/seed1: its final averages the values at steps 950, 990, 1,000, most runs '
          'of its task at 900, 1,000.') in text
  assert '| all | walk/dreamer/seed0 | 600 / 1,000 | 10 | unrecorded |' in text
  assert (tmp_path / 'report/eval_return.png').stat().st_size > 10_000


def test_interval_contains_the_mean_and_narrows_with_more_seeds_and_one_seed_has_none(tmp_path):
  finals = {'few': np.array([80.0, 100.0, 130.0]), 'many': np.tile([80.0, 100.0, 130.0], 4)}
  for method, values in finals.items():
    for seed, value in enumerate(values):
      write_run(tmp_path, 'walk', method, seed, value)
  write_run(tmp_path, 'walk', 'one', 0, 42.0)
  report.report(tmp_path, tmp_path / 'report', metrics=['eval_return'])
  text = (tmp_path / 'report/report.md').read_text()
  widths = {}
  for method, values in finals.items():
    line = row(text, 'walk', method)
    assert f'| {len(values)} |' in line
    (final, low, high), *rest = intervals(line)
    assert final == pytest.approx(values.mean(), abs=0.01)
    assert low < final < high
    widths[method] = high - low
    # The IQM's interval only from 4 seeds on; the AUC of a constant run is its value.
    assert len(rest) == (2 if len(values) >= 4 else 1)
  assert widths['many'] < widths['few'] / 1.5  # About 1/2 = sqrt(3 / 12).
  assert row(text, 'walk', 'one') == '| walk | one | 1 | 42.00 | — | 42.00 | unrecorded |'
  assert '95% CI' in text and 'stratified bootstrap' in text
  assert text.count('±') == text.count('± the sample std over seeds (ddof=1)')  # Says what it is.


def test_intervals_are_seeded(tmp_path):
  for seed, value in enumerate([1.0, 5.0, 2.0, 8.0]):
    write_run(tmp_path, 'walk', 'lsp', seed, value)
  texts = []
  for _ in range(2):
    np.random.seed(len(texts))  # rliable's resamples must not depend on the global generator.
    report.report(tmp_path, tmp_path / 'report', metrics=['eval_return'])
    texts.append((tmp_path / 'report/report.md').read_text())
  assert texts[0] == texts[1]


def test_probability_of_improvement(tmp_path):
  """1 where one method beats the other in every seed and task, 0.5 for the same scores. With
  fewer resamples than the default 2,000: rliable's probability_of_improvement takes 1 ms."""
  for task in ('walk', 'run'):
    for seed in range(3):
      write_run(tmp_path, task, 'dreamer', seed, 100.0 + seed)
      write_run(tmp_path, task, 'better', seed, 200.0 + seed)
      write_run(tmp_path, task, 'same', seed, 100.0 + seed)
  write_run(tmp_path, 'walk', 'one_task', 0, 50.0)
  report.report(tmp_path, tmp_path / 'report', metrics=['eval_return'], reps=300)
  text = (tmp_path / 'report/report.md').read_text()
  assert '| better | run, walk | 3, 3 | 1.00 [1.00, 1.00] |' in text
  [(point, low, high)] = intervals(row(text, 'same', 'run, walk'))
  assert point == 0.5 and low < 0.5 < high
  assert '| one_task | walk | 1, 3 | 0.00 [0.00, 0.00] |' in text
  report.report(
      tmp_path, tmp_path / 'report', metrics=['eval_return'], baseline='better', reps=300)
  text = (tmp_path / 'report/report.md').read_text()
  assert '| dreamer | run, walk | 3, 3 | 0.00 [0.00, 0.00] |' in text


def test_seed_groups_are_reported_apart(tmp_path):
  for seed in range(5):
    write_run(tmp_path, 'walk', 'lsp', seed, 100.0 * (seed >= 2))
    write_run(tmp_path, 'walk', 'dreamer', seed, 50.0)
  write_run(tmp_path, 'walk', 'lsp', 7, 0.0)
  groups = {'tuning': [0, 1], 'fresh': [2, 3, 4]}
  results = report.report(
      tmp_path, tmp_path / 'report', metrics=['eval_return'], groups=groups, reps=300)
  assert dict(results['eval_return'].groupby('group').size()) == {
      'tuning': 4, 'fresh': 6, 'other': 1}
  text = (tmp_path / 'report/report.md').read_text()
  tuning, fresh, other = (text.index(f'### {name}') for name in (
      'tuning seeds: 0, 1', 'fresh seeds: 2, 3, 4', 'other seeds: 7'))
  assert tuning < fresh < other
  assert '| walk | lsp | 2 | 0.00 [0.00, 0.00] |' in text[tuning:fresh]
  assert '| walk | lsp | 3 | 100.00 [100.00, 100.00] |' in text[fresh:other]
  assert '| lsp | walk | 2, 2 | 0.00 [0.00, 0.00] |' in text[tuning:fresh]
  assert '| lsp | walk | 3, 3 | 1.00 [1.00, 1.00] |' in text[fresh:other]
  assert 'P(improvement)' not in text[other:]  # No dreamer among the other seeds.


def test_runs_of_different_code_are_flagged(tmp_path):
  clean, other, dirty = ('1111111aaaa', False), ('2222222bbbb', False), ('1111111aaaa', True)
  for seed in range(2):
    write_run(tmp_path, 'walk', 'same', seed, 1.0 + seed, commits=[clean])
    write_run(tmp_path, 'walk', 'dirty', seed, 1.0 + seed, commits=[dirty])
    write_run(tmp_path, 'walk', 'unrecorded', seed, 1.0 + seed)
  write_run(tmp_path, 'walk', 'mixed', 0, 1.0, commits=[clean])
  write_run(tmp_path, 'walk', 'mixed', 1, 2.0, commits=[other])
  write_run(tmp_path, 'walk', 'resumed', 0, 1.0, commits=[clean, other])
  write_run(tmp_path, 'run', 'same', 0, 1.0, commits=[clean])
  report.report(tmp_path, tmp_path / 'report', metrics=['eval_return'], reps=300)
  text = (tmp_path / 'report/report.md').read_text()
  assert row(text, 'walk', 'same').endswith('| 1111111 |')
  assert row(text, 'walk', 'mixed').endswith('| ⚠ 1111111, 2222222 |')
  assert row(text, 'walk', 'dirty').endswith('| ⚠ 1111111 (dirty) |')
  assert row(text, 'walk', 'unrecorded').endswith('| ⚠ unrecorded |')
  assert row(text, 'walk', 'resumed').endswith('| 1111111 → 2222222 |')  # One run: no pooling.
  assert row(text, 'run', 'same').endswith('| 1111111 |')
  assert '| all | walk/resumed/seed0 | 1,000 / 1,000 | 10 | 1111111 → 2222222 |' in text
  assert '- ⚠ Seed group all: its runs ran on different or unverifiable code' in text
  for seed in range(2):
    write_run(tmp_path / 'clean', 'walk', 'lsp', seed, 1.0 + seed, commits=[clean, clean])
  report.report(tmp_path / 'clean', tmp_path / 'report', metrics=['eval_return'])
  text = (tmp_path / 'report/report.md').read_text()
  assert row(text, 'walk', 'lsp').endswith('| 1111111 |')
  assert '- Seed group all: all its runs ran on commit 1111111, clean.' in text


def test_several_roots_are_one_sweep_and_a_cell_in_two_of_them_is_refused(tmp_path):
  """A settle sweep's runs beside a task directory of the main results: one report."""
  write_run(tmp_path / 'settle', 'walk', 'lsp_noise0.3', 0, 3.0)
  write_run(tmp_path / 'results', 'walk', 'lsp', 0, 2.0)
  write_run(tmp_path / 'results', 'run', 'lsp', 0, 5.0)  # Another task: not asked for.
  results = report.report(
      [tmp_path / 'settle', tmp_path / 'results/walk'], tmp_path / 'report',
      metrics=['eval_return'])
  finals = results['eval_return'].set_index('method').final
  assert dict(finals) == {'lsp': 2.0, 'lsp_noise0.3': 3.0}
  text = (tmp_path / 'report/report.md').read_text()
  assert text.startswith('# settle + walk') and 'walk/lsp_noise0.3/seed0' in text
  write_run(tmp_path / 'again', 'walk', 'lsp', 0, 2.5)
  assert report.main([
      str(tmp_path / 'results'), str(tmp_path / 'again'), '--out', str(tmp_path / 'r2')]) != 0
  with pytest.raises(ValueError, match='same task, method and seed'):
    report.report([tmp_path / 'results', tmp_path / 'again'], tmp_path / 'r2')
