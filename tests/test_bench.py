"""The benchmark harness in tiny mode, and the reproducibility of a seeded update."""
import json
import os
import pathlib
import subprocess
import sys

REPO = pathlib.Path(__file__).resolve().parent.parent

# Op determinism is global to a process, so the seeded updates run in their own. Seeded as
# train.py seeds a run: tf_keras's unseeded initializers draw their seeds from Python's random.
SEEDED_UPDATES = """
import json
import random
import gymnasium
import numpy as np
import tensorflow as tf
import train
from conftest import debug_config, random_batch

obs_space = {'vector': gymnasium.spaces.Box(-np.inf, np.inf, (5,), np.float32)}
act_space = gymnasium.spaces.Box(-1, 1, (2,), np.float32)

tf.config.experimental.enable_op_determinism()
config = debug_config('lsp')
metrics = []
for _ in range(2):
  random.seed(0)
  np.random.seed(0)
  tf.random.set_seed(0)
  agent = train.make_agent(config, obs_space, act_space)
  agent.train(random_batch(config))
  metrics.append({k: float(v) for k, v in agent.train(random_batch(config, seed=1)).items()})
print(json.dumps(metrics))
"""


def _stats(value):
  return set(value) == {'median', 'min', 'max', 'n'} and all(
      isinstance(value[k], float) for k in ('median', 'min', 'max'))


def test_tiny_benchmark_writes_every_field(tmp_path):
  out, markdown = tmp_path / 'bench.json', tmp_path / 'BENCHMARKS.md'
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
    assert measured['traces'] == {'train': 2, 'policy': 1}  # Variable creation traces twice.
    loop = measured['loop']
    assert _stats(loop['frames_per_s']) and _stats(loop['cpu_s_per_frame'])
    assert loop['predicted_frames_per_s'] > 0
    assert loop['peak_rss_gib'] > 0 and 'train.py' in loop['command']
  lsp = run['lsp']
  assert _stats(lsp['cem_s']) and _stats(lsp['cem_cpu_s']) and 0 < lsp['cem_gflop'] < lsp['gflop']
  assert _stats(lsp['act_ms']['replan']) and _stats(lsp['act_ms']['no_replan'])
  c = run['sizes']
  dreamer_imagined = c['batch_size'] * c['batch_length'] * c['horizon']
  assert run['dreamer']['imagined_per_update'] == dreamer_imagined
  assert lsp['imagined_per_update'] == dreamer_imagined + c['cem_iters'] * c[
      'cem_population'] * min(c['cem_train_starts'], dreamer_imagined // c['horizon']) * c[
      'plan_horizon']
  text = markdown.read_text()
  assert text.startswith('# Benchmarks') and '| debug | false |' in text


def test_seeded_updates_give_the_same_losses():
  result = subprocess.run(
      [sys.executable, '-c', SEEDED_UPDATES], cwd=REPO / 'tests', capture_output=True,
      text=True, check=True, timeout=300, env={**os.environ, 'PYTHONPATH': str(REPO)})
  first, second = json.loads(result.stdout.splitlines()[-1])
  assert first == second
  assert 'model_loss' in first and 'skill_pred_loss' in first
