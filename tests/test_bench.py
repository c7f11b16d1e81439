"""The benchmark harness in tiny mode, its memory report, and that a seeded update computes what
it computed before the speed work."""
import json
import os
import pathlib
import re
import subprocess
import sys

import numpy as np
import pytest

from conftest import REPO, debug_config


def _stats(value):
  return set(value) == {'median', 'min', 'max', 'n'} and all(
      isinstance(value[k], float) for k in ('median', 'min', 'max'))


@pytest.mark.exhaustive
def test_tiny_benchmark_writes_every_field(tmp_path):
  out, markdown = tmp_path / 'bench.json', tmp_path / 'BENCHMARKS.md'
  markdown.write_text('# Benchmarks\n\nAn old header.\n\n## 2020-01-01T00:00:00\n\nA section.\n')
  subprocess.run(
      [sys.executable, '-m', 'dreamer_lsp.bench', '--tiny', '--out', str(out),
       '--markdown', str(markdown)], cwd=REPO, check=True, timeout=300)
  result = json.loads(out.read_text())
  assert result['tiny'] and result['machine']['nproc'] >= 1 and result['machine']['tf_version']
  for peak in (result['matmul_peak']['tf'], result['matmul_peak']['xla']):
    assert _stats(peak['gflops']) and _stats(peak['gflop_per_cpu_s'])
  assert all(_stats(s) for s in result['simulator_steps_per_s'].values())
  for obs in ('features', 'pixels'):
    storage = result['storage'][obs]
    assert storage['steps'] > 0
    assert storage['bytes_per_step_disk'] > 0 and storage['bytes_per_step_memory'] > 0
  assert result['storage']['pixels']['bytes_per_step_memory'] > 64 * 64 * 3
  collection = result['pixel_collection']
  assert set(collection) == {'1', '2'}
  assert all(c['steps_per_s'] > 0 and c['cores_busy'] > 0 for c in collection.values())
  [run] = result['runs']
  assert run['config'] == 'debug' and run['jit'] is False and run['lsp_over_dreamer']['cpu'] > 0
  for method in ('dreamer', 'lsp'):
    measured = run[method]
    for key in ('update_s', 'update_cpu_s', 'model_s', 'model_cpu_s'):
      assert _stats(measured[key]), key
    assert _stats(measured['act_ms']['step']) and _stats(measured['peak']['gflop_per_cpu_s'])
    for key in ('first_update_s', 'gflop', 'model_gflop', 'gflops_per_s', 'gflop_per_cpu_s',
                'fraction_of_peak', 'cpu_fraction_of_peak', 'imagined_per_s', 'peak_rss_gib'):
      assert isinstance(measured[key], float) and measured[key] > 0, key
    assert measured['model_gflop'] < measured['gflop']
    assert measured['retraces'] == {'train': 0, 'policy': 0}  # Timings exclude tracing.
    loop = measured['loop']
    assert _stats(loop['frames_per_s']) and _stats(loop['cpu_s_per_frame'])
    assert loop['predicted_frames_per_s'] > 0
    assert loop['peak_rss_gib'] > 0 and 'train.py' in loop['command']
  lsp = run['lsp']
  assert _stats(lsp['cem_s']) and _stats(lsp['cem_cpu_s']) and 0 < lsp['cem_gflop'] < lsp['gflop']
  assert _stats(lsp['act_ms']['replan']) and _stats(lsp['act_ms']['no_replan'])
  assert 0 < lsp['replan_gflop'] < lsp['cem_gflop']  # One start state against the batch's.
  c = run['sizes']
  dreamer_imagined = c['batch_size'] * c['batch_length'] * c['horizon']
  assert run['dreamer']['imagined_per_update'] == dreamer_imagined
  assert lsp['imagined_per_update'] == dreamer_imagined + c['cem_iters'] * c[
      'cem_population'] * min(c['cem_train_starts'], dreamer_imagined // c['horizon']) * c[
      'plan_horizon']
  text = markdown.read_text()
  assert text.startswith('# Benchmarks') and '| debug | false / false | dreamer |' in text
  # The header is replaced by the current one; earlier sections are kept, the new one appended.
  assert 'An old header' not in text and '**update s**' in text
  assert text.index('A section.') < text.index('| debug |') and text.count('\n## ') == 2


@pytest.mark.exhaustive
def test_tiny_profile_accounts_for_the_whole_run(tmp_path):
  """Real debug runs of 300 frames: every section of train.py's timer shows, and the table's
  rows add up to the process's wall and CPU time."""
  from dreamer_lsp.bench import breakdown
  out, markdown = tmp_path / 'profile.json', tmp_path / 'BENCHMARKS.md'
  subprocess.run(
      [sys.executable, '-m', 'dreamer_lsp.bench', '--profile', '--frames', '300', '--configs',
       'debug', '--repeats', '1', '--out', str(out), '--markdown', str(markdown)],
      cwd=REPO, check=True, timeout=600)
  result = json.loads(out.read_text())
  [run] = result['runs']
  for method in ('dreamer', 'lsp'):
    measured = run[method]
    for name in (*breakdown.SECTIONS, 'total'):
      assert f'time/{name}' in measured['run']['sections'], (method, name)
      assert f'cpu/{name}' in measured['run']['sections'], (method, name)
    rows = measured['rows']
    assert list(rows['time']) == [name for name, _ in breakdown.ROWS] == list(rows['cpu'])
    # The time outside the sections is what is left, so it must not be negative.
    assert all(seconds >= -1e-6 for seconds in rows['time'].values()), rows['time']
    assert sum(rows['time'].values()) == pytest.approx(measured['run']['wall_s'])
    assert sum(rows['cpu'].values()) == pytest.approx(measured['run']['cpu_s'])
    assert rows['time']['model'] > 0 and rows['time']['behaviour'] > 0
    assert measured['frames_per_s'] > 0 and measured['cpu_s_per_frame'] > 0
  assert run['dreamer']['rows']['time']['cem'] == 0 < run['lsp']['rows']['time']['cem']
  text = markdown.read_text()
  assert text.startswith('# Benchmarks') and '**profile sections**' in text
  for _, label in breakdown.ROWS:
    assert f'| {label} |' in text, label
  assert '--profile --frames 300' in text and 'frames/s' in text


def test_steady_rate_leaves_out_the_prefill_and_tracing_intervals():
  from dreamer_lsp.bench import threads
  # Logs every 100 frames; the first interval holds the prefill, the second the tracing.
  intervals = [
      {'step': 100, 'time/total': 1.0, 'cpu/total': 1.0},
      {'step': 200, 'time/total': 50.0, 'cpu/total': 60.0},
      {'step': 300, 'time/total': 4.0, 'cpu/total': 6.0},
      {'step': 400, 'time/total': 6.0, 'cpu/total': 10.0}]
  rate = threads.steady(intervals, after=200)
  assert rate['intervals'] == 2
  assert rate['frames_per_s'] == pytest.approx(200 / 10)
  assert rate['cpu_s_per_frame'] == pytest.approx(16 / 200)
  with pytest.raises(ValueError, match='more frames'):
    threads.steady(intervals, after=400)


@pytest.mark.exhaustive
def test_tiny_thread_settings_time_every_setting(tmp_path):
  """Real debug runs, one and two at once, at 1 and 2 threads: each gets a steady rate, and two
  runs together are the sum of their rates."""
  out, markdown = tmp_path / 'threads.json', tmp_path / 'BENCHMARKS.md'
  subprocess.run(
      [sys.executable, '-m', 'dreamer_lsp.bench', '--threads', '--frames', '300', '--configs',
       'debug', '--out', str(out), '--markdown', str(markdown)],
      cwd=REPO, check=True, timeout=900)
  result = json.loads(out.read_text())
  assert [(r['config'], r['method']) for r in result['runs']] == [
      ('debug', 'dreamer'), ('debug', 'lsp')]
  for run in result['runs']:
    assert [(s['runs'], s['threads']) for s in run['settings']] == [(1, 1), (1, 2), (2, 1), (2, 2)]
    for setting in run['settings']:
      assert len(setting['per_run']) == setting['runs']
      assert all(r['intervals'] >= 1 and r['frames_per_s'] > 0 for r in setting['per_run'])
      assert setting['together_frames_per_s'] == pytest.approx(
          sum(r['frames_per_s'] for r in setting['per_run']))
  text = markdown.read_text()
  assert '**thread sections**' in text and ': thread settings' in text
  assert text.count('| debug | lsp |') == 4


# What an update computes; diagnostics such as the actor's entropy may be redefined.
CHECKED = re.compile(r'.*(_loss|_grad_norm)$|returns|div|intrinsic_reward|skill_pred_logprob|cem_.*')


def test_seeded_updates_are_reproducible_and_match_the_recorded_reference():
  """Speed work must not change results: the losses and gradient norms of a seeded second
  update equal those recorded in fixtures/seeded_updates.json before the optimisations (within
  float tolerance: other CPUs round differently), and two runs in one process agree exactly."""
  result = subprocess.run(
      [sys.executable, 'seeded_updates.py'], cwd=REPO / 'tests', capture_output=True,
      text=True, check=True, timeout=300, env={**os.environ, 'PYTHONPATH': str(REPO)})
  runs = json.loads(result.stdout.splitlines()[-1])
  assert runs.pop('lsp_again') == runs['lsp']
  reference = json.loads((REPO / 'tests' / 'fixtures' / 'seeded_updates.json').read_text())
  assert set(runs) == set(reference) == {'dreamer', 'lsp', 'hiro'}
  for method, metrics in runs.items():
    checked = [k for k in reference[method] if CHECKED.fullmatch(k)]
    assert {'model_loss', 'actor_loss', 'value_loss', 'actor_grad_norm'} <= set(checked)
    for key in checked:
      assert metrics[key] == pytest.approx(reference[method][key], rel=1e-3, abs=1e-5), (
          method, key)
  assert 'skill_pred_loss' in runs['lsp'] and 'cem_elite_value_0' in runs['lsp']


def test_memory_report_measures_growth_beyond_the_replay(tmp_path):
  """A synthetic run whose memory beyond its replay leaks 100 MiB per 100k frames after a
  start-up bump: the report finds the leak, not the replay's growth or the bump."""
  from dreamer_lsp.bench.__main__ import main
  logdir = tmp_path / 'run'
  logdir.mkdir()
  debug_config('lsp', batch_size=8).save(logdir / 'config.yaml')
  steps = np.arange(1000, 200001, 1000)
  replay = 0.002 * steps
  rss = 1500 + replay + 0.001 * steps + np.where(steps < 20000, 300, 0)
  lines = [dict(step=int(s), rss_mb=r, replay_mb=p, process_hours=s / 1e5)
           for s, r, p in zip(steps, rss, replay)]
  (logdir / 'metrics.jsonl').write_text(''.join(json.dumps(x) + '\n' for x in lines))
  markdown, out = tmp_path / 'BENCHMARKS.md', tmp_path / 'memory.json'
  main(['--memory', str(logdir), '--markdown', str(markdown), '--out', str(out)])
  [run] = json.loads(out.read_text())['memory']
  assert run['rest_growth_mb_per_100k_frames'] == pytest.approx(100, abs=1)
  assert run['frames'] == 200000 and run['hours'] == pytest.approx(2)
  # The config as its differences from the defaults.
  assert run['config']['batch_size'] == 8 and run['config']['method'] == 'lsp'
  assert 'seed' not in run['config'] and 'logdir' not in run['config']
  assert pathlib.Path(run['figure']).exists()
  text = markdown.read_text()
  assert text.startswith('# Benchmarks') and '+100 MiB per 100k frames' in text
  assert '--batch_size 8' in text and '(docs/benchmarks/memory_' in text



@pytest.mark.slow
def test_cem_matrix_products_grow_with_the_plan_horizon():
  from scripts.cem_jit import matmuls_alone
  short, short_count, short_gflop = matmuls_alone(['debug'], 'point_reach', plan_horizon=6)
  long, long_count, long_gflop = matmuls_alone(['debug'], 'point_reach', plan_horizon=12)
  assert np.isfinite(short()) and np.isfinite(long())
  # Twice the imagined steps, each with the same products; the reward and value heads run once
  # per CEM iteration over all imagined states, so they add rows, not products.
  assert 1.5 * short_count < long_count < 2 * short_count
  assert 1.5 * short_gflop < long_gflop < 2.5 * short_gflop
